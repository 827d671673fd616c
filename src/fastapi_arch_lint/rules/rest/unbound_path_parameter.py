"""FAL107 unbound-path-parameter."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Route
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, route_related, unique_routes
from fastapi_arch_lint.rules.rest._common import (
    dependency_class_fields,
    dependency_functions,
    opaque_dependencies,
    segment_origin,
)


def reads_path_params(app: AppModel, route: Route) -> bool:
    """The handler or a dependency reads ``request.path_params`` (or ``websocket.path_params``) itself."""
    for _, _, fact in dependency_functions(app, route):
        if any(a.endswith(".path_params") or ".path_params." in a for a in fact.attributes):
            return True
        if any(base.endswith(".path_params") for base, _ in fact.subscripts):
            return True
    return False


def bound_names(app: AppModel, route: Route) -> set[str]:
    names = set()
    for p in route.params:
        names.add(p.name)
        if p.alias:
            names.add(p.alias)
    for _, field in dependency_class_fields(app, route):
        names.add(field)
    return names


@register
class UnboundPathParameter(Rule):
    code = "FAL107"
    name = "unbound-path-parameter"
    summary = "A `{param}` in the full path (prefixes included) is declared by neither the handler nor its dependencies"
    severity = Severity.ERROR

    def check(self, app: AppModel) -> Iterator[Finding]:
        for route in unique_routes(app):
            if route.path_unresolved or not route.path_params:
                continue
            bound = bound_names(app, route)
            missing = [p for p in dict.fromkeys(route.path_params) if p not in bound]
            if not missing:
                continue
            if opaque_dependencies(app, route) or reads_path_params(app, route):
                continue  # a dependency the model cannot see into may declare it
            parts = route.path.split("/")
            for name in missing:
                index = next((i for i, s in enumerate(parts) if "{" + name in s), 0)
                loc, where = segment_origin(app, route, index)
                origin = "" if where == "the route path" else f" (it comes from {where}, {loc.path}:{loc.line})"
                handler = route.handler.qualname.rsplit(".", 1)[-1]
                yield self.finding(
                    route.registered.path, route.registered.line, route.registered.col,
                    f"path parameter `{name}` of `{route.display()}`{origin} is not declared by `{handler}` "
                    f"or any of its dependencies, so its value is never read or validated",
                    help=f"add `{name}: <type>` to `{handler}` or to a dependency it uses (a dependency on the "
                         f"router is the usual place for a prefix parameter such as `/orgs/{{{name}}}`), "
                         f"or remove it from the path",
                    related=route_related(route),
                    entity=f"{route_entity(route)} {name}",
                )
