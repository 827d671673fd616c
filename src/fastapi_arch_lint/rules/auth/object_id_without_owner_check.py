"""FAL403 object-id-without-owner-check."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Route, Table
from fastapi_arch_lint.model.facts import Pos
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, unique_routes
from fastapi_arch_lint.rules.auth._common import (
    call_args_names,
    dependency_functions,
    func_name,
    handler_name,
    names_in,
    principal_params,
    privileged,
    reachable_functions,
    roots,
)

ID_PARAM_RE = re.compile(r"(^id$|_id$|[a-z]Id$|^uuid$|_uuid$|^pk$|_pk$)")
# a call that fetches something by the id it is given
LOAD_CALL_RE = re.compile(
    r"^(get|get_or_404|get_one|get_object_or_404|scalar|scalars|scalar_one\w*|execute|exec|query|filter|filter_by|where"
    r"|first|one|one_or_none|select|fetch\w*|find\w*|load\w*|read_\w+|retrieve\w*|lookup\w*|get_\w+|\w+_by_id)$"
)
# a call inside a service/repository function that reads the database
DB_READ_RE = re.compile(
    r"^(get|get_one|scalar|scalars|scalar_one\w*|execute|exec|query|filter|filter_by|where|select|fetch|fetchrow"
    r"|fetchval|fetch_one|fetch_all|find_one|find|get_or_404)$"
)
OWNER_COLUMN_RE = re.compile(
    r"^(owner|user|author|creator|created_by|customer|account|tenant|org|organization|organisation|workspace|member"
    r"|buyer|seller|uploader|submitter|patient|client)(_id|_uuid)?$|^owner_|_by(_id)?$",
    re.I,
)


@dataclass(frozen=True)
class Load:
    what: str
    pos: Pos
    args: frozenset[str]
    tables: frozenset[str]


def _tables_in(names: set[str], tables: dict[str, Table]) -> set[str]:
    return {n.split(".", 1)[0] for n in names if n.split(".", 1)[0] in tables}


def _project_load(app: AppModel, target: str, tables: dict[str, Table]) -> tuple[bool, frozenset[str]]:
    """Does the project function ``target`` (or what it calls) read the database? Which tables?"""
    loads = False
    found: set[str] = set()
    for fn in reachable_functions(app, [target], depth=2).values():
        for site in fn.fact.calls:
            name = func_name(site.call)
            args = call_args_names(site.call) | names_in(site.call.func)
            t = _tables_in(args, tables)
            if DB_READ_RE.match(name) and (t or name not in ("get", "first", "one")):
                loads = True
            found |= t
        for c in fn.fact.compares:
            found |= _tables_in(names_in(c.left) | names_in(c.right), tables)
    return loads, frozenset(found)


def find_loads(app: AppModel, route: Route, ids: set[str], tables: dict[str, Table],
               project_loads: dict[str, tuple[bool, frozenset[str]]]) -> list[Load]:
    """``project_loads`` caches ``_project_load`` by target: many handlers call the same service functions."""
    fact = route.handler.fact
    fn = app.functions.get(route.handler.qualname)
    sites = fn.calls if fn is not None else tuple((s, None) for s in fact.calls)
    loads: list[Load] = []
    for site, target in sites:
        args = call_args_names(site.call)
        if not roots(args) & ids:
            continue
        name = func_name(site.call)
        t = _tables_in(args | names_in(site.call.func), tables)
        if target and target in app.functions:
            if target not in project_loads:
                project_loads[target] = _project_load(app, target, tables)
            is_load, more = project_loads[target]
            is_load = is_load or bool(LOAD_CALL_RE.match(name))
            t |= more
        else:
            is_load = bool(LOAD_CALL_RE.match(name))
        if is_load:
            loads.append(Load(f"{name}(...)", site.pos, frozenset(args), frozenset(t)))
    for c in fact.compares:
        sides = names_in(c.left) | names_in(c.right)
        t = _tables_in(sides, tables)
        if roots(sides) & ids and t:
            loads.append(Load("a query filter on the id", c.pos, frozenset(sides), frozenset(t)))
    return sorted(loads, key=lambda ld: (ld.pos.line, ld.pos.col))


def principal_used(app: AppModel, route: Route, principals: list[str], loads: list[Load]) -> bool:
    fact = route.handler.fact
    live = [p for p in principals if p in fact.names]
    if not live:
        return False
    if any(roots(ld.args) & set(live) for ld in loads):
        return True
    for c in fact.compares:
        if roots(names_in(c.left) | names_in(c.right)) & set(live):
            return True
    fn = app.functions.get(route.handler.qualname)
    for site, target in (fn.calls if fn is not None else ()):
        # handed to a project function (a service that may scope or check by owner)
        if target and target in app.functions and roots(call_args_names(site.call)) & set(live):
            return True
    return False


@register
class ObjectIdWithoutOwnerCheck(Rule):
    code = "FAL403"
    name = "object-id-without-owner-check"
    summary = "An authenticated route loads the object named by a path id without ever using the current user"
    severity = Severity.INFO
    confidence = Confidence.LOW
    cwe = ("CWE-639",)
    owasp = ("API1:2023",)
    security_severity = 6.5

    def check(self, app: AppModel) -> Iterator[Finding]:
        tables = {t.name: t for t in app.tables}
        project_loads: dict[str, tuple[bool, frozenset[str]]] = {}
        for route in unique_routes(app):
            if route.kind != "http" or not route.auth.via or privileged(app, route):
                continue
            fact = route.handler.fact
            if fact.is_method and fact.params and fact.params[0].name == "self" and "self" in fact.names:
                continue  # a class-based view: the caller and the scoped services come through ``self``
            own = {p.name for p in route.handler.fact.params}
            ids = {p for p in route.path_params if ID_PARAM_RE.search(p) and p in own}
            if not ids:
                continue
            # a dependency that also takes the id (``Depends(get_owned_item)``) is where the check usually lives
            if any(ids & {p.name for p in f.fact.params} for f in dependency_functions(app, route)):
                continue
            loads = find_loads(app, route, ids, tables, project_loads)
            if not loads:
                continue
            principals = principal_params(route)
            if principal_used(app, route, principals, loads):
                continue
            touched = {t for ld in loads for t in ld.tables}
            if touched and not any(any(OWNER_COLUMN_RE.search(c.name) for c in tables[t].columns) for t in touched):
                continue  # a shared resource (no owner-like column): nothing to scope by
            first = loads[0]
            id_text = ", ".join(f"`{{{i}}}`" for i in sorted(ids))
            kinds = route.auth.kinds
            who = (f"the current user (`{principals[0]}`) is never used" if principals
                   else "the handler never receives the current user (auth only runs as a dependency)"
                   if any(k in ("scheme", "dependency") for k in kinds)
                   else f"the handler never reads who is calling (auth runs in a {' and a '.join(kinds)})")
            owned = sorted(t for t in touched if any(OWNER_COLUMN_RE.search(c.name) for c in tables[t].columns))
            owner_text = ""
            if owned:
                cols = sorted({c.name for t in owned for c in tables[t].columns if OWNER_COLUMN_RE.search(c.name)})
                owner_text = f"; `{owned[0]}` has the owner column {', '.join(f'`{c}`' for c in cols)}"
            related = [Related(route.registered.path, route.registered.line,
                               f"`{','.join(route.methods)} {route.path}` registered here")]
            for t in owned:
                related.append(Related(tables[t].path, tables[t].line, f"table `{t}`"))
            yield self.finding(
                route.handler.path, first.pos.line, first.pos.col,
                f"`{','.join(route.methods)} {route.path}` (`{handler_name(route)}`) loads the object named by "
                f"{id_text} with {first.what} but {who}{owner_text}: any authenticated caller can reach any id",
                help="scope the lookup to the caller (`select(Order).where(Order.id == order_id, Order.owner_id == "
                     "current_user.id)`) or compare after loading and answer 404; for shared resources, or when a "
                     "service checks ownership out of sight, suppress with `# noqa: FAL403`",
                related=related,
                entity=route_entity(route),
            )
