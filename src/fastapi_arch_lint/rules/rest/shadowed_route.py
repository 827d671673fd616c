"""FAL106 shadowed-route."""

from __future__ import annotations

import heapq

from collections.abc import Iterator

from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Route
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, route_related
from fastapi_arch_lint.rules.rest._common import in_test_function, parse_path, pattern_key, swallows


def _methods(route: Route) -> frozenset[str]:
    return frozenset(route.methods) if route.kind == "http" else frozenset({"WEBSOCKET"})


def order_is_known(a: Route, b: Route) -> bool:
    """Whether the model knows which of ``a`` and ``b`` FastAPI tries first.

    The two calls that decide it (the first place their ``order_key``s part) must run in one function
    body (or both at module level) of one file: across files the order depends on import order, and
    across function bodies on when each function is called, neither of which the model follows. (A call
    in a helper that receives the app or router is placed where the helper is called.)
    """
    for x, y in zip(a.order_key, b.order_key):
        if x != y:
            return x[0] == y[0] and x[4] == y[4]
    return True


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
            reported: set[tuple[object, ...]] = set()
            # only a parameterised route can swallow another, and only a route with as many segments
            # whose text equals its static segments (``swallows``): bucket those by kind, segment count,
            # which segments are static and their text, so large apps (every path under ``/api/v1``)
            # are not quadratic
            buckets: dict[tuple[str, int, tuple[int, ...]], dict[tuple[str, ...], list[tuple[int, Route]]]] = {}
            shapes: dict[tuple[str, int], list[tuple[int, ...]]] = {}
            tails: list[tuple[int, Route]] = []  # ``{p:path}`` routes take any number of segments
            # the methods each pattern already has a route for, by position: a router included twice
            # (or whose routes are also added to another included router) registers every route twice;
            # a later copy is never reached because its own first copy answers first (FAL105), not
            # because of the parameterised route between the copies
            seen_methods: dict[tuple[str, object], set[str]] = {}
            covered: list[frozenset[str]] = []
            for r in routes:
                k = (r.kind, keys[id(r)])
                covered.append(frozenset(seen_methods.get(k, ())))
                seen_methods.setdefault(k, set()).update(_methods(r))
            for i, r in enumerate(routes):
                if "{" not in r.path:
                    continue
                if ":path}" in r.path:
                    tails.append((i, r))
                    continue
                segs = parse_path(r.path)
                static = tuple(k for k, s in enumerate(segs) if s.kind == "static")
                shape = (r.kind, len(segs), static)
                if shape not in buckets:
                    buckets[shape] = {}
                    shapes.setdefault((r.kind, len(segs)), []).append(static)
                buckets[shape].setdefault(tuple(segs[k].text for k in static), []).append((i, r))
            for j, later in enumerate(routes):
                segs = parse_path(later.path)
                pools = [tails]
                for static in shapes.get((later.kind, len(segs)), ()):
                    if all(segs[k].kind == "static" for k in static):
                        pool = buckets[(later.kind, len(segs), static)].get(tuple(segs[k].text for k in static))
                        if pool:
                            pools.append(pool)
                candidates = [r for i, r in heapq.merge(*pools, key=lambda t: t[0]) if i < j]
                for earlier in candidates:
                    if earlier.kind != later.kind:
                        continue
                    common = _methods(earlier) & _methods(later)
                    if not common or common <= covered[j]:
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
                    if in_test_function(earlier) or in_test_function(later) or earlier.conditional != later.conditional:
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
