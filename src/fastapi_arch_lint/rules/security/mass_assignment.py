"""FAL525 mass-assignment."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from fastapi_arch_lint.analysis.calls import reached_functions
from fastapi_arch_lint.analysis.index import route_entity, table_named
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.analysis.names import is_password_column
from fastapi_arch_lint.analysis.taint import Context, Flow, Source, contexts
from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Route, Table
from fastapi_arch_lint.model.facts import CallSite, CompareFact
from fastapi_arch_lint.model.expr import Attr, Call, Const, DictExpr, Expr, Name, dotted, render, walk
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import find_table, pydantic_model
from fastapi_arch_lint.rules.auth._common import dependency_functions
from fastapi_arch_lint.rules.auth._roles import Seen, role_check_in
from fastapi_arch_lint.rules.security._privileged_query import query_writes

# a route gated by one of these dependencies is an admin tool: writing privileged fields is its job
ADMIN_GATE = re.compile(r"(?i)(admin|superuser|staff)")
MODEL_FACTORIES = frozenset({"model_validate", "from_orm", "parse_obj", "validate", "model_construct"})
# privileged only on the table of a principal (an account that logs in): ``is_active`` on a contact
# or a service record is an ordinary attribute, on a user it decides who may log in
PRINCIPAL_STATE = frozenset({"is_active", "is_verified", "email_verified", "verified", "approved", "is_approved"})
# columns that say whose a row is
OWNER_COLUMNS = frozenset({"owner_id", "user_id", "tenant_id", "organization_id", "org_id", "account_id",
                           "team_id", "workspace_id", "created_by_id", "author_id"})
# the type of a body parameter that is the client's JSON object as it came: any key, any value
DICT_TYPES = frozenset({"builtins.dict", "typing.Dict", "typing.Mapping", "collections.abc.Mapping",
                        "typing.MutableMapping", "collections.abc.MutableMapping"})
DICT_VALUE_TYPES = frozenset({"builtins.str", "typing.Any", "builtins.object", "builtins.int", "builtins.float",
                              "builtins.bool", "builtins.list", "typing.Union", "typing.Optional"})


def _names(e: Expr | None) -> set[str]:
    out: set[str] = set()
    for x in walk(e) if e is not None else ():
        if isinstance(x, Name):
            out.add(x.id)
    return out


def _object_table(app: AppModel, fn: Function, obj: Expr, line: int) -> Table | None:
    """The table of the ORM object ``obj`` names, when the function says: a parameter annotated with the table
    class, or a local assigned from ``db.get(Table, ...)``, ``select(Table)...`` or a project function annotated
    to return the table."""
    if not isinstance(obj, Name):
        return None
    p = fn.fact.param(obj.id)
    if p is not None and p.annotation is not None:
        for n in sorted(_names(p.annotation) | {dotted(p.annotation) or ""}):
            t = table_named(app, n, fn.module) if n else None
            if t is not None:
                return t
        return None
    targets = {(s.call.line, s.call.col): t for s, t in fn.calls}
    for a in reversed(fn.fact.scope.assigns):
        if a.target != obj.id or a.pos.line > line or a.value is None:
            continue
        for x in walk(a.value):
            if not isinstance(x, Call):
                continue
            target = targets.get((x.line, x.col))
            callee = app.functions.get(target) if target else None
            if callee is not None and callee.fact.returns is not None:
                for n in sorted(_names(callee.fact.returns)):
                    t = table_named(app, n, callee.module)
                    if t is not None:
                        return t
            for arg in x.args[:1]:
                if isinstance(arg, Name):
                    t = table_named(app, arg.id, fn.module)
                    if t is not None:
                        return t
        return None
    return None


def _read_attrs(app: AppModel, ctx: Context) -> set[str]:
    """Attribute chains read on the request path (the function, the calls that led to it, the handler):
    ``payload.project_id`` read there is taken as the code looking at the field (checking it); so is a key
    read of a dict (``changes["project_id"]``, ``changes.get("project_id")``), as ``changes.project_id``."""
    fns = [ctx.function, *(f_ for f_, _ in ctx.trail)]
    handler = app.function(ctx.route.handler.qualname)
    if handler is not None:
        fns.append(handler)
    read: set[str] = set()
    for f_ in fns:
        read |= f_.fact.attributes
        read |= {f"{base}.{key}" for base, key in f_.fact.subscripts}
        for site in f_.fact.calls:
            c = site.call
            if isinstance(c.func, Attr) and c.func.attr == "get" and c.args and isinstance(c.args[0], Const) \
                    and isinstance(c.args[0].value, str):
                read.add(f"{render(c.func.value)}.{c.args[0].value}")
    return read


def _tested_fields(atom: CompareFact | Expr, carries: Callable[[Expr], bool]) -> set[str]:
    """Fields of the request data an ``if`` test reads: ``payload.role``, ``payload.get("role")``,
    ``"role" in payload`` (or ``in payload.keys()``)."""
    out: set[str] = set()
    exprs = [atom.left, atom.right] if isinstance(atom, CompareFact) else [atom]
    if isinstance(atom, CompareFact) and atom.op in ("in", "not in") and isinstance(atom.left, Const) \
            and isinstance(atom.left.value, str):
        right = atom.right
        if isinstance(right, Call) and isinstance(right.func, Attr) and right.func.attr == "keys":
            right = right.func.value
        if carries(right):
            out.add(atom.left.value)
    for e in exprs:
        for x in walk(e):
            if isinstance(x, Attr) and carries(x.value):
                out.add(x.attr)
            elif isinstance(x, Call) and isinstance(x.func, Attr) and x.func.attr == "get" and x.args \
                    and isinstance(x.args[0], Const) and isinstance(x.args[0].value, str) and carries(x.func.value):
                out.add(x.args[0].value)
    return out


def _bound_argument(site: CallSite, callee: Function, param: str) -> Expr | None:
    """The argument ``site`` passes to ``callee``'s parameter ``param`` (``self``/``cls`` skipped)."""
    found = site.call.kwarg(param)
    if found is not None:
        return found
    positional = [p.name for p in callee.fact.params if p.kind == "positional"]
    if callee.fact.is_method and positional and positional[0] in ("self", "cls"):
        positional = positional[1:]
    if param in positional and positional.index(param) < len(site.call.args):
        return site.call.args[positional.index(param)]
    return None


