"""Small helpers shared by rules (pure functions of the model)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Related
from fastapi_arch_lint.model.app import AppModel, Route

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
    seen: set[tuple[str, int, tuple[str, ...], str]] = set()
    for r in app.iter_routes():
        key = (r.registered.path, r.registered.line, r.methods, r.path)
        if key in seen:
            continue
        seen.add(key)
        yield r


def segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def route_entity(route: Route) -> str:
    return f"{','.join(route.methods) or 'WS'} {route.path} {route.handler.qualname}"
