"""Routers a factory function allocates on each call.

``solo = make_router()`` in one module and again in another, or ``public, private = make_routers()``
(a tuple of fresh routers): each call returns new instances, so each module-level binding is a router
of its own, told apart by where it is bound (its site), not by the allocation site inside the factory
that every call shares. Only plain routers, only bound at module level, and only when the factory
registers nothing on them itself (what it registers belongs to every instance: those keep the one
allocation site, as before).
"""

from __future__ import annotations

from fastapi_arch_lint.link.knowledge import HTTP_METHODS, ROUTER_CLASSES
from fastapi_arch_lint.link.values import Env, Value, VInst, VSeq, ext_name
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, Subscript
from fastapi_arch_lint.model.facts import AssignFact, FunctionFact

_REGISTERS = frozenset(HTTP_METHODS) | {"api_route", "route", "websocket", "include_router", "add_api_route",
                                        "add_route", "add_api_websocket_route", "mount"}


def _registers_itself(fact: FunctionFact) -> bool:
    """Does the factory register routes or includes in its own body (a decorator or a call on a local)?"""
    for f in fact.scope.functions:
        if any(isinstance(d.expr, Call) and isinstance(d.expr.func, Attr) and d.expr.func.attr in _REGISTERS
               for d in f.decorators):
            return True
    return any(isinstance(sc.call.func, Attr) and sc.call.func.attr in _REGISTERS for sc in fact.scope.calls)


def per_call(v: VInst, a: AssignFact, env: Env) -> VInst:
    """``v`` (what the module-level assignment ``a`` binds) as an instance of its own when a factory call
    allocated it; ``v`` itself otherwise."""
    value, index = a.value, 0
    if isinstance(value, Subscript) and len(value.items) == 1 and isinstance(value.items[0], Const) \
            and isinstance(value.items[0].value, int):
        value, index = value.value, value.items[0].value  # ``public, private = make_routers()``
    if env.functions or not isinstance(value, Call) or v.env is None or not v.env.functions \
            or ext_name(v.cls) not in ROUTER_CLASSES or _registers_itself(v.env.functions[-1]):
        return v
    return VInst(v.cls, v.call, v.env, (env.module, a.pos.line, a.pos.col + index), a.target)


def allocated_per_call(v: VInst) -> bool:
    """Is ``v`` one call's instance (``per_call``): its site is its binding, not its constructor call?"""
    return v.call is not None and v.env is not None and (v.site[0], v.site[1]) != (v.env.module, v.call.line)


def tuple_router(base: Value, items: tuple[Expr, ...]) -> VInst | None:
    """Item ``i`` of a tuple a call returned (``make_routers()[0]``, as ``public, private = make_routers()``
    binds it) when it is a router: other items stay unread (which of several ``return``s ran is a guess the
    interpreter makes for a whole value, not to be taken apart)."""
    if not (isinstance(base, VSeq) and len(items) == 1 and isinstance(items[0], Const) and isinstance(items[0].value, int)):
        return None
    i = items[0].value
    item = base.items[i] if -len(base.items) <= i < len(base.items) else None
    return item if isinstance(item, VInst) and ext_name(item.cls) in ROUTER_CLASSES else None