def _parents(app: AppModel, ctx: Context) -> list[tuple[Function, Flow, int]]:
    """The function of ``ctx`` and each one on the way from the handler, with its flow and the line up to
    which it runs before the copy (the copy's own line in ``ctx``'s function, the call that led on in the
    others), innermost first."""
    index = memo(app, _context_index)
    out: list[tuple[Function, Flow, int]] = []
    trail = ctx.trail
    cur: Context | None = ctx
    while cur is not None and trail:
        parent_fn, site = trail[-1]
        trail = trail[:-1]
        cur = index.get(_context_key(ctx.route, parent_fn, trail))
        if cur is not None:
            out.append((parent_fn, cur.flow, site.pos.line))
    return out


def _context_key(route: Route, fn: Function, trail: tuple[tuple[Function, CallSite], ...]) -> tuple:
    return (route_entity(route), fn.qualname, tuple((f.qualname, s.pos.line, s.pos.col) for f, s in trail))


def _context_index(app: AppModel) -> dict[tuple, Context]:
    out: dict[tuple, Context] = {}
    for c in contexts(app):
        out.setdefault(_context_key(c.route, c.function, c.trail), c)
    return out


def _accepted(app: AppModel, src: Source, fields: list[str]) -> tuple[str, str, list[Related]]:
    """The request model's name, ``fields`` listed for a message, and where each is declared."""
    model = pydantic_model(app, src.model or "")
    mname = model.name if model else (src.model or "").rsplit(".", 1)[-1]
    related: list[Related] = []
    if model is not None:
        for f in fields:
            mf = model.field(f)
            if mf is not None:
                related.append(Related(model.path, mf.line, f"`{mname}.{f}` is accepted from the client"))
    return mname, ", ".join(f"`{f}`" for f in fields), related


