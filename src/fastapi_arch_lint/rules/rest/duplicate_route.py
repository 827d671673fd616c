"""FAL105 duplicate-route."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Loc, Route
from fastapi_arch_lint.analysis.index import in_test_code
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import in_test_function, pattern_key, route_entity, told_apart


def _methods(route: Route) -> tuple[str, ...]:
    return route.methods if route.kind == "http" else ("WEBSOCKET",)


def _short(route: Route) -> str:
    return route.handler.qualname.rsplit(".", 1)[-1]


@register
class DuplicateRoute(Rule):
    code = "FAL105"
    name = "duplicate-route"
    summary = "The same method and path are registered twice in one app; the later registration is never reached"
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "when one handler's stacked decorators repeat the same path"}

    def check(self, app: AppModel) -> Iterator[Finding]:
        registrations = {(r.registered.path, r.registered.line) for r in app.iter_routes()}
        for a in app.apps:
            if in_test_code(app, a):
                continue  # an app a test or a mock server beside the tests builds is not shipped
            first_by_key: dict[tuple[str, str], Route] = {}
            reported: set[tuple[str, int, str]] = set()
            for route in sorted(a.routes, key=lambda r: r.order):
                if route.path_unresolved:
                    continue
                for method in _methods(route):
                    key = (method, pattern_key(route.path))
                    first = first_by_key.get(key)
                    if first is None:
                        first_by_key[key] = route
                        continue
                    if first.conditional != route.conditional:
                        continue  # registered under different conditions: perhaps never both
                    if in_test_function(route) or in_test_function(first) or told_apart(first, route, registrations):
                        continue
                    yield from self._report(first, route, method, reported)

    def _report(self, first: Route, dup: Route, method: str, reported: set[tuple[str, int, str]]) -> Iterator[Finding]:
        shown = f"{method} {dup.path}" if dup.kind == "http" else f"WS {dup.path}"
        if first.registered == dup.registered:
            # one handler, its router included twice: point at the second include call
            i = 0
            while i < min(len(first.include_chain), len(dup.include_chain)) and \
                    first.include_chain[i] == dup.include_chain[i]:
                i += 1
            step = dup.include_chain[i] if i < len(dup.include_chain) else None
            other = first.include_chain[i] if i < len(first.include_chain) else None
            loc = Loc(step.path, step.line) if step else dup.registered
            key = (loc.path, loc.line, step.child if step else shown)
            if key in reported:
                return
            reported.add(key)
            related = [Related(other.path, other.line, f"`{other.child}` first included here")] if other else []
            yield self.finding(
                loc.path, loc.line, loc.col,
                f"`{step.child if step else 'the router'}` is included a second time under the same path: "
                f"`{shown}` ({_short(dup)}) and the router's other routes are registered twice",
                help="remove the second `include_router` call, or give it a different `prefix` if the API "
                     "really should be served at two paths",
                related=related,
                entity=route_entity(dup),
            )
            return
        key = (dup.registered.path, dup.registered.line, dup.path)
        if key in reported:
            return
        reported.add(key)
        if first.handler.qualname == dup.handler.qualname and first.registered.path == dup.registered.path:
            # two stacked decorators of one handler with the same path: the handler is served, the second
            # registration (the upper decorator: they apply from the ``def`` outwards) only repeats it; a
            # copy-paste, usually of a path meant to differ (a trailing slash)
            other = dup.path[:-1] if dup.path.endswith("/") and len(dup.path) > 1 else dup.path + "/"
            yield self.finding(
                dup.registered.path, dup.registered.line, dup.registered.col,
                f"`{shown}` is registered twice for `{_short(dup)}` (also at line {first.registered.line}): this "
                f"decorator repeats the other, so it does nothing; if it was meant for another path "
                f"(such as `{other}`), that path is not served",
                help="remove the repeated decorator, or correct its path to the variant it was meant to serve",
                related=[Related(first.registered.path, first.registered.line,
                                 f"`{first.display()}` ({_short(first)}) registered first")],
                entity=route_entity(dup),
                severity=Severity.WARNING,
            )
            return
        same = "" if first.path == dup.path else f" (as `{first.path}`)"
        yield self.finding(
            dup.registered.path, dup.registered.line, dup.registered.col,
            f"`{shown}` ({_short(dup)}) is already registered{same} by `{_short(first)}` at "
            f"{first.registered.path}:{first.registered.line}; FastAPI always dispatches to the first one, so "
            f"`{_short(dup)}` is never called",
            help="delete one of the two operations or give them different paths; if they are versions of one "
                 "endpoint, put them under different prefixes",
            related=[Related(first.registered.path, first.registered.line,
                             f"`{first.display()}` ({_short(first)}) registered first")],
            entity=route_entity(dup),
        )
