"""Derived data computed once per model and shared by every rule that asks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi_arch_lint.model.app import AppModel

T = TypeVar("T")


def memo(app: AppModel, compute: Callable[[AppModel], T]) -> T:
    """``compute(app)``, computed once per model and shared by every rule that asks.

    Several rules need the same derived data (every resolved call site, the taint contexts,
    indexes by name); each rule stays a pure function of the model, only the work is shared.
    ``compute`` is the key, so it must be a module-level function of the model alone (no
    options), and what it returns must not be changed by its callers.
    """
    cache = app.derived
    try:
        return cache[compute]  # type: ignore[return-value]
    except KeyError:
        value = cache[compute] = compute(app)
        return value
