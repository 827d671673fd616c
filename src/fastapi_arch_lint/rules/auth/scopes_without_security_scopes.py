"""FAL406 scopes-without-security-scopes."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, unique_routes
from fastapi_arch_lint.rules.auth._common import handler_name, short


@register
class ScopesWithoutSecurityScopes(Rule):
    code = "FAL406"
    name = "scopes-without-security-scopes"
    summary = "`Security(dep, scopes=[...])` where no dependency takes `SecurityScopes`: the scopes are never checked"
    severity = Severity.WARNING
    cwe = ("CWE-285",)
    owasp = ("API5:2023",)
    security_severity = 7.1

    def check(self, app: AppModel) -> Iterator[Finding]:
        for route in unique_routes(app):
            scoped = [d for d in route.dependencies if d.scopes and d.security and d.kind != "scheme"]
            # only a security scheme's scopes go through ``SecurityScopes``; ``@requires("admin")`` and
            # ``@require_roles("admin")`` check their own
            scoped_vias = [v for v in route.auth.via if v.scopes and v.kind == "scheme"]
            if not scoped and not scoped_vias:
                continue
            if any(p.source == "security_scopes" for p in route.params):
                continue
            if any(d.kind == "unknown" for d in scoped):
                continue  # ``Security(obj.auth, scopes=[...])`` whose callable cannot be read may take them
            scopes = sorted({s for d in scoped for s in d.scopes} | {s for v in scoped_vias for s in v.scopes})
            top = min(scoped, key=lambda d: d.depth) if scoped else None
            dep = short(top.name) if top else scoped_vias[0].name
            # point at the handler parameter that carries ``Security(...)`` when there is one
            line, col, path = route.registered.line, route.registered.col, route.registered.path
            if top is not None and top.level == "param":
                for p in route.params:
                    own = route.handler.fact.param(p.name)
                    if p.source == "security" and p.dependency == top.name and own is not None:
                        line, col, path = own.pos.line, own.pos.col, route.handler.path
                        break
            related = []
            if top is not None:
                related.append(Related(top.path, top.line, f"`{dep}` takes no `SecurityScopes` parameter"))
            yield self.finding(
                path, line, col,
                f"`{route.display()}` (`{handler_name(route)}`) asks for scopes "
                f"{', '.join(f'`{s}`' for s in scopes)} through `{dep}`, but no dependency on its chain takes "
                f"`SecurityScopes`: FastAPI only documents the scopes, nothing checks them",
                help="add `security_scopes: SecurityScopes` to the dependency that decodes the token and raise 401/403 "
                     "when a scope in `security_scopes.scopes` is missing from the token's scopes",
                related=related,
                entity=route_entity(route),
            )
