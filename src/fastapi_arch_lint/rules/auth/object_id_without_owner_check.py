"""FAL403 object-id-without-owner-check."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Route, Table
from fastapi_arch_lint.model.expr import Attr, Call, Const, Name, dotted, render
from fastapi_arch_lint.model.facts import CompareFact, Pos
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import memo, route_entity, unique_routes
from fastapi_arch_lint.rules.auth._common import (
    call_args_names,
    dependency_functions,
    func_name,
    handler_name,
    names_in,
    OWNER_NAME_RE,
    principal_params,
    privileged,
    reachable_functions,
    roots,
    shared_secret_only,
    verifies_signature,
)
from fastapi_arch_lint.rules.auth._principal import Flow, route_flow

ID_PARAM_RE = re.compile(r"(^id$|_id$|[a-z]Id$|^uuid$|_uuid$|^uid$|_uid$|^pk$|_pk$)")
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


# an id in an OAuth callback's path that names the client or identity provider the flow belongs to: configured
# for the deployment and shared by its users, not an object one of them owns
OAUTH_CLIENT_PARAM_RE = re.compile(r"(^|_)(client|provider|idp|issuer)_?(id|uuid|slug)$", re.I)
# a call that hands the request to the OAuth flow's callback step (``handle_callback(request, ...)``)
OAUTH_HANDOFF_RE = re.compile(r"callback|authorize_access_token|fetch_access_token|exchange_code", re.I)
OAUTH_QUERY = frozenset({"code", "state"})


def _oauth_callback(route: Route) -> bool:
    """An OAuth callback: the path ends in ``/callback`` and the handler reads the provider's ``code`` or
    ``state``, or hands the request to the flow's callback step; who signs in comes from the flow's
    server-side state, not from the ids in the path."""
    segments = [s for s in route.path.split("/") if s]
    if not segments or not segments[-1].lower().endswith("callback"):
        return False
    if any(p.source == "query" and p.name in OAUTH_QUERY for p in route.params):
        return True
    fact = route.handler.fact
    if any(key in OAUTH_QUERY and base.endswith("query_params") for base, key in fact.subscripts):
        return True
    requests = {p.name for p in route.params if p.source == "request"}
    for site in fact.calls:
        call = site.call
        if isinstance(call.func, Attr) and call.func.attr == "get" and (dotted(call.func.value) or "").endswith(
                "query_params") and call.args and isinstance(call.args[0], Const) and call.args[0].value in OAUTH_QUERY:
            return True
        if OAUTH_HANDOFF_RE.search(func_name(call)) and any(
                isinstance(a, Name) and a.id in requests for a in (*call.args, *(v for _, v in call.kwargs))):
            return True
    return False


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


SAFE_METHODS = frozenset({"GET", "HEAD"})


def listed_to_all(app: AppModel, tables: dict[str, Table],
                  project_loads: dict[str, tuple[bool, frozenset[str]]]) -> dict[str, Route]:
    """The tables whose rows some collection route (a GET without path parameters, no role check on it) reads
    without scoping by its caller, and that route: a catalogue every caller may list (``GET /books`` returning
    every book), whose rows are not private to their owner, so a GET of one by id is no object-level leak."""
    out: dict[str, Route] = {}
    for r in unique_routes(app):
        if r.kind != "http" or not r.methods or not set(r.methods) <= SAFE_METHODS or r.path_params:
            continue
        if r.privileged or privileged(app, r):
            continue
        fn = app.functions.get(r.handler.qualname)
        if fn is None:
            continue
        touched: set[str] = set()
        for site, target in fn.calls:
            name = func_name(site.call)
            t = _tables_in(call_args_names(site.call) | names_in(site.call.func), tables)
            if target and target in app.functions:
                if target not in project_loads:
                    project_loads[target] = _project_load(app, target, tables)
                is_load, more = project_loads[target]
                if is_load or LOAD_CALL_RE.match(name):
                    touched |= t | more
            elif LOAD_CALL_RE.match(name) or DB_READ_RE.match(name):
                touched |= t
        if not touched or (r.auth.via and route_flow(app, r).checked):
            continue  # reads nothing known, or scopes what it lists by the caller (``where(owner_id == me)``)
        for t in sorted(touched):
            out.setdefault(t, r)
    return out


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


# a call that checks the caller's right to an object it is given: ``check_permission(user, doc)``,
# ``ensure_can_edit(doc)``, ``authorize_access(doc, request)``
PERMISSION_CALL_RE = re.compile(
    r"(permission|authori[sz]|(^|_)access$|ownership|(^|_)owner$|(^|_)can_\w+|^can_|has_\w*(perm|access|role)|"
    r"(^|_)(require|ensure|check|verify|assert)_\w*(owner|member|access|allowed))", re.I)


def _object_checked(app: AppModel, route: Route, loads: list[Load], touched: set[str],
                    tables: dict[str, Table]) -> bool:
    """The object loaded by the id is checked after the lookup, by code that does not read the caller the
    way ``route_flow`` follows it (a caller found inside a helper: ``authorized(doc, request)`` that
    authenticates the request and compares the key's owner with ``doc.owner_id``): the handler hands the
    loaded object to a permission-named call (``check_permission(user, doc)``), or an ``if`` that raises
    compares an owner column of the object with another value (``if doc.owner_id != caller.id: raise``),
    in the handler after the lookup or in a project function it passes the object to (two calls down)."""
    fn = app.functions.get(route.handler.qualname)
    if fn is None:
        return False
    at = {(s.pos.line, s.pos.col): s for s, _ in fn.calls}
    held: dict[str, int] = {}
    for ld in loads:
        site = at.get((ld.pos.line, ld.pos.col))
        if site is not None and site.assigned_to:
            held.setdefault(site.assigned_to, ld.pos.line)
    if not held:
        return False
    users = user_tables(app, route)
    owners = {c for t in touched if t in tables for c in owner_columns(app, tables[t], users)}
    return _checks_object(app, fn, held, owners, 2)


def _checks_object(app: AppModel, fn, held: dict[str, int], owners: set[str], depth: int) -> bool:
    fact = fn.fact
    for g in fact.guards:
        if not (g.body_raises or g.orelse_raises) or g.pos.line < min(held.values()):
            continue
        for _neg, atom in g.tests:
            if isinstance(atom, CompareFact) and atom.op in ("==", "!=", "is", "is not", "in", "not in"):
                for mine, other in ((atom.left, atom.right), (atom.right, atom.left)):
                    if _owner_of(mine, held, owners) and not isinstance(other, Const) and not _holds(other, held):
                        return True
    for site, target in fn.calls:
        line = site.pos.line
        passed = [(i, a) for i, a in enumerate(site.call.args) if _holds(a, held)] + \
                 [(k, a) for k, a in site.call.kwargs if k and _holds(a, held)]
        if not passed or line < min(held.values()):
            continue
        if PERMISSION_CALL_RE.search(func_name(site.call)):
            return True
        callee = app.functions.get(target or "")
        if callee is None or depth <= 1:
            continue
        params = [p.name for p in callee.fact.params if p.kind in ("positional", "keyword")]
        if params and params[0] in ("self", "cls") and callee.fact.is_method:
            params = params[1:]
        inner = {}
        for key, _a in passed:
            name = params[key] if isinstance(key, int) and key < len(params) else key if isinstance(key, str) else None
            if name in {p.name for p in callee.fact.params}:
                inner[name] = 0
        if inner and _checks_object(app, callee, inner, owners, depth - 1):
            return True
    return False


def _holds(e, held: dict[str, int]) -> bool:
    return isinstance(e, Name) and e.id in held


def _owner_of(e, held: dict[str, int], owners: set[str]) -> bool:
    """``doc.owner_id`` (an owner column of the loaded object, or one named like an owner)."""
    return isinstance(e, Attr) and _holds(e.value, held) and (e.attr in owners or bool(OWNER_NAME_RE.search(e.attr)))


USER_TABLE_NAMES = frozenset({"user", "users", "appuser", "appusers", "useraccount", "useraccounts"})
# names a user table may have when it also holds a login (an email, a password hash): "accounts" is as
# often a billing or payout account
LOGIN_TABLE_NAMES = frozenset({"account", "accounts", "member", "members", "customer", "customers", "profile",
                               "profiles", "person", "people"})
LOGIN_COLUMN_RE = re.compile(r"^(email|email_address|username|hashed_password|password_hash|password)$", re.I)
# a column that names who owns a row, or the tenant it belongs to (a key: ``author`` alone is often a name)
TENANT_NAME_RE = re.compile(r"^(organization|organisation|org|tenant|workspace|household|company|group|team)"
                            r"(_id|_uuid|_uid|id)$", re.I)
# a path parameter that names a tenant: a dependency or middleware that consumes it scopes the request
TENANT_PARAM_RE = re.compile(r"^(organization|organisation|org|tenant|workspace|team|household|group|account)"
                             r"(_id|_uuid|_slug|_name|Id|Slug)?$", re.I)


def _named_user_tables(app: AppModel) -> tuple[frozenset[str], dict[str, str]]:
    """The tables named like users (or like accounts, holding a login), once per model; and table names by
    qualified name."""
    out = set()
    for t in app.tables:
        login = any(LOGIN_COLUMN_RE.match(c.name) for c in t.columns)
        for n in (t.name, t.tablename or ""):
            low = n.lower().replace("_", "")
            if low in USER_TABLE_NAMES or (n[:1].isupper() and n.endswith("User")) or \
                    (low in LOGIN_TABLE_NAMES and login):
                out.add(t.name)
    return frozenset(out), {t.qualname: t.name for t in app.tables}


def user_tables(app: AppModel, route: Route | None = None) -> set[str]:
    """The tables that hold the principal: named like users or accounts, or the type the route's
    principal dependency returns."""
    named, by_qualname = memo(app, _named_user_tables)
    out = set(named)
    if route is not None:
        for p in route.params:
            if p.name in principal_params(route):
                out.update(by_qualname[q] for q in p.type_names if q in by_qualname)
    return out


def _tablenames(app: AppModel) -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """The names in the database of the tables of each class name, and every such name."""
    by_name: dict[str, set[str]] = {}
    for t in app.tables:
        by_name.setdefault(t.name, set()).add(t.tablename or t.name)
    return {n: frozenset(v) for n, v in by_name.items()}, frozenset(t.tablename or t.name for t in app.tables)


def owner_columns(app: AppModel, table: Table, users: set[str]) -> list[str]:
    """What makes ``table``'s rows someone's: an owner or tenant column (not a key to another table), a
    foreign key or relationship to a user table, or being the user table itself."""
    if table.name in users:
        return ["(the user row itself)"]
    tablenames, known = memo(app, _tablenames)
    user_tablenames = {name for n in users for name in tablenames.get(n, ())}
    out = []
    for c in table.columns:
        fk_table = (c.foreign_key or "").split(".", 1)[0].strip("'\"") if c.foreign_key else None
        # a key to a user table; to a table the project does not define, its name decides
        to_user = fk_table is not None and (fk_table in user_tablenames or (
            fk_table not in known and fk_table.lower() in USER_TABLE_NAMES))
        owner_named = bool(OWNER_NAME_RE.search(c.name)) and (fk_table is None or fk_table not in known)
        if to_user or owner_named or TENANT_NAME_RE.search(c.name):
            out.append(c.name)  # ``organization_id -> organizations.id``: the tenant, whatever it keys
    for r in table.relationships:
        target = r.target.rsplit(".", 1)[-1]
        if target in users and r.uselist is not True and not r.secondary:
            out.append(r.name)
    return sorted(set(out))


# a column name in a listener's filter (``table.c.tenant_id == tid``, ``lambda cls: cls.org_id == ...``)
_COLUMN_WORD_RE = re.compile(r"\b(\w+)\s*(?:==|\.in_\b)")


@dataclass(frozen=True)
class TenantListener:
    qualname: str
    path: str
    line: int
    columns: frozenset[str]
    select_only: bool  # it returns early for a statement that is not a SELECT (``if not state.is_select``)


def _bulk_statement(app: AppModel, route: Route, owned: set[str]) -> bool:
    """The handler, or a project function it calls (two levels down), builds a bulk ``delete(T)``/``update(T)``
    of one of these tables: a statement that is not a SELECT."""
    for fn in reachable_functions(app, [route.handler.qualname], depth=2).values():
        for site in fn.fact.calls:
            call = site.call
            if func_name(call) in ("delete", "update") and call.args and isinstance(call.args[0], (Name, Attr)) and (
                    (dotted(call.args[0]) or "").rsplit(".", 1)[-1] in owned):
                return True
    return False


def _orm_execute_listeners(app: AppModel) -> Iterator[Function]:
    """The project functions registered for ``do_orm_execute``: decorated (``@event.listens_for(X,
    "do_orm_execute")``) or handed by name to ``event.listen(X, "do_orm_execute", fn)`` in a module or a
    function (a nested one too)."""
    def event_arg(call: Call) -> bool:
        return any(isinstance(a, Const) and a.value == "do_orm_execute" for a in call.args)

    for fn in app.functions.values():
        if any(isinstance(d.expr, Call) and func_name(d.expr) == "listens_for" and event_arg(d.expr)
               for d in fn.fact.decorators):
            yield fn
    places = [(m.name, m.facts.scope.calls) for m in app.modules]
    places += [(fn.qualname, fn.fact.scope.calls) for fn in app.functions.values()]
    for owner, calls in places:
        for site in calls:
            call = site.call
            if func_name(call) != "listen" or not event_arg(call) or len(call.args) < 3:
                continue
            name = dotted(call.args[2])
            found = app.functions.get(f"{owner}.{name}") if name else None
            if found is None and name and owner in app.functions:  # nested in a function of the module
                found = app.functions.get(f"{app.functions[owner].module}.{name}")
            if found is not None:
                yield found


def tenant_listener(app: AppModel) -> TenantListener | None:
    """A listener the project registers for every ORM statement a session runs
    (``@event.listens_for(Session, "do_orm_execute")``, on a sessionmaker or engine too) that rewrites the
    statement (``state.statement = ...``) with a filter on a tenant column (``stmt.where(table.c.tenant_id ==
    tid)``, ``with_loader_criteria(...)``): every SELECT of a table that has that column is scoped to the
    caller's tenant, ``session.get(Model, id)`` included. The columns it filters on, named like a tenant."""
    for fn in _orm_execute_listeners(app):
        if not any(a.target.endswith(".statement") for a in fn.fact.scope.assigns):
            continue  # it only looks at the statement
        words = {chain.rsplit(".", 1)[-1] for chain in fn.fact.attributes}
        words |= {c.left.attr for c in fn.fact.compares if isinstance(c.left, Attr)}
        for site in fn.fact.calls:
            if func_name(site.call) == "with_loader_criteria":
                words |= set(_COLUMN_WORD_RE.findall(render(site.call, 400)))
        columns = frozenset(w for w in words if TENANT_NAME_RE.search(w))
        if columns:
            select_only = any(chain.endswith(".is_select") for chain in fn.fact.attributes)
            return TenantListener(fn.qualname, fn.path, fn.fact.pos.line, columns, select_only)
    return None


@register
class ObjectIdWithoutOwnerCheck(Rule):
    code = "FAL403"
    name = "object-id-without-owner-check"
    summary = ("An authenticated route loads, changes or deletes the object an id names, and the caller never "
               "scopes the lookup or checks ownership or role")
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "when the loaded table cannot be resolved, so whether the object has an owner "
                                       "is unclear, or a global ORM listener scopes every SELECT of its tenant "
                                       "column to the caller's tenant"}
    confidence = Confidence.MEDIUM
    cwe = ("CWE-639",)
    owasp = ("API1:2023",)
    security_severity = 6.5

    def check(self, app: AppModel) -> Iterator[Finding]:
        tables = {t.name: t for t in app.tables}
        project_loads: dict[str, tuple[bool, frozenset[str]]] = {}
        listed: dict[str, Route] | None = None
        for route in unique_routes(app):
            if route.kind != "http" or not route.auth.via or route.privileged or privileged(app, route):
                continue
            if shared_secret_only(app, route):
                continue  # a service holding the deployment's token sees every object by design: no owner to check
            if all(v.kind == "handler" for v in route.auth.via) and verifies_signature(app, route):
                # a webhook ingress: the handler verifies the delivery's signature itself (often against the
                # target's own secret, after the lookup); the sender is a provider, no user who owns objects
                continue
            own = {p.name for p in route.handler.fact.params}
            ids = {p for p in route.path_params if ID_PARAM_RE.search(p) and p in own}
            ids |= {p.name for p in route.params
                    if p.source == "query" and ID_PARAM_RE.search(p.name) and p.name in own}
            if ids and _oauth_callback(route):
                ids = {i for i in ids if not OAUTH_CLIENT_PARAM_RE.search(i)}  # the flow's client, not an object
            if not ids:
                continue
            deps = list(dependency_functions(app, route))
            # a dependency that also takes the id or the tenant (``Depends(get_owned_item)``,
            # ``Depends(org_member)``) is where the check usually lives
            path_params = set(route.path_params)
            if any(path_params & {p.name for p in f.fact.params} for f in deps):
                continue
            if any(TENANT_PARAM_RE.match(p) and p not in own for p in path_params):
                continue  # ``/{organization}/...`` consumed out of the handler: a tenant-scoped session
            loads = find_loads(app, route, ids, tables, project_loads)
            if not loads:
                continue
            flow = route_flow(app, route)
            if flow.checked:
                continue
            touched = {t for ld in loads for t in ld.tables}
            if _object_checked(app, route, loads, touched, tables):
                continue
            if set(route.methods) <= SAFE_METHODS:
                if listed is None:
                    listed = listed_to_all(app, tables, project_loads)
                if touched and touched <= set(listed):
                    continue  # a collection route hands these rows to every caller: reading one by id is no leak
            users = user_tables(app, route)
            owned = {t: owner_columns(app, tables[t], users) for t in sorted(touched)}
            owned = {t: cols for t, cols in owned.items() if cols}
            if touched and not owned:
                continue  # a shared resource (no owner, tenant or user link): nothing to scope by
            listener = memo(app, tenant_listener)
            # only the tenant owns the rows (a user column besides it still makes them someone's within it),
            # and the listener sees the statement (one that only filters SELECTs misses a bulk ``delete(T)``)
            scoped = listener is not None and all(set(cols) <= listener.columns for cols in owned.values()) and not (
                listener.select_only and _bulk_statement(app, route, set(owned)))
            yield self._finding(route, ids, loads[0], flow, owned, tables, listener if scoped else None)

    def _finding(self, route: Route, ids: set[str], first: Load, flow: Flow, owned: dict[str, list[str]],
                 tables: dict[str, Table], listener: TenantListener | None = None) -> Finding:
        id_text = ", ".join(f"`{i}`" for i in sorted(ids))
        kinds = route.auth.kinds
        related = [Related(route.registered.path, route.registered.line,
                           f"`{','.join(route.methods)} {route.path}` registered here")]
        for v in route.auth.via[:1]:
            related.append(Related(v.path, v.line, f"the caller is authenticated here ({v.describe()})"))
        noops = flow.of("noop")
        on_request = bool(flow.sources) and all(s.how.startswith("the request") for s in flow.sources)
        if flow.sources and (noops or not on_request):
            src = flow.sources[0]
            held = src.name.rsplit(".", 1)[0] if src.how.startswith("the request") else src.name
            who = f"the current user (`{held}`, from {src.how})"
            if noops:
                u = noops[0]
                related.append(Related(u.path, u.line, f"`{held}` only reaches this: {u.what}"))
                missing = f"{who} is never checked against it: {noops[0].describe()}"
            else:
                missing = f"{who} is never used to scope or check it"
        elif any(k in ("scheme", "dependency") for k in kinds) and not on_request:
            missing = "the handler never receives the current user (auth only runs as a dependency)"
        else:
            missing = f"the handler never reads who is calling (auth runs in a {' and a '.join(kinds)})"
        if owned:
            t, cols = next(iter(owned.items()))
            owner_text = (f"; `{t}` is the user table itself" if cols == ["(the user row itself)"]
                          else f"; `{t}` is owned through {', '.join(f'`{c}`' for c in cols)}")
            for name in owned:
                related.append(Related(tables[name].path, tables[name].line, f"table `{name}`"))
            severity, confidence = Severity.WARNING, Confidence.MEDIUM
        else:
            owner_text = "; the loaded table is not resolved, so whether it has an owner is unclear"
            severity, confidence = Severity.INFO, Confidence.LOW
        reach = "any authenticated caller can reach any id"
        if listener is not None:
            # the project's global ORM listener adds the tenant filter to the lookup: only the caller's own
            # tenant's rows are reachable, by any of its users
            cols = ", ".join(f"`{c}`" for c in sorted(listener.columns))
            reach = (f"the session's `do_orm_execute` listener `{listener.qualname.rsplit('.', 1)[-1]}` filters every "
                     f"SELECT on {cols}, so any logged-in user of the caller's tenant can reach any id in it")
            related.append(Related(listener.path, listener.line, "the tenant filter is added to every SELECT here"))
            severity, confidence = Severity.INFO, Confidence.LOW
        return self.finding(
            route.handler.path, first.pos.line, first.pos.col,
            f"`{','.join(route.methods)} {route.path}` (`{handler_name(route)}`) loads the object named by "
            f"{id_text} with {first.what} but {missing}{owner_text}: {reach}",
            help="scope the lookup to the caller (`select(Order).where(Order.id == order_id, Order.owner_id == "
                 "current_user.id)`), or compare after loading and reject (`if order.owner_id != user.id: raise "
                 "HTTPException(404)`), or gate the route on a role; for a shared resource, suppress with "
                 "`# noqa: FAL403`",
            related=related,
            entity=route_entity(route),
            severity=severity,
            confidence=confidence,
        )