def _admin_gated(app: AppModel, route: Route) -> bool:
    """A dependency whose name says it admits administrators only (``require_admin``, ``get_current_superuser``)."""
    names = [d.name for d in route.dependencies] + [v.name for v in route.auth.via]
    for n in names:
        short = n.rsplit(".", 1)[-1]
        parent = n.rsplit(".", 1)[0]
        if ADMIN_GATE.search(short) or (parent in app.functions and ADMIN_GATE.search(parent.rsplit(".", 1)[-1])):
            return True
    return False


def _owned(app: AppModel, foreign_key: str, privileged: set[str]) -> bool:
    """The table ``foreign_key`` (``projects.id``) points to has an owner or tenant column: its rows belong to someone."""
    name = foreign_key.split(".", 1)[0]
    for t in app.tables:
        if t.tablename == name:
            return any(c.name.lower() in OWNER_COLUMNS for c in t.columns)
    return False


# tables whose rows are grants (a role, a group, a permission set, a policy), and the fields they grant with
GRANT_TABLE_WORDS = frozenset({"role", "roles", "group", "groups", "permission", "permissions", "policy", "policies",
                               "acl", "acls"})
GRANT_FIELDS = frozenset({"permissions", "scopes", "roles", "groups"})
_WORD_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
CHECK_DEPTH = 3  # project calls below the handler and its dependencies searched for a permission check


def _granted_by_rows(table: Table | None, fields: list[str]) -> list[str]:
    """The fields among ``fields`` that a row of ``table`` exists to grant: ``permissions`` on a role, a group or a
    policy table (``TeamRole``, ``user_groups``), which is no principal (no password column): the copied
    privilege is the record's content, not a flag on the caller's own account."""
    if table is None or any(is_password_column(c.name) for c in table.columns):
        return []
    words = {w.lower() for w in _WORD_RE.findall(table.name)} | set((table.tablename or "").lower().split("_"))
    if not words & GRANT_TABLE_WORDS:
        return []
    return [f for f in fields if f.lower() in GRANT_FIELDS]


def _permission_check(app: AppModel, route: Route) -> Seen | None:
    """A role or permission check on the route's path: the model's privileged dependency, or an ``if`` on a
    privilege that rejects (``if not has_permission(perms, "roles:create"): raise HTTPException(403)``) in the
    handler, its dependencies or the project functions they call (``CHECK_DEPTH`` levels down)."""
    if route.privileged:
        return Seen(route.privileged, route.registered.path, route.registered.line)
    handler = app.functions.get(route.handler.qualname)
    starts = [*([handler] if handler is not None else []), *dependency_functions(app, route)]
    for start in starts:
        for fn in reached_functions(app, start, CHECK_DEPTH):
            found = role_check_in(fn, app.functions)
            if found is not None:
                return found
    return None


def _key_columns(app: AppModel) -> tuple[frozenset[str], frozenset[str]]:
    """The names of the project's foreign-key columns, and of its foreign- and primary-key columns."""
    fks = frozenset(c.name for t in app.tables for c in t.columns if c.foreign_key)
    return fks, fks | frozenset(c.name for t in app.tables for c in t.columns if c.primary_key)


