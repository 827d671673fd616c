"""FAL106 shadowed-route."""

from __future__ import annotations

import heapq

from collections.abc import Iterator

from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Route
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, route_related
from fastapi_arch_lint.rules.rest._rest import parse_path, pattern_key, swallows


def _methods(route: Route) -> frozenset[str]:
    return frozenset(route.methods) if route.kind == "http" else frozenset({"WEBSOCKET"})


def _key(r: Route) -> tuple[tuple[str, int, int], ...]:
    return tuple((s.path, s.line, 0) for s in r.include_chain) + ((r.registered.path, r.registered.line,
                                                                     r.registered.col),)


def order_is_known(a: Route, b: Route) -> bool:
    """Whether the model knows which of ``a`` and ``b`` FastAPI tries first.

    The two registrations (or include calls) that decide it must be in one file:
    across files the order depends on import order, which the model does not follow.
    """
    ka, kb = _key(a), _key(b)
    for x, y in zip(ka, kb):
        if x != y:
            return x[0] == y[0]
    return True


def _first_static(path: str) -> str | None:
    """The first path segment when it is static, None when it is a parameter."""
    first = path.lstrip("/").split("/", 1)[0]
    return None if "{" in first else first


def _short(route: Route) -> str:
    return route.handler.qualname.rsplit(".", 1)[-1]


def _convertor_hint(a: Route, b: Route) -> str:
    sa, sb = parse_path(a.path), parse_path(b.path)
    for x, y in zip(sa, sb):
        if x.kind == "param" and x.convertor == "str" and y.kind == "static":
            name = x.text.strip("{}").split(":")[0]
            p = next((p for p in a.params if p.name == name and p.source == "path"), None)
            if p is None:
                return ""
            if "builtins.int" in p.type_names and not y.text.isdigit():
                return f", or declare the parameter's type in the path (`{{{name}:int}}`) so it only matches numbers"
            if "uuid.UUID" in p.type_names:
                return f", or declare the parameter's type in the path (`{{{name}:uuid}}`) so it only matches UUIDs"
            return ""
    return ""


@register
class ShadowedRoute(Rule):
    code = "FAL106"
    name = "shadowed-route"
    summary = "A route with a path parameter is registered before a route it swallows (`/users/{id}` before `/users/me`)"
    severity = Severity.ERROR

    def check(self, app: AppModel) -> Iterator[Finding]:
        for a_ in app.apps:
            routes = sorted((r for r in a_.routes if not r.path_unresolved), key=lambda r: r.order)
            keys = {id(r): pattern_key(r.path) for r in routes}
            sizes = {id(r): len(parse_path(r.path)) for r in routes}
            reported: set[tuple[object, ...]] = set()
            # only a parameterised route can swallow another: bucket those by kind, segment count and
            # first segment (a static first segment must match exactly), so large apps are not quadratic
            buckets: dict[tuple[str, int, str | None], list[tuple[int, Route]]] = {}
            tails: list[tuple[int, Route]] = []  # ``{p:path}`` routes take any number of segments
            for i, r in enumerate(routes):
                if "{" not in r.path:
                    continue
                if ":path}" in r.path:
                    tails.append((i, r))
                else:
                    buckets.setdefault((r.kind, sizes[id(r)], _first_static(r.path)), []).append((i, r))
            for j, later in enumerate(routes):
                size, first = sizes[id(later)], _first_static(later.path)
                pools = [buckets.get((later.kind, size, None), []), tails]
                if first is not None:
                    pools.append(buckets.get((later.kind, size, first), []))
                candidates = [r for i, r in heapq.merge(*pools, key=lambda t: t[0]) if i < j]
                for earlier in candidates:
                    if earlier.kind != later.kind:
                        continue
                    common = _methods(earlier) & _methods(later)
                    if not common:
                        continue
                    if keys[id(earlier)] == keys[id(later)]:
                        continue  # the same pattern twice is FAL105 duplicate-route
                    if not swallows(earlier.path, later.path):
                        continue
                    key = (earlier.registered, later.registered)
                    if key in reported:
                        break
                    if not order_is_known(earlier, later):
                        continue
                    reported.add(key)
                    methods = ",".join(sorted(common)) if later.kind == "http" else "WS"
                    yield self.finding(
                        later.registered.path, later.registered.line, later.registered.col,
                        f"`{methods} {later.path}` ({_short(later)}) is never reached: "
                        f"`{earlier.display()}` ({_short(earlier)}) is registered before it and matches the same "
                        f"URLs, and FastAPI dispatches to the first route that matches",
                        help="register the static route before the parameterised one (move its decorator above, "
                             "or include its router first)" + _convertor_hint(earlier, later),
                        related=(Related(earlier.registered.path, earlier.registered.line,
                                         f"`{earlier.display()}` ({_short(earlier)}) registered first"),
                                 *route_related(later)),
                        entity=route_entity(later),
                        confidence=Confidence.HIGH,
                    )
                    break
