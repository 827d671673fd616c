"""FAL205 multi-method-handler."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Route
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._html import renders_html
from fastapi_arch_lint.rules._util import ends_in_catch_all, route_entity, route_related
from fastapi_arch_lint.rules.http._common import registrations

# methods that ride along with another without changing what the handler means
COMPANIONS = frozenset({"HEAD", "OPTIONS"})
# methods that may change state: a handler serving only these (``POST`` and ``PUT`` for one idempotent replace,
# an alias kept for clients that use either) runs no write on a safe method's request
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALIAS_NOTE = ("; all are unsafe methods (an alias for clients that send either): no safe request runs its writes, "
              "only the status code and OpenAPI operation are shared")


def _aliases(methods: list[str]) -> bool:
    return set(methods) <= UNSAFE


def _short(route: Route) -> str:
    return route.handler.qualname.rsplit(".", 1)[-1]


@register
class MultiMethodHandler(Rule):
    code = "FAL205"
    name = "multi-method-handler"
    summary = "One handler serves several HTTP methods (`api_route(methods=[\"GET\", \"POST\"])`)"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "when every method it serves is unsafe (`POST` and `PUT` on one handler)"}

    def check(self, app: AppModel) -> Iterator[Finding]:
        # a handler is its definition: two functions that share a name in one scope (a copy-pasted
        # ``def get_item`` under ``@router.delete``) are two handlers, told apart by where each is defined
        by_handler: dict[tuple[str, str, str, int], list[Route]] = {}
        for route in registrations(app):
            if route.kind != "http" or renders_html(app, route):
                continue  # a server-rendered form: GET shows it, POST submits it to the same handler
            if ends_in_catch_all(route.path):
                continue  # ``/proxy/{path:path}``: a reverse proxy forwards every method to its upstream as is
            h = route.handler
            by_handler.setdefault((route.app, h.qualname, h.path, h.line), []).append(route)
        for routes in by_handler.values():
            routes.sort(key=lambda r: (r.registered.path, r.registered.line))
            reported = False
            # one registration with several methods
            for route in routes:
                methods = sorted(set(route.methods) - COMPANIONS)
                if len(methods) < 2:
                    continue
                reported = True
                yield self.finding(
                    route.registered.path, route.registered.line, route.registered.col,
                    f"`{_short(route)}` is registered for {', '.join(f'`{m}`' for m in methods)} at once "
                    f"on `{route.path}` ({route.registration})" + (ALIAS_NOTE if _aliases(methods) else ""),
                    help="give each method its own handler (`@router.get`, `@router.post`): each gets its own "
                         "status code, response model, dependencies and OpenAPI operation, and a safe GET cannot "
                         "trigger the POST's side effects",
                    related=route_related(route),
                    entity=route_entity(route),
                    severity=Severity.INFO if _aliases(methods) else None,
                )
            if reported:
                continue
            # the same function under stacked decorators for different methods on one path
            by_path: dict[str, list[Route]] = {}
            for route in routes:
                by_path.setdefault(route.path, []).append(route)
            for path, group in by_path.items():
                methods = sorted({m for r in group for m in r.methods} - COMPANIONS)
                regs = {(r.registered.path, r.registered.line) for r in group}
                if len(methods) < 2 or len(regs) < 2:
                    continue
                first = group[0]
                yield self.finding(
                    first.registered.path, first.registered.line, first.registered.col,
                    f"`{_short(first)}` is registered for {', '.join(f'`{m}`' for m in methods)} "
                    f"on `{path}` by {len(regs)} decorators" + (ALIAS_NOTE if _aliases(methods) else ""),
                    help="give each method its own handler; share the logic through a service function",
                    related=tuple(Related(r.registered.path, r.registered.line,
                                          f"also registered for `{','.join(r.methods)}`")
                                  for r in group[1:]) + route_related(first),
                    entity=route_entity(first),
                    severity=Severity.INFO if _aliases(methods) else None,
                )
