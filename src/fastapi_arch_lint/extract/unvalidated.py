"""LibCST's parse without its per-node validation.

Every LibCST node is a frozen, slotted dataclass. Its generated ``__init__`` sets each field
with ``object.__setattr__(self, "name", value)`` (which looks the slot up through the class's
MRO on every call) and then calls ``__post_init__``, which validates the node. Validation
catches mistakes in trees built by hand; the native parser builds trees from its grammar, and
LibCST's own comment there says validation could move out of parsing for that reason. Together
they are about a quarter of LibCST's parse time (medium benchmark: 5.9 s validated, 4.5 s
here).

While ``unvalidated()`` is entered, each node class's ``__init__`` is one generated (``model._init``) from
the class's dataclass fields: the same parameters, defaults and default factories, the same
fields set in the same order, through the slot descriptors themselves, and no
``__post_init__``. Classes it cannot do that for keep their own ``__init__`` and skip only the
validation (``CSTNode.__post_init__`` is a no-op meanwhile). Entries are counted under a lock,
so overlapping users (threads) restore LibCST only when the last one leaves; another thread
constructing nodes by hand meanwhile gets them unvalidated, which changes no valid tree.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import libcst as cst

from fastapi_arch_lint.extract.plain import PLAIN
from fastapi_arch_lint.model._init import slot_init

_LOCK = threading.Lock()
_DEPTH = 0  # how many callers are inside ``unvalidated()``
_POST_INIT = cst.CSTNode.__dict__.get("__post_init__")
_FAST: dict[type, tuple[Callable[..., None], Callable[..., None]]] | None = None  # class -> (ours, LibCST's)


def _no_post_init(self: cst.CSTNode) -> None:
    return None


def _node_classes() -> list[type]:
    """LibCST's node classes as ``libcst`` exports them (its slotted dataclasses; the
    unslotted originals they were made from are left alone)."""
    return sorted({c for c in vars(cst).values()
                   if isinstance(c, type) and issubclass(c, cst.CSTNode) and "__init__" in c.__dict__
                   and "__slots__" in c.__dict__ and dataclasses.is_dataclass(c)},
                  key=lambda c: c.__qualname__)


def _fast_init(cls: type) -> Callable[..., None] | None:
    """A constructor equivalent to ``cls``'s dataclass ``__init__`` minus the validation, or
    None when ``cls`` is not the plain case this handles."""
    if any("__post_init__" in k.__dict__ for k in cls.__mro__ if k is not cst.CSTNode):
        return None  # a node type with a post-init of its own: not only validation
    return slot_init(cls)  # the generator the model's own classes use


def _fast_inits() -> dict[type, tuple[Callable[..., None], Callable[..., None]]]:
    global _FAST
    if _FAST is None:
        table = {}
        for cls in _node_classes():
            init = _fast_init(cls)
            if init is not None:
                table[cls] = (init, cls.__dict__["__init__"])
        _FAST = table
    return _FAST


@contextmanager
def unvalidated() -> Iterator[None]:
    """LibCST nodes constructed inside are not validated (see the module's docstring); with
    ``FASTAPI_ARCH_LINT_PLAIN_LIBCST`` set (``plain.py``), they are, as always."""
    global _DEPTH
    if _POST_INIT is None or PLAIN:  # a LibCST that validates elsewhere, or the plain path: no swap
        yield
        return
    with _LOCK:
        if _DEPTH == 0:
            for cls, (ours, _) in _fast_inits().items():
                cls.__init__ = ours  # type: ignore[misc]
            cst.CSTNode.__post_init__ = _no_post_init  # type: ignore[method-assign]
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                cst.CSTNode.__post_init__ = _POST_INIT  # type: ignore[method-assign]
                for cls, (_, theirs) in _fast_inits().items():
                    cls.__init__ = theirs  # type: ignore[misc]


def parse_module(source: bytes) -> cst.Module:
    """``libcst.parse_module(source)``, the same tree, without validating its nodes."""
    with unvalidated():
        return cst.parse_module(source)


_HELD: list[object] = []


def for_this_process() -> None:
    """Enter ``unvalidated()`` for the rest of the process: for a pool worker, which only
    parses (no need to swap the constructors per file)."""
    held = unvalidated()
    held.__enter__()
    _HELD.append(held)  # a dropped generator would be closed, leaving the block
