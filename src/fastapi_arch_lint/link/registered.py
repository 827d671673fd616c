"""What the registration scan records (``registrations``): each router or app with the routes, includes,
mounts and middleware registered on it, and a route as an app serves it once its includes are applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from fastapi_arch_lint.link.values import Env, Value, VFunc, VInst
from fastapi_arch_lint.model.app import IncludeStep, Loc, Middleware, Mount, Spot
from fastapi_arch_lint.model.expr import Call, Expr


@dataclass(slots=True)
class RouteReg:
    router: tuple[str, int, int]
    path: str | None
    path_expr: Expr | None
    methods: tuple[str, ...]
    kind: str
    call: Call
    handler: VFunc | None
    loc: Loc
    registration: str
    # the dependencies a class-based view adds to its methods' routes (``self`` -> ``Depends(cls)``)
    class_deps: tuple[tuple[Value, Loc], ...] = ()
    conditions: tuple[str, ...] = ()  # the ``if`` conditions it is registered under (not statically certain)
    env: Env | None = None  # where ``call`` is evaluated, when not where the handler is defined (a decorator's)
    order: tuple[Spot, ...] = ()  # where it runs (after the helper calls that lead there), see ``Route.order_key``


@dataclass(slots=True)
class Include:
    parent: tuple[str, int, int]
    child: tuple[str, int, int]
    prefix: str | None
    prefix_expr: Expr | None
    call: Call
    env: Env
    loc: Loc
    child_inst: VInst | None = None  # the included router as this call makes it (a factory's arguments)
    conditions: tuple[str, ...] = ()
    order: tuple[Spot, ...] = ()  # where it runs (after the helper calls that lead there), see ``Route.order_key``


@dataclass(slots=True)
class RouterInfo:
    inst: VInst
    is_app: bool
    name: str
    loc: Loc
    prefix: str
    deps: list[tuple[Value, Expr, Loc]] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    include_in_schema: bool = True
    deprecated: bool = False
    routes: list[RouteReg] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    middleware: list[Middleware] = field(default_factory=list)
    factory: str | None = None
    prefix_ok: bool = True  # False when ``prefix=`` could not be resolved (its routes' paths are unknown)
    # dependencies its ``route_class`` adds to every route registered on it
    route_deps: list[tuple[Value, Expr, Loc]] = field(default_factory=list)


class RouterOptions(NamedTuple):
    """What a router applies to the routes beneath it."""

    prefix: str
    deps: list[tuple[Value, Expr, Loc]]
    tags: tuple[str, ...]
    include_in_schema: bool
    deprecated: bool


class FlatRoute(NamedTuple):
    """A registration as an app serves it: its router's prefix and every include above it applied."""

    reg: RouteReg
    path: str  # the full path (prefixes joined as FastAPI joins them)
    path_ok: bool  # False when a prefix or the path could not be resolved
    deps: list[tuple[Value, str, Loc]]  # (dependency, level, where) from the app, includes and routers
    tags: tuple[str, ...]
    chain: tuple[IncludeStep, ...]  # the include_router calls from the app down, outermost first
    in_schema: bool
    deprecated: bool
    router_prefix: str  # the prefix of the router the route is registered on
    conditions: tuple[str, ...] = ()  # the conditions along the include chain and of the registration, outermost first
    order: tuple[Spot, ...] = ()  # where the include calls and the registration run, outermost first (``Route.order_key``)
