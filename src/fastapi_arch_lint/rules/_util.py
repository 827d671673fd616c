"""Small helpers shared by rules (pure functions of the model).

What rules derive from the model (``memo``, the lookups by name, the unique routes) lives in the
analysis layer, ``fastapi_arch_lint.analysis``; the names are kept here for the rules that import them.
"""

from __future__ import annotations

from fastapi_arch_lint.analysis.index import find_table, pydantic_model, route_entity, unique_routes
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.findings import Related
from fastapi_arch_lint.model.app import Route

__all__ = [
    "STATE_CHANGING", "find_table", "include_chain_text", "is_param", "memo", "pydantic_model", "route_entity",
    "route_related", "segments", "unique_routes",
]

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


def segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")
