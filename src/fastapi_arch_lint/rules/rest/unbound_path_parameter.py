"""FAL107 unbound-path-parameter."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Route
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.model.expr import Attr, Const, Name, dotted
from fastapi_arch_lint.model.facts import FunctionFact
from fastapi_arch_lint.rules._util import (
    memo,
    middleware_entry_points,
    route_entity,
    route_related,
    slash_twins,
    twin_text,
    unique_routes,
)
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


def _reads_path_params(fact: FunctionFact) -> bool:
    return ("path_params" in fact.names or any(a.endswith(".path_params") or ".path_params." in a for a in fact.attributes)
            or any(base.endswith(".path_params") for base, _ in fact.subscripts)
            or any(isinstance(c.call.func, (Name, Attr)) and (getattr(c.call.func, "id", "") == "compile_path"
                                                             or getattr(c.call.func, "attr", "") == "compile_path")
                   for c in fact.calls))


def _middleware_readers(app: AppModel) -> dict[str, tuple[bool, frozenset[str]]]:
    """For each app id: whether a middleware of the app (or of an app it is mounted in) reads the
    request's path parameters (``request.path_params``, or matching the routes' paths itself), and the
    string constants those functions use (the parameter names they read)."""
    own: dict[str, tuple[bool, frozenset[str]]] = {}
    for a in app.apps:
        reads = False
        consts: set[str] = set()
        for mw in a.middleware:
            for q in middleware_entry_points(app, mw):
                seen = {q}
                for fn, site, _target, _trail in app.callees(q, depth=2):
                    seen.add(fn.qualname)
                    consts.update(x.value for x in (*site.call.args, *(v for _, v in site.call.kwargs))
                                  if isinstance(x, Const) and isinstance(x.value, str))
                for name in seen:
                    fn = app.function(name)
                    if fn is not None and _reads_path_params(fn.fact):
                        reads = True
                        consts.update(k for _, k in fn.fact.subscripts)
        own[a.id] = (reads, frozenset(consts))
    # middleware of an app also runs for the apps mounted in it
    out = dict(own)
    for a in app.apps:
        for m in a.mounts:
            if m.app and m.app in out and own[a.id][0]:
                r, c = out[m.app]
                out[m.app] = (True, c | own[a.id][1])
    return out


def _named_path_param_reads(app: AppModel) -> frozenset[str]:
    """Path parameter names some project function other than a handler reads by name: ``request.path_params["org"]``,
    ``path_params.get("org")`` (a permission class a dependency calls through a list, a middleware
    helper: places the call graph may not connect to the route)."""
    out: set[str] = set()
    handlers = {r.handler.qualname for r in app.iter_routes()}
    for fn in app.functions.values():
        if fn.qualname in handlers:
            continue  # a handler reads its own route's parameters (``reads_path_params``)
        fact = fn.fact
        if "path_params" not in fact.names and not any("path_params" in a for a in fact.attributes):
            continue
        out.update(k for base, k in fact.subscripts if base.endswith("path_params"))
        for c in fact.calls:
            func = c.call.func
            if isinstance(func, Attr) and func.attr in ("get", "pop", "__getitem__") \
                    and (dotted(func.value) or "").rsplit(".", 1)[-1] == "path_params":
                first = c.call.arg(0, "key")
                if isinstance(first, Const) and isinstance(first.value, str):
                    out.add(first.value)
    return frozenset(out)


def consumed_by_middleware(app: AppModel, route: Route, name: str) -> bool:
    """A middleware reads the path parameter ``name`` itself (or reads path parameters without naming
    any of the route's: it may read them all)."""
    if name in memo(app, _named_path_param_reads):
        return True
    reads, consts = memo(app, _middleware_readers).get(route.app, (False, frozenset()))
    if not reads:
        return False
    return name in consts or not any(p in consts for p in route.path_params)


def bound_names(app: AppModel, route: Route) -> set[str]:
    names = set()
    for p in route.params:
        names.add(p.name)
        if p.alias:
            names.add(p.alias)
    for _, field in dependency_class_fields(app, route):
        names.add(field)
    return names


# a parameter that names an object or a tenant: unread, nothing checks the caller may reach it
NAMES_AN_OBJECT = re.compile(r"(^|_)(id|uuid|uid|pk|key|slug)$|[a-z](Id|Uuid|Key|Slug)$|^(org|organization|tenant|"
                             r"workspace|team|project|account|user|owner|group)s?$", re.I)


@register
class UnboundPathParameter(Rule):
    code = "FAL107"
    name = "unbound-path-parameter"
    summary = "A `{param}` in the full path (prefixes included) is declared by neither the handler nor its dependencies"
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "when the parameter names no object or tenant (not an id, a key or a "
                                          "slug: a download's file name in the URL), so nothing is left unchecked"}

    def check(self, app: AppModel) -> Iterator[Finding]:
        for route in unique_routes(app):
            if route.path_unresolved or not route.path_params:
                continue
            if route.registration in ("route", "add_route"):
                continue  # a Starlette route (``router.route(...)``): its handler takes the request and reads it itself
            twins = slash_twins(app, route)
            if twins[0] is not route:
                continue  # the handler's registration with(out) a trailing slash: reported with the first
            bound = bound_names(app, route)
            missing = [p for p in dict.fromkeys(route.path_params)
                       if p not in bound and not consumed_by_middleware(app, route, p)]
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
                near = next((p for p in route.params if p.source == "query"
                             and (name in p.name or p.name in name)), None)
                if near is not None:
                    origin += (f"; `{near.name}`, a near name, is declared as a query parameter, so clients must "
                               f"send it as `?{near.alias or near.name}=`")
                yield self.finding(
                    route.registered.path, route.registered.line, route.registered.col,
                    f"path parameter `{name}` of `{route.display()}`{twin_text(twins)}{origin} is not declared by `{handler}` "
                    f"or any of its dependencies, so its value is never read or validated",
                    help=f"add `{name}: <type>` to `{handler}` or to a dependency it uses (a dependency on the "
                         f"router is the usual place for a prefix parameter such as `/orgs/{{{name}}}`), "
                         f"or remove it from the path",
                    related=route_related(route),
                    entity=f"{route_entity(route)} {name}",
                    severity=None if NAMES_AN_OBJECT.search(name) else Severity.WARNING,
                )
