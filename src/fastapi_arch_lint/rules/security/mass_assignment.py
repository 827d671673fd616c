"""FAL525 mass-assignment."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.index import table_named
from fastapi_arch_lint.analysis.taint import Context, Source, contexts
from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Attr, Const, render
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import find_table, pydantic_model

# a route gated by one of these dependencies is an admin tool: writing privileged fields is its job
ADMIN_GATE = re.compile(r"(?i)(admin|superuser|staff)")
MODEL_FACTORIES = frozenset({"model_validate", "from_orm", "parse_obj", "validate", "model_construct"})


@register
class MassAssignment(Rule):
    code = "FAL525"
    name = "mass-assignment"
    summary = "A request model with privileged fields (`is_admin`, `role`, `owner_id`...) is written wholesale onto an ORM object"
    severity = Severity.ERROR
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
                        if stars == "**" and s is not None and s.shape in ("dump", "model"):
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
                        if t is not None and s is not None and s.shape in ("dump", "model"):
                            hit = (s, f"`{render(func, 40)}({render(call.args[0], 40)})`")
                # ``for k, v in payload.model_dump().items(): setattr(obj, k, v)``
                if hit is None and dump_iterated is not None and (target or render(func)) in ("builtins.setattr", "setattr") \
                        and len(call.args) >= 2 and not isinstance(call.args[1], Const):
                    hit = (dump_iterated, f"`setattr({render(call.args[0], 30)}, {render(call.args[1], 20)}, ...)` in a loop "
                                          f"over the dumped request model")
                if hit is None:
                    continue
                src, how = hit
                fields = self._privileged(app, src, privileged)
                key = (fn.path, line)
                if not fields or key in reported:
                    continue
                reported.add(key)
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
    def _privileged(app: AppModel, src: Source, privileged: set[str]) -> list[str]:
        model = pydantic_model(app, src.model or "")
        if model is None:
            return []
        out = []
        for f in model.fields:
            if f.name.lower() not in privileged or f.name in src.excluded:
                continue
            if src.included is not None and f.name not in src.included:
                continue
            out.append(f.name)
        return out

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
                if s is not None and s.shape == "dump":
                    return s
        return None
