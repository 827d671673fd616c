"""Small helpers shared by rules (pure functions of the model).

What rules derive from the model (``memo``, the lookups by name, the unique routes) lives in the
analysis layer, ``fastapi_arch_lint.analysis``; the names are kept here for the rules that import them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from fastapi_arch_lint.analysis.index import (
    find_table,
    pydantic_model,
    route_entity,
    unique_routes,
)
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.findings import Related
from fastapi_arch_lint.model.app import AppModel, Function, Middleware, Route
from fastapi_arch_lint.model.expr import Call, Const, Name, render
from fastapi_arch_lint.model.unresolved import auth_uncertain_routes

__all__ = [
    "ASYNC_SESSION_CLASSES", "ASYNC_SESSION_RECEIVERS", "aliases_text", "dispatched_instead", "PARAM_RE",
    "pattern_key", "in_test_function", "told_apart", "STATE_CHANGING", "SYNC_SESSION_CLASSES",
    "SYNC_SESSION_RECEIVERS", "find_table", "include_chain_text", "is_param", "memo", "pydantic_model",
    "raised_http_exceptions", "route_entity", "route_related", "same_handler", "segments", "session_kind", "split_target", "unique_routes",
]

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

PARAM_RE = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?}")
TEST_FILE_RE = re.compile(r"(?:^|/)(?:test_[^/]*|[^/]*_test|conftest)\.py$")


def pattern_key(path: str) -> str:
    """The path with parameter names erased: two routes with one key match the same URLs."""
    return PARAM_RE.sub(lambda m: "{:" + (m.group(2) or "str") + "}", path)


def in_test_function(route: Route) -> bool:
    """The handler is defined inside a ``test_*`` function of a test module: an app a test builds to
    exercise the framework or a routing helper (duplicates there are usually the point of the test)."""
    if not TEST_FILE_RE.search(route.handler.path):
        return False
    parts = route.handler.fact.qualname.split(".")[:-1]
    return any(p.startswith("test") for p in parts)


def _extra_decorators(route: Route, registrations: set[tuple[str, int]]) -> frozenset[str]:
    """The handler's decorators other than route registrations, as text."""
    return frozenset(render(d.expr) for d in route.handler.fact.decorators
                     if (route.handler.path, d.pos.line) not in registrations)


def told_apart(first: Route, dup: Route, registrations: set[tuple[str, int]]) -> bool:
    """The two handlers carry different decorators besides their registrations (``@version(2)`` on one):
    a decorator may mark the endpoint for a custom dispatch (API versions, feature flags), so the two
    need not collide."""
    return _extra_decorators(first, registrations) != _extra_decorators(dup, registrations)


def _route_key(r: Route) -> tuple[object, ...]:
    return (r.app, r.registered.path, r.registered.line, r.methods, r.path, r.handler.qualname)


def _shadowing(app: AppModel) -> dict[tuple[tuple[object, ...], str], Route]:
    """For (route, method): the earlier route of the same app with that method and the same path (up to
    parameter names) that FastAPI dispatches to instead, when the two handlers differ (what FAL105 reports)."""
    registrations = {(r.registered.path, r.registered.line) for r in app.iter_routes()}
    out: dict[tuple[tuple[object, ...], str], Route] = {}
    for a in app.apps:
        first_by_key: dict[tuple[str, str], Route] = {}
        for route in sorted(a.routes, key=lambda r: r.order):
            if route.path_unresolved or route.kind != "http":
                continue
            for method in route.methods:
                key = (method, pattern_key(route.path))
                first = first_by_key.setdefault(key, route)
                if first is route or first.conditional != route.conditional:
                    continue
                if first.handler.qualname == route.handler.qualname or first.registered == route.registered:
                    continue  # the same handler again: it is dispatched, through the first
                if in_test_function(route) or in_test_function(first) or told_apart(first, route, registrations):
                    continue
                out.setdefault((_route_key(route), method), first)
    return out


def dispatched_instead(app: AppModel, route: Route, method: str) -> Route | None:
    """The earlier registration FastAPI always dispatches ``method`` at ``route``'s path to, so that
    ``route``'s handler is never called for it; None when ``route`` is the one that runs."""
    return memo(app, _shadowing).get((_route_key(route), method))


def route_related(route: Route) -> tuple[Related, ...]:
    """The include steps that gave the route its prefix, as related locations."""
    out = []
    for step in route.include_chain:
        prefix = f" with prefix `{step.prefix}`" if step.prefix else ""
        out.append(Related(step.path, step.line, f"`{step.child}` included into `{step.parent}`{prefix}"))
    return tuple(out)


