"""Constant values of expressions, as the linker answers them (``AppModel.values``).

The rules never evaluate names themselves: ``settings.DEBUG``, ``ALGORITHMS`` imported from the
config module or a local ``opts = dict(verify_signature=False)`` are answered by the linker that
built the model (see ``link/answers.py`` for the rules it follows).
"""

from __future__ import annotations

from fastapi_arch_lint.analysis.calls import CodeCall
from fastapi_arch_lint.model.app import UNKNOWN, AppModel, Function
from fastapi_arch_lint.model.expr import Expr

__all__ = ["UNKNOWN", "call_value", "dict_value", "instance_of", "target", "value"]


def value(app: AppModel, expr: Expr | None, module: str, fn: Function | None = None, line: int = 0) -> object:
    """The Python constant ``expr`` evaluates to in ``module`` (in ``fn``'s body at ``line``), else ``UNKNOWN``."""
    if app.values is None or expr is None:
        return UNKNOWN
    return app.values.value(expr, module, fn, line)


def call_value(app: AppModel, cc: CodeCall, expr: Expr | None) -> object:
    """``value`` of ``expr`` (an argument of the call ``cc``) where the call is."""
    return value(app, expr, cc.module, cc.function, cc.line)


def dict_value(app: AppModel, cc: CodeCall, expr: Expr | None) -> object:
    """A dict literal, ``dict(k=v)`` or a name bound to one (an argument of ``cc``), as a Python dict
    (``UNKNOWN`` otherwise)."""
    v = call_value(app, cc, expr)
    return v if isinstance(v, dict) else UNKNOWN


def instance_of(app: AppModel, expr: Expr | None, module: str, fn: Function | None = None, line: int = 0) -> str | None:
    """The class ``expr`` is an instance of (``app = FastAPI()``: ``fastapi.FastAPI``), else None."""
    if app.values is None or expr is None:
        return None
    return app.values.instance_of(expr, module, fn, line)


def target(app: AppModel, func: Expr, module: str) -> str | None:
    """The dotted name the callee ``func`` names in ``module``'s global scope."""
    if app.values is None:
        return None
    return app.values.target(func, module)