@register
class MassAssignment(Rule):
    code = "FAL525"
    name = "mass-assignment"
    summary = "A request model with privileged fields (`is_admin`, `role`, `owner_id`...) is written wholesale onto an ORM object"
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "with medium confidence, when a request model carries an unchecked foreign key "
                                          "to records that have an owner, a loop of `setattr` copies a row's id or "
                                          "foreign keys from the request, a query parameter such as `status` is "
                                          "written onto a row, or a role, group or policy table's grants "
                                          "(`permissions`) are copied where no permission check is seen"}
    cwe = ("CWE-915",)
    owasp = ("API3:2023",)
    security_severity = 8.1
    default_options = {
        "privileged-fields": ["is_superuser", "is_admin", "is_staff", "is_active", "is_verified", "email_verified",
                              "verified", "role", "roles", "permissions", "scopes", "groups", "owner_id", "user_id",
                              "tenant_id", "organization_id", "balance", "credits", "plan", "tier", "is_premium",
                              "approved", "is_approved"],
        # query parameters that must not reach a row (globs); the names of ``privileged-fields`` count too
        "privileged-query-parameters": ["status", "internal_*"],
    }

    def check(self, app: AppModel) -> Iterator[Finding]:
        privileged = {p.lower() for p in self.options["privileged-fields"]}
        reported: set[tuple[str, int]] = set()
        yield from self._query_writes(app, privileged, reported)
        for ctx in contexts(app):
            if self._admin_route(ctx):
                continue
            flow = ctx.flow
            fn = ctx.function
            dump_iterated = self._dump_iterated(ctx)
            for site, target in fn.calls:
                call = site.call
                line = site.pos.line
                hit: tuple[Source, str] | None = None
                # ``Item(**payload.model_dump())`` / ``Item(**data)``
                table = table_named(app, target, fn.module) if target and find_table(app, target) is not None else None
                if table is not None:
                    for stars, value in site.spread:
                        s = flow.raw(value, line)
                        if stars == "**" and s is not None and (s.shape in ("dump", "model") or self._raw_body(ctx, s)):
                            hit = (s, f"`{table.name}(**{render(value, 40)})`")
                            break
                func = call.func
                if hit is None and isinstance(func, Attr):
                    # ``item.sqlmodel_update(payload)`` / ``item.sqlmodel_update(payload.model_dump())``
                    if func.attr == "sqlmodel_update" and call.args:
                        s = flow.raw(call.args[0], line)
                        if s is not None and s.shape in ("dump", "model"):
                            hit = (s, f"`{render(func, 40)}({render(call.args[0], 40)})`")
                    # ``Item.model_validate(payload)`` into a table model
                    elif func.attr in MODEL_FACTORIES and call.args:
                        owner = render(func.value)
                        t = table_named(app, owner, fn.module)
                        s = flow.raw(call.args[0], line)
                        if t is not None and s is not None and (s.shape in ("dump", "model") or self._raw_body(ctx, s)):
                            hit = (s, f"`{render(func, 40)}({render(call.args[0], 40)})`")
                            table = t
                # ``for k, v in payload.model_dump().items(): setattr(obj, k, v)``
                loop = False
                if hit is None and dump_iterated is not None and (target or render(func)) in ("builtins.setattr", "setattr") \
                        and len(call.args) >= 2 and not isinstance(call.args[1], Const) \
                        and not self._keys_filtered(fn, call.args[1], dump_iterated) \
                        and not self._own_keys(app, ctx, privileged):
                    loop = True
                    hit = (dump_iterated, f"`setattr({render(call.args[0], 30)}, {render(call.args[1], 20)}, ...)` in a loop "
                                          f"over {'the dumped request model' if dump_iterated.shape == 'dump' else 'the client’s dict'}")
                if hit is None:
                    continue
                src, how = hit
                key = (fn.path, line)
                if key in reported:
                    continue
                set_here = self._set_by_server(fn, site) | self._handled(app, ctx, site, src)
                if self._raw_body(ctx, src):
                    # the client's JSON object as it came: every column is the client's to set
                    reported.add(key)
                    cols = [c.name for c in table.columns if c.primary_key or c.foreign_key
                            or c.name.lower() in privileged] if table is not None else []
                    cols = [c for c in cols if c not in set_here]
                    listed = (", including " + ", ".join(f"`{c}`" for c in cols[:5])) if cols else ""
                    yield self.finding(
                        fn.path, line, site.pos.col,
                        f"{how} copies a plain `dict` from {src.text()} of `{ctx.route.display()}` onto the "
                        f"{'table' if table is not None else 'object'}: the client chooses the keys, so it can set "
                        f"any column{listed}",
                        help="declare a request model with only the fields a client may set and copy those "
                             "(`Item(**payload.model_dump())` of that model, or explicit assignments); set ids, owners "
                             "and privileges on the server",
                        related=ctx.related(), entity=ctx.entity(),
                        end_line=site.pos.end_line, end_col=site.pos.end_col,
                    )
                    continue
                fields = [f for f in self._privileged(app, src, privileged, table) if not self._covered(f, set_here)]
                keys = [] if table is None else [f for f in self._key_fields(app, ctx, src, table, privileged)
                                                  if not self._covered(f, set_here)]
                granted = _granted_by_rows(table, fields)
                unchecked_grants: list[str] = []
                if granted:
                    # a role's permissions on a role table: what the route exists to set; who may is the question
                    fields = [f for f in fields if f not in granted]
                    if _permission_check(app, ctx.route) is None:
                        unchecked_grants = granted
                if unchecked_grants and not fields and not keys:
                    reported.add(key)
                    yield self._grants_finding(app, ctx, site, how, src, table, unchecked_grants)
                    continue
                fields += unchecked_grants  # beside other privileged fields: reported with them
                if not fields and not keys and loop:
                    read = _read_attrs(app, ctx)
                    moved = [f for f in self._row_keys(app, fn, call.args[0], src, site.pos.line)
                             if not self._covered(f, set_here) and not any(r.endswith("." + f) for r in read)]
                    if moved:
                        reported.add(key)
                        yield self._moved_finding(app, ctx, site, how, src, moved)
                    continue
                if not fields and not keys:
                    continue
                reported.add(key)
                if not fields:
                    model = pydantic_model(app, src.model or "")
                    mname = model.name if model else (src.model or "").rsplit(".", 1)[-1]
                    names = ", ".join(f"`{f}`" for f in keys)
                    yield self.finding(
                        fn.path, line, site.pos.col,
                        f"{how} copies every field of `{mname}` from {src.text()} of `{ctx.route.display()}`, "
                        f"including {names}, a foreign key of `{table.name}` to records that belong to someone, never "
                        "looked at on the way: a client can attach the new row to another owner's record",
                        help=f"check that the record {names} names is the caller's before attaching to it (load it "
                             "scoped to the caller), or take it from the path or the server",
                        related=ctx.related(), entity=ctx.entity(), severity=Severity.WARNING,
                        confidence=Confidence.MEDIUM, end_line=site.pos.end_line, end_col=site.pos.end_col,
                    )
                    continue
                mname, names, related = _accepted(app, src, fields)
                yield self.finding(
                    fn.path, line, site.pos.col,
                    f"{how} copies every field of `{mname}` from {src.text()} of `{ctx.route.display()}`, "
                    f"including {names}: a client can set them",
                    help=f"drop {names} from `{mname}` (a separate admin model can carry them), or copy the allowed "
                         f"fields explicitly / use `model_dump(include={{...}})`; set privileged values on the server",
                    related=(*related, *ctx.related()), entity=ctx.entity(),
                    end_line=site.pos.end_line, end_col=site.pos.end_col,
                )

    @staticmethod
    def _privileged(app: AppModel, src: Source, privileged: set[str], table: Table | None = None) -> list[str]:
        model = pydantic_model(app, src.model or "")
        if model is None:
            return []
        principal = table is not None and any(is_password_column(c.name) for c in table.columns)
        out = []
        for f in model.fields:
            if f.name.lower() not in privileged or f.name in src.excluded:
                continue
            if f.name.lower() in PRINCIPAL_STATE and not principal:
                continue  # ``is_active`` of a contact, a service, a product: not who may log in
            if src.included is not None and f.name not in src.included:
                continue
            out.append(f.name)
        return out

    @staticmethod
    def _key_fields(app: AppModel, ctx: Context, src: Source, table: Table, privileged: set[str]) -> list[str]:
        """Fields of the request model that attach the new row to a record that belongs to someone (a foreign key
        to a table with an owner column), when the code on the request path never looks at the field itself
        (``payload.project_id`` read: to check it, presumably)."""
        model = pydantic_model(app, src.model or "")
        if model is None:
            return []
        read = _read_attrs(app, ctx)
        out = []
        for f in model.fields:
            if f.name in src.excluded or (src.included is not None and f.name not in src.included):
                continue
            if f.name.lower() in privileged or any(r.endswith("." + f.name) for r in read):
                continue
            c = table.column(f.name)
            if c is None:
                continue
            # a client-chosen primary key on a new row collides or does not: not reported
            if c.foreign_key and not c.primary_key and _owned(app, c.foreign_key, privileged):
                out.append(f.name)
        return out

    @staticmethod
    def _set_by_server(fn: Function, site: CallSite) -> set[str]:
        """Names the server sets itself on the object built by this call: keywords of the call
        (``Item(**data, owner=user)``) and attributes assigned to its result afterwards in the same
        function (``item = Item(**data)`` then ``item.owner_id = user.id``)."""
        out = {k for k, _ in site.call.kwargs if k}
        var = site.assigned_to
        if var:
            for a in fn.fact.scope.assigns:
                if a.pos.line > site.pos.line and a.target.startswith(var + ".") and a.target.count(".") == 1:
                    out.add(a.target.split(".", 1)[1])
        return out

    @staticmethod
    def _handled(app: AppModel, ctx: Context, site: CallSite, src: Source) -> set[str]:
        """Fields of the request data that the code on the way deals with before the copy, here or in the
        functions that passed the data on: it overwrites them on the request object (``payload.owner_id =
        user.id``), pops them (``payload.pop("role")``), or rejects a request that carries them (an ``if``
        that reads the field and raises: ``if payload.is_admin and not user.is_admin: raise ...``,
        ``if "role" in payload: raise ...``). After the copy: assigned on the object the copy returned to the
        caller (``item = svc.build(payload)`` then ``item.owner_id = user.id``)."""
        out: set[str] = set()
        levels = [(ctx.function, ctx.flow, site.pos.line), *_parents(app, ctx)]
        for fn, flow, limit in levels:
            def carries(e: Expr, flow: Flow = flow, limit: int = limit) -> bool:
                found = flow.raw(e, limit) if isinstance(e, Name) else None
                return found is not None and found.param == src.param
            for a in fn.fact.scope.assigns:
                if a.pos.line < limit and not a.augmented and a.target.count(".") == 1:
                    base, attr = a.target.split(".")
                    # ``payload.user_id = payload.user_id or user.id`` keeps the client's value; the same name
                    # read off another object (``payload.user_id = current.user_id``) is the server's
                    if carries(Name(base)) and not any(isinstance(x, Attr) and x.attr == attr and carries(x.value)
                                                       for x in walk(a.value)):
                        out.add(attr)
            for cs in fn.fact.calls:
                c = cs.call
                if cs.pos.line < limit and isinstance(c.func, Attr) and c.func.attr == "pop" and c.args \
                        and isinstance(c.args[0], Const) and isinstance(c.args[0].value, str) and carries(c.func.value):
                    out.add(c.args[0].value)
            for g in fn.fact.guards:
                if g.pos.line < limit and g.body_raises:
                    for _negated, atom in g.tests:
                        out |= _tested_fields(atom, carries)
        out |= MassAssignment._set_on_result(app, ctx, site)
        return out

    @staticmethod
    def _set_on_result(app: AppModel, ctx: Context, site: CallSite) -> set[str]:
        """Attributes the caller assigns to the object the copy built and its function returned."""
        fn = ctx.function
        var = site.assigned_to
        returned = any(isinstance(r.value, Call) and (r.value.line, r.value.col) == (site.call.line, site.call.col)
                       or (var and isinstance(r.value, Name) and r.value.id == var) for r in fn.fact.scope.returns)
        if not returned or not ctx.trail:
            return set()
        parent, call = ctx.trail[-1]
        return MassAssignment._set_by_server(parent, call) - {k for k, _ in call.call.kwargs if k}

    @staticmethod
    def _covered(field: str, set_here: set[str]) -> bool:
        """``organization_id`` is set by the server when the call also passes ``organization=`` (its relationship)."""
        return field in set_here or (field.endswith("_id") and field[:-3] in set_here)

    @staticmethod
    def _raw_body(ctx: Context, src: Source) -> bool:
        """The client's JSON object as it came: a body parameter typed ``dict`` or ``await request.json()``."""
        if src.shape != "value":
            return False
        if ".json()" in src.origin:
            return True
        for p in ctx.route.params:
            if p.name == src.param and p.source == "body":
                names = set(p.type_names)
                return bool(names & DICT_TYPES) and names <= DICT_TYPES | DICT_VALUE_TYPES
        return False

    def _query_writes(self, app: AppModel, privileged: set[str], reported: set[tuple[str, int]]) -> Iterator[Finding]:
        """A privileged query parameter (``?is_admin=true``, ``?role=``, ``?status=``) written onto a row."""
        extra = [p.lower() for p in self.options["privileged-query-parameters"]]
        for w in query_writes(app, [*sorted(privileged), *extra], lambda r: _admin_gated(app, r)):
            key = (w.fn.path, w.line)
            if key in reported:
                continue
            reported.add(key)
            name = w.param.alias or w.param.name
            strong = name.lower() in privileged
            related = [Related(w.route.handler.path, w.param.line or w.route.handler.line,
                               f"`{name}` is a query parameter of `{w.route.handler.qualname.rsplit('.', 1)[-1]}`"),
                       Related(w.route.registered.path, w.route.registered.line, f"route `{w.route.display()}`")]
            related += [Related(f.path, site.pos.line, f"`{name}` passed into `{render(site.call.func, 60)}(...)`")
                        for f, site in w.trail]
            onto = f"the `{w.table}` row" if w.table else "the row"
            yield self.finding(
                w.fn.path, w.line, w.col,
                f"{w.how} writes the query parameter `{name}` of `{w.route.display()}` onto {onto}: any caller "
                f"of the route chooses it (`?{name}=...`), and nothing on the way checks the value against the "
                "caller's rights",
                help=f"set `{name}` on the server (from the authenticated principal or a fixed default), or check it "
                     f"(`if {name} not in allowed_for(user): raise HTTPException(403)`); privilege changes belong "
                     "in an admin-only route",
                related=related, entity=f"{w.route.display()} {name}",
                severity=None if strong else Severity.WARNING, confidence=None if strong else Confidence.MEDIUM,
            )

    def _grants_finding(self, app: AppModel, ctx: Context, site: CallSite, how: str, src: Source, table: Table | None,
                        grants: list[str]) -> Finding:
        mname, names, related = _accepted(app, src, grants)
        tname = table.name if table is not None else "the row"
        return self.finding(
            ctx.function.path, site.pos.line, site.pos.col,
            f"{how} copies {names} of `{mname}` from {src.text()} of `{ctx.route.display()}` onto `{tname}`, whose "
            "rows grant them: setting them is what the route is for, but no role or permission check is seen on "
            "its path, so any caller who reaches it can define what a grant allows",
            help="check that the caller may manage these grants before the copy (a permission dependency, "
                 "`check_permission(user, \"roles:create\")`), and that it grants no more than the caller holds",
            related=(*related, *ctx.related()), entity=ctx.entity(), severity=Severity.WARNING,
            confidence=Confidence.MEDIUM, end_line=site.pos.end_line, end_col=site.pos.end_col,
        )

    def _moved_finding(self, app: AppModel, ctx: Context, site: CallSite, how: str, src: Source,
                       moved: list[str]) -> Finding:
        mname, names, related = _accepted(app, src, moved)
        fn = ctx.function
        return self.finding(
            fn.path, site.pos.line, site.pos.col,
            f"{how} writes every field of `{mname}` from {src.text()} of `{ctx.route.display()}` onto an existing "
            f"row, including {names}, a foreign key: a client can move the row under a record of its choosing",
            help=f"exclude {names} from the copy (`model_dump(exclude={{...}})`, or a separate update model "
                 "without them), or filter the keys against an allowlist in the loop",
            related=(*related, *ctx.related()), entity=ctx.entity(), severity=Severity.WARNING,
            confidence=Confidence.MEDIUM, end_line=site.pos.end_line, end_col=site.pos.end_col,
        )

    @staticmethod
    def _row_keys(app: AppModel, fn: Function, obj: Expr, src: Source, line: int) -> list[str]:
        """Fields of the dumped request model that are a foreign key of the row's table (``project_id``), when the
        table of ``obj`` is known; else fields named like a foreign-key column of some table. The primary key is
        left out: update models echo ``id`` back, and rewriting it collides rather than grants anything."""
        model = pydantic_model(app, src.model or "")
        if model is None:
            return []
        table = _object_table(app, fn, obj, line)
        fk_names, _ = memo(app, _key_columns)
        out = []
        for f in model.fields:
            if f.name in src.excluded or (src.included is not None and f.name not in src.included):
                continue
            if table is not None:
                c = table.column(f.name)
                if c is not None and c.foreign_key and not c.primary_key:
                    out.append(f.name)
            elif f.name in fk_names:
                out.append(f.name)
        return out

    @staticmethod
    def _keys_filtered(fn: Function, key: Expr, src: Source) -> bool:
        """``if key in ALLOWED:`` / ``if key not in EDITABLE: continue`` around the loop's ``setattr``: the keys
        are the code's own (a membership test against something other than the request data)."""
        if not isinstance(key, Name):
            return False
        for g in fn.fact.guards:
            for _negated, atom in g.tests:
                if isinstance(atom, CompareFact) and isinstance(atom.left, Name) and atom.left.id == key.id \
                        and atom.op in ("in", "not in") and src.param not in {n.split(".", 1)[0] for n in _names(atom.right)}:
                    return True
        return False

    @staticmethod
    def _own_keys(app: AppModel, ctx: Context, privileged: set[str]) -> bool:
        """The iterated dict is one the code wrote with literal keys, none privileged or a foreign key
        (``svc.update(user.id, {"info": merged})`` into ``for k, v in updated.items(): setattr(row, k, v)``):
        the client's data is in the values only, the keys are the code's own."""
        fn = ctx.function
        fks = memo(app, _key_columns)[1]
        for site, _ in fn.calls:
            func = site.call.func
            if not (isinstance(func, Attr) and func.attr == "items" and not site.call.args
                    and isinstance(func.value, Name)) or ctx.flow.raw(func.value, site.pos.line) is None:
                continue
            name = func.value.id
            written: Expr | None = None
            binds = [a for a in fn.fact.scope.assigns if a.target == name and a.pos.line < site.pos.line]
            if len(binds) == 1 and not binds[0].augmented:
                written = binds[0].value
            elif not binds and ctx.trail:
                written = _bound_argument(ctx.trail[-1][1], fn, name)
            if not isinstance(written, DictExpr) or not written.keys:
                return False
            keys = [k.value if isinstance(k, Const) else None for k in written.keys]
            return all(isinstance(k, str) and k.lower() not in privileged and k not in fks for k in keys)
        return False

    @staticmethod
    def _admin_route(ctx: Context) -> bool:
        return _admin_gated(ctx.app, ctx.route)

    @staticmethod
    def _dump_iterated(ctx: Context) -> Source | None:
        """The dumped request model whose ``.items()`` the function iterates, if any."""
        flow = ctx.flow
        for site, _ in ctx.function.calls:
            func = site.call.func
            if isinstance(func, Attr) and func.attr == "items" and not site.call.args:
                s = flow.raw(func.value, site.pos.line)
                if s is not None and (s.shape == "dump" or MassAssignment._raw_body(ctx, s)):
                    return s
        return None
