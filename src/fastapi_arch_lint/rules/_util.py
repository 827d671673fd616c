"""Small helpers shared by rules (pure functions of the model)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from fastapi_arch_lint.findings import Related
from fastapi_arch_lint.model.app import AppModel, PydanticModel, Route, Table

T = TypeVar("T")

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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


def _models_by_qualname(app: AppModel) -> dict[str, PydanticModel]:
    out: dict[str, PydanticModel] = {}
    for m in app.models:
        out.setdefault(m.qualname, m)  # the first one wins, as in ``AppModel.model``
    return out


def pydantic_model(app: AppModel, qualname: str) -> PydanticModel | None:
    """``app.model(qualname)`` through a dict built once (it is a linear scan, asked for every route)."""
    return memo(app, _models_by_qualname).get(qualname)


def _tables_by_qualname(app: AppModel) -> dict[str, Table]:
    out: dict[str, Table] = {}
    for t in app.tables:
        out.setdefault(t.qualname, t)  # the first one wins, as a scan of ``app.tables`` finds it
    return out


def find_table(app: AppModel, qualname: str) -> Table | None:
    """The table class ``qualname`` (a dict built once instead of a scan of ``app.tables``)."""
    return memo(app, _tables_by_qualname).get(qualname)


def route_related(route: Route) -> tuple[Related, ...]:
    """The include steps that gave the route its prefix, as related locations."""
    out = []
    for step in route.include_chain:
        prefix = f" with prefix `{step.prefix}`" if step.prefix else ""
        out.append(Related(step.path, step.line, f"`{step.child}` included into `{step.parent}`{prefix}"))
    return tuple(out)


def include_chain_text(route: Route) -> str:
    if not route.include_chain:
        return "registered directly on the app"
    steps = [f"{s.parent}.include_router({s.child}{', prefix=' + repr(s.prefix) if s.prefix else ''}) at {s.path}:{s.line}"
             for s in route.include_chain]
    return " -> ".join(steps)


def unique_routes(app: AppModel) -> Iterator[Route]:
    """Each handler registration once, even when its router is included several times."""
    return iter(memo(app, _unique_routes))  # about twenty rules ask


def _unique_routes(app: AppModel) -> tuple[Route, ...]:
    seen: set[tuple[str, int, tuple[str, ...], str]] = set()
    out: list[Route] = []
    for r in app.iter_routes():
        key = (r.registered.path, r.registered.line, r.methods, r.path)
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    return tuple(out)


def segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def route_entity(route: Route) -> str:
    return f"{','.join(route.methods) or 'WS'} {route.path} {route.handler.qualname}"


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