def same_handler(routes: Iterable[Route]) -> list[tuple[Route, list[Route]]]:
    """``routes`` grouped by handler and methods: one handler under several stacked decorators (a
    trailing-slash twin, a legacy alias hidden with ``include_in_schema=False``, a router included
    under two prefixes) is one piece of code, so a rule that judges the handler reports it once.
    Each group as (the route that stands for it, the others): the first documented one, else the
    first one, in the order of ``routes``."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[Route]] = {}
    for r in routes:
        groups.setdefault((r.app, r.handler.qualname, r.methods), []).append(r)
    out = []
    for rs in groups.values():
        first = next((r for r in rs if r.include_in_schema), rs[0])
        out.append((first, [r for r in rs if r is not first]))
    return out


def aliases_text(others: list[Route]) -> str:
    """`` (and 2 more paths of the same handler: `/a/`, `/v1/a`)``, or "" for none."""
    paths = list(dict.fromkeys(r.path for r in others))
    if not paths:
        return ""
    shown = ", ".join(f"`{p}`" for p in paths[:3]) + (", ..." if len(paths) > 3 else "")
    return f" (and {len(paths)} more path{'s' if len(paths) > 1 else ''} of the same handler: {shown})"


def include_chain_text(route: Route) -> str:
    if not route.include_chain:
        return "registered directly on the app"
    steps = [f"{s.parent}.include_router({s.child}{', prefix=' + repr(s.prefix) if s.prefix else ''}) at {s.path}:{s.line}"
             for s in route.include_chain]
    return " -> ".join(steps)


def segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def ends_in_catch_all(path: str) -> bool:
    """The path ends in a ``{name:path}`` parameter, which matches the rest of any URL (a proxy's forwarder)."""
    return bool(CATCH_ALL_RE.search(path))


CATCH_ALL_RE = re.compile(r"\{\w+:path\}$")


# -- resolved call targets and ORM sessions (the async and layering rules) ---------------
# A call's target is a dotted name: ``requests.get`` for a function, ``httpx.Client().get``
# for a method of an instance built in the function, ``sqlalchemy.orm.Session.execute`` for a
# method of a parameter annotated ``Session``.

SYNC_SESSION_CLASSES = frozenset({
    "sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlmodel.Session",
    "sqlmodel.orm.session.Session", "sqlalchemy.orm.scoped_session", "sqlalchemy.orm.scoping.scoped_session",
})
# receivers that are sync sessions without being the class itself: ``SessionLocal()`` where
# ``SessionLocal = sessionmaker(...)``, or a ``scoped_session(...)`` registry
SYNC_SESSION_RECEIVERS = frozenset({
    "sqlalchemy.orm.sessionmaker()", "sqlalchemy.orm.scoped_session()", "sqlalchemy.orm.scoping.scoped_session()",
})
ASYNC_SESSION_CLASSES = frozenset({
    "sqlalchemy.ext.asyncio.AsyncSession", "sqlalchemy.ext.asyncio.session.AsyncSession",
    "sqlmodel.ext.asyncio.session.AsyncSession", "sqlalchemy.ext.asyncio.async_scoped_session",
})
ASYNC_SESSION_RECEIVERS = frozenset({
    "sqlalchemy.ext.asyncio.async_sessionmaker()", "sqlalchemy.ext.asyncio.session.async_sessionmaker()",
})


def split_target(target: str) -> tuple[str, str, bool]:
    """``("httpx.Client", "get", True)`` for ``httpx.Client().get``: receiver, method, is-instance."""
    receiver, _, method = target.rpartition(".")
    if receiver.endswith("()"):
        return receiver[:-2], method, True
    return receiver, method, False


def session_kind(app: AppModel, receiver: str) -> str | None:
    """``"sync"`` or ``"async"`` when ``receiver`` (a split target's receiver) is an ORM session."""
    if receiver in SYNC_SESSION_CLASSES or receiver in SYNC_SESSION_RECEIVERS:
        return "sync"
    if receiver in ASYNC_SESSION_CLASSES or receiver in ASYNC_SESSION_RECEIVERS:
        return "async"
    bases = app.class_bases.get(receiver, ())
    if any(b in ASYNC_SESSION_CLASSES for b in bases):
        return "async"
    if any(b in SYNC_SESSION_CLASSES for b in bases):
        return "sync"
    return None


def middleware_entry_points(app: AppModel, mw: Middleware) -> list[str]:
    """The project functions a middleware runs per request: the decorated function, or the class's
    ``dispatch`` (``BaseHTTPMiddleware``) or ``__call__`` (pure ASGI), inherited ones too."""
    if mw.kind == "function":
        return [mw.name] if mw.name in app.functions else []
    out: list[str] = []
    for cls in (mw.name, *app.class_bases.get(mw.name, ())):
        for method in ("dispatch", "__call__"):
            q = f"{cls}.{method}"
            if q in app.functions and not any(o.endswith("." + method) for o in out):
                out.append(q)
    return out


def _slash_twins(app: AppModel) -> dict[tuple[str, str, tuple[str, ...], str], list[Route]]:
    out: dict[tuple[str, str, tuple[str, ...], str], list[Route]] = {}
    for r in unique_routes(app):
        out.setdefault((r.app, r.handler.qualname, r.methods, r.path.rstrip("/") or "/"), []).append(r)
    return out


def slash_twins(app: AppModel, route: Route) -> list[Route]:
    """The registrations of ``route``'s handler for the same methods at its path with and without a trailing
    slash (stacked ``@router.get("/items")`` and ``@router.get("/items/")``), the first one first: one cause,
    which a rule reports once, at the first."""
    return memo(app, _slash_twins).get((route.app, route.handler.qualname, route.methods,
                                        route.path.rstrip("/") or "/"), [route])


def twin_text(twins: list[Route]) -> str:
    """`` (also served at `/items/`)`` for a route's trailing-slash twins, or ""."""
    return f" (also served at {', '.join(f'`{t.path}`' for t in twins[1:])})" if len(twins) > 1 else ""


def _auth_uncertain_keys(app: AppModel) -> frozenset[tuple[object, ...]]:
    return frozenset((r.app, r.methods, r.path, r.handler.qualname) for r in auth_uncertain_routes(app))


def auth_uncertain(app: AppModel, route: Route) -> bool:
    """What the model could not resolve above ``route`` (a dependency, an include, its app) may attach
    auth to it: rules that say "no authentication" stay quiet there (review's closing line says so)."""
    return (route.app, route.methods, route.path, route.handler.qualname) in memo(app, _auth_uncertain_keys)


def own_decorator(route: Route) -> Call | None:
    """The route decorator call on the handler itself that registered ``route`` (``@router.post(...)``
    in the handler's file, the one decorator at the registration's line); None for a route registered
    by hand, in a loop or in a helper. What a fix edits."""
    at = route.registered
    if at.path != route.handler.path:
        return None
    calls = [d.expr for d in route.handler.fact.decorators if d.pos.line == at.line and isinstance(d.expr, Call)]
    return calls[0] if len(calls) == 1 and isinstance(calls[0], Call) else None


def matches_any(name: str, patterns: Iterable[str], *, ignore_case: bool = False) -> bool:
    """``fnmatch.fnmatchcase`` against any of ``patterns`` (with ``ignore_case``: both in lower case),
    through one regular expression for them all: rules ask it of every field, route or call step."""
    if ignore_case:
        return _any_of(tuple(patterns), True).match(name.lower()) is not None
    return _any_of(tuple(patterns), False).match(name) is not None


@lru_cache(maxsize=128)
def _any_of(patterns: tuple[str, ...], lower: bool) -> re.Pattern[str]:
    if not patterns:
        return re.compile(r"(?!)")  # matches nothing
    return re.compile("|".join(f"(?:{fnmatch.translate(p.lower() if lower else p)})" for p in patterns))


HTTP_EXCEPTIONS = frozenset({"fastapi.HTTPException", "fastapi.exceptions.HTTPException",
                             "starlette.exceptions.HTTPException", "starlette.HTTPException"})


def is_http_exception(app: AppModel, target: str | None) -> bool:
    if not target:
        return False
    return target in HTTP_EXCEPTIONS or any(b in HTTP_EXCEPTIONS for b in app.class_bases.get(target, ()))


def raised_http_exceptions(app: AppModel, fn: Function) -> Iterator[tuple[int, int, str, str]]:
    """``(line, col, exception class, status)`` of each ``raise`` of an HTTPException in ``fn``."""
    by_pos = {(site.call.line, site.call.col): (site, target) for site, target in fn.calls}
    assigned = {site.assigned_to: (site, target) for site, target in fn.calls if site.assigned_to}
    for r in fn.fact.raises:
        entry = None
        if isinstance(r.expr, Call):
            entry = by_pos.get((r.expr.line, r.expr.col))
        elif isinstance(r.expr, Name):
            entry = assigned.get(r.expr.id)  # ``exc = HTTPException(...)`` ... ``raise exc``
        if entry is None or not is_http_exception(app, entry[1]):
            continue
        site, target = entry
        # a project subclass has its own signature: its first argument is not the status
        status = site.call.arg(0, "status_code") if target in HTTP_EXCEPTIONS else site.call.kwarg("status_code")
        code = ""
        if isinstance(status, Const) and isinstance(status.value, int):
            code = str(status.value)
        elif status is not None:
            code = render(status, 40)
        yield r.pos.line, r.pos.col, target.rsplit(".", 1)[-1] if target else "HTTPException", code
