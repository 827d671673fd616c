"""FAL524 sensitive-field-in-response."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.index import declaring, table_named
from fastapi_arch_lint.analysis.taint import str_set
from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Route, Table
from fastapi_arch_lint.model.expr import Attr, Call, Expr, Name, dotted, render
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import find_table, pydantic_model, route_entity, route_related, segments, unique_routes

MASKED_TYPES = frozenset({"pydantic.SecretStr", "pydantic.SecretBytes", "pydantic.types.SecretStr"})
# the fields a credential-issuing route exists to return
CREDENTIAL_WORDS = ("token", "api_key", "apikey", "client_secret")


@register
class SensitiveFieldInResponse(Rule):
    code = "FAL524"
    name = "sensitive-field-in-response"
    summary = "A route's response model (or the ORM object it returns) carries a password, secret or token field"
    severity = Severity.ERROR
    cwe = ("CWE-200", "CWE-213")
    owasp = ("API3:2023",)
    security_severity = 7.5
    default_options = {
        "fields": ["password", "passwd", "hashed_password", "password_hash", "secret", "secret_key", "client_secret",
                   "token", "access_token", "refresh_token", "id_token", "api_key", "apikey", "private_key",
                   "otp_secret", "totp_secret", "mfa_secret", "ssn", "salt", "cvv", "card_number"],
        "suffixes": ["_password", "_secret", "_token", "_api_key", "_private_key", "_password_hash"],
        "allow": ["token_type", "page_token", "next_page_token", "prev_page_token", "previous_page_token",
                  "csrf_token"],
        "token-routes": ["login", "token", "tokens", "signin", "sign-in", "refresh", "oauth", "oauth2", "auth",
                         "session", "sessions", "signup", "sign-up", "register", "api-keys", "apikeys", "keys",
                         "credentials"],
    }

    def sensitive(self, name: str) -> bool:
        allow, fields, suffixes, _ = self._lowered()
        n = name.lower()
        if n in allow:
            return False
        return n in fields or n.endswith(suffixes)

    def _lowered(self) -> tuple[frozenset[str], frozenset[str], tuple[str, ...], frozenset[str]]:
        """The options in lower case, once per rule instance (asked for every field of every response)."""
        try:
            return self._lowered_options
        except AttributeError:
            o = self.options
            self._lowered_options = (frozenset(a.lower() for a in o["allow"]), frozenset(f.lower() for f in o["fields"]),
                                     tuple(x.lower() for x in o["suffixes"]), frozenset(w.lower() for w in o["token-routes"]))
            return self._lowered_options

    def issues_credentials(self, route: Route) -> bool:
        words = self._lowered()[3]
        for seg in segments(route.path):
            if seg.startswith("{"):
                continue
            s = seg.lower().replace("_", "-")
            if s in words or any(part in words for part in s.split("-")):
                return True
        return False

    def check(self, app: AppModel) -> Iterator[Finding]:
        for route in unique_routes(app):
            if route.kind != "http":
                continue
            excluded = self._decorator_excludes(route)
            credentials_ok = self.issues_credentials(route)
            hits: list[tuple[str, str, str, int]] = []  # (field path, owner, file, line)
            via = "response model"
            if route.response_model_types:
                for t in route.response_model_types:
                    self._walk_type(app, t, "", hits, set())
            else:
                table = self._returned_table(app, route)
                if table is not None:
                    via = f"returned `{table.name}` object (no response model)"
                    self._walk_table(table, "", hits)
            hits = [h for h in hits if h[0].split(".", 1)[0] not in excluded]
            if credentials_ok:
                hits = [h for h in hits if not any(w in h[0].rsplit(".", 1)[-1].lower() for w in CREDENTIAL_WORDS)]
            if not hits:
                continue
            names = ", ".join(f"`{h[0]}`" for h in hits[:6]) + (" ..." if len(hits) > 6 else "")
            related = [Related(path, line, f"`{owner_}.{fp.rsplit('.', 1)[-1]}` declared here")
                       for fp, owner_, path, line in hits[:6]]
            if via == "response model":
                top = next((t.rsplit(".", 1)[-1] for t in route.response_model_types
                            if pydantic_model(app, t) is not None or find_table(app, t) is not None), "")
                what = f"the response model `{top}`"
            else:
                what = f"the {via}"
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`{route.display()}` sends {names} to the client: {what} exposes "
                f"{'a secret that belongs' if len(hits) == 1 else 'secrets that belong'} only on the server",
                help="return a dedicated output model without the secret fields (`UserPublic` next to the `User` "
                     "table), or mark them `Field(exclude=True)`; a password hash or API secret is never part of a response",
                related=(*related, *route_related(route)), entity=route_entity(route),
            )

    # -- what the route sends ------------------------------------------------
    def _walk_type(self, app: AppModel, qualname: str, prefix: str, hits: list, seen: set[str]) -> None:
        if qualname in seen or len(seen) > 40:
            return
        seen.add(qualname)
        model = pydantic_model(app, qualname)
        if model is not None:
            for f in model.fields:
                path = f"{prefix}{f.name}"
                if f.constraint("exclude") is True or any(t in MASKED_TYPES for t in f.type_names):
                    continue
                if self.sensitive(f.name):
                    owner = declaring(app, model, f.name)
                    hits.append((path, owner.name, owner.path, f.line))
                    continue
                for t in f.type_names:
                    if t.startswith("builtins.") or t.startswith("typing."):
                        continue
                    self._walk_type(app, t, f"{path}.", hits, seen)
            return
        table = find_table(app, qualname)
        if table is not None:
            self._walk_table(table, prefix, hits)

    def _walk_table(self, table: Table, prefix: str, hits: list) -> None:
        for c in table.columns:
            if self.sensitive(c.name):
                hits.append((f"{prefix}{c.name}", table.name, table.path, c.line))

    def _decorator_excludes(self, route: Route) -> frozenset[str]:
        for d in route.handler.fact.decorators:
            if d.pos.line == route.registered.line and isinstance(d.expr, Call):
                found = str_set(d.expr.kwarg("response_model_exclude"))
                if found:
                    return found
        return frozenset()

    def _returned_table(self, app: AppModel, route: Route) -> Table | None:
        """The table class a handler without a response model returns, when it can be told."""
        if route.response_class is not None:
            return None
        fn = app.function(route.handler.qualname)
        if fn is None:
            return None
        module = fn.module
        if route.handler.fact.returns is not None:
            name = dotted(route.handler.fact.returns)
            if name:
                return table_named(app, name, module)
        targets = {(s.call.line, s.call.col): t for s, t in fn.calls}
        assigns = {a.target: a for a in fn.fact.scope.assigns if a.target}
        for ret in fn.fact.scope.returns:
            value = ret.value
            if isinstance(value, Name) and value.id in assigns:
                value = assigns[value.id].value
            t = self._table_of_expr(app, value, targets, module)
            if t is not None:
                return t
        return None

    def _table_of_expr(self, app: AppModel, e: Expr | None, targets: dict, module: str) -> Table | None:
        if not isinstance(e, Call):
            return None
        target = targets.get((e.line, e.col))
        if target:
            t = table_named(app, target, module) if find_table(app, target) is not None else None
            if t is not None:
                return t
            callee = app.functions.get(target)
            if callee is not None and callee.fact.returns is not None:
                name = dotted(callee.fact.returns)
                if name:
                    found = table_named(app, name, callee.module)
                    if found is not None:
                        return found
        # ``db.get(User, id)``, ``db.query(User).filter(...).first()``, ``db.scalar(select(User)...)``
        func = e.func
        if isinstance(func, Attr) and func.attr in ("first", "one", "one_or_none", "scalar", "scalar_one",
                                                     "scalar_one_or_none", "get", "get_one", "scalars"):
            for a in e.args:
                if isinstance(a, Name):
                    t = table_named(app, a.id, module)
                    if t is not None:
                        return t
                elif isinstance(a, Call):
                    t = self._table_of_expr(app, a, targets, module) or self._select_table(app, a, module)
                    if t is not None:
                        return t
            return self._table_of_expr(app, func.value if isinstance(func.value, Call) else None, targets, module) \
                or (self._select_table(app, func.value, module) if isinstance(func.value, Call) else None)
        if isinstance(func, Attr) and isinstance(func.value, Call):
            return self._table_of_expr(app, func.value, targets, module) or self._select_table(app, func.value, module)
        return self._select_table(app, e, module)

    def _select_table(self, app: AppModel, e: Call, module: str, _depth: int = 0) -> Table | None:
        """``select(User)``, ``db.query(User)`` and calls chained on them."""
        if _depth > 10:
            return None
        func = e.func
        head = render(func).rsplit(".", 1)[-1]
        if head in ("select", "query") and e.args and isinstance(e.args[0], Name) and len(e.args) == 1:
            return table_named(app, e.args[0].id, module)
        if isinstance(func, Attr) and isinstance(func.value, Call):
            return self._select_table(app, func.value, module, _depth + 1)
        for a in e.args:
            if isinstance(a, Call):
                t = self._select_table(app, a, module, _depth + 1)
                if t is not None:
                    return t
        return None
