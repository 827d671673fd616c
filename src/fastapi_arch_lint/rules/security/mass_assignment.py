"""FAL525 mass-assignment."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.index import table_named
from fastapi_arch_lint.analysis.names import is_password_column
from fastapi_arch_lint.analysis.taint import Context, Source, contexts
from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Table
from fastapi_arch_lint.model.facts import CallSite
from fastapi_arch_lint.model.expr import Attr, Const, render
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import find_table, pydantic_model

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


def _owned(app: AppModel, foreign_key: str, privileged: set[str]) -> bool:
    """The table ``foreign_key`` (``projects.id``) points to has an owner or tenant column: its rows belong to someone."""
    name = foreign_key.split(".", 1)[0]
    for t in app.tables:
        if t.tablename == name:
            return any(c.name.lower() in OWNER_COLUMNS for c in t.columns)
    return False


@register
class MassAssignment(Rule):
    code = "FAL525"
    name = "mass-assignment"
    summary = "A request model with privileged fields (`is_admin`, `role`, `owner_id`...) is written wholesale onto an ORM object"
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "when a request model carries an unchecked foreign key to records that have an owner (medium confidence)"}
    cwe = ("CWE-915",)
    owasp = ("API3:2023",)
    security_severity = 8.1
    default_options = {
        "privileged-fields": ["is_superuser", "is_admin", "is_staff", "is_active", "is_verified", "email_verified",
                              "verified", "role", "roles", "permissions", "scopes", "groups", "owner_id", "user_id",
                              "tenant_id", "organization_id", "balance", "credits", "plan", "tier", "is_premium",
                              "approved", "is_approved"],
    }

    def check(self, app: AppModel) -> Iterator[Finding]:
        privileged = {p.lower() for p in self.options["privileged-fields"]}
        reported: set[tuple[str, int]] = set()
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
                if hit is None and dump_iterated is not None and (target or render(func)) in ("builtins.setattr", "setattr") \
                        and len(call.args) >= 2 and not isinstance(call.args[1], Const):
                    hit = (dump_iterated, f"`setattr({render(call.args[0], 30)}, {render(call.args[1], 20)}, ...)` in a loop "
                                          f"over {'the dumped request model' if dump_iterated.shape == 'dump' else 'the client’s dict'}")
                if hit is None:
                    continue
                src, how = hit
                key = (fn.path, line)
                if key in reported:
                    continue
                set_here = self._set_by_server(fn, site)
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
                model = pydantic_model(app, src.model or "")
                mname = model.name if model else (src.model or "").rsplit(".", 1)[-1]
                names = ", ".join(f"`{f}`" for f in fields)
                related: list[Related] = []
                if model is not None:
                    for f in fields:
                        mf = model.field(f)
                        if mf is not None:
                            related.append(Related(model.path, mf.line, f"`{mname}.{f}` is accepted from the client"))
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
        read: set[str] = set(ctx.function.fact.attributes)
        for f_, _ in ctx.trail:
            read |= f_.fact.attributes
        handler = app.function(ctx.route.handler.qualname)
        if handler is not None:
            read |= handler.fact.attributes
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

    @staticmethod
    def _admin_route(ctx: Context) -> bool:
        r = ctx.route
        names = [d.name for d in r.dependencies] + [v.name for v in r.auth.via]
        for n in names:
            short = n.rsplit(".", 1)[-1]
            parent = n.rsplit(".", 1)[0]
            if ADMIN_GATE.search(short) or (parent in ctx.app.functions and ADMIN_GATE.search(parent.rsplit(".", 1)[-1])):
                return True
        return False

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
