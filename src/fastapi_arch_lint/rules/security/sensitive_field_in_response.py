"""FAL524 sensitive-field-in-response."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from fastapi_arch_lint.analysis.index import declaring, returned_table
from fastapi_arch_lint.analysis.taint import str_set
from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Route, Table
from fastapi_arch_lint.model.expr import Attr, BoolOp, Call, Compare, Const, Name, render
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import find_table, matches_any, pydantic_model, route_entity, route_related, segments, unique_routes
from fastapi_arch_lint.rules.auth._common import principal_params
from fastapi_arch_lint.rules.auth._principal import held_to_caller
from fastapi_arch_lint.rules.auth._roles import judge
from fastapi_arch_lint.rules.security._secret_values import masked_by_model, stored_encrypted

MASKED_TYPES = frozenset({"pydantic.SecretStr", "pydantic.SecretBytes", "pydantic.types.SecretStr"})
# a field no client ever needs: the server's verifier of a secret, or a key it signs with
VERIFIER_WORDS = ("password", "passwd", "salt", "private_key")
VERIFIER_SUFFIXES = ("_hash", "_hashed", "_digest")
CREDENTIAL_SUFFIXES = ("token", "secret", "api_key", "apikey", "secret_key")
VERIFIER_FIELDS = frozenset({"hashed_password", "ssn", "cvv", "card_number"})
# a record that is a principal: it names who logs in
PRINCIPAL_FIELDS = frozenset({"username", "user_name", "email", "email_address", "login"})
# qualifiers that make ``<qualifier>_password`` the principal's own password, not one for another service
OWN_QUALIFIERS = frozenset({"hashed", "user", "account", "login", "plain", "plaintext", "raw", "current", "old", "new",
                            "member", "admin", "encrypted"})
# path segments that name the caller, not a record of someone else
SELF_SEGMENTS = frozenset({"me", "self", "current", "current-user", "current_user", "whoami", "profile"})
CONTAINER_RE = re.compile(r"(?:^|[\[\s|,.])(?:list|List|Sequence|Iterable|Iterator|set|Set|frozenset|FrozenSet|tuple|"
                          r"Tuple|dict|Dict|Mapping|\w*(?:Page|Pagination|Paginated|List|Collection|Resource)\w*)\[")


class Hit(NamedTuple):
    path: str  # the field's path in the response: ``items.tokens.token``
    owner: str  # the model or table declaring it
    file: str
    line: int
    principal: str | None = None  # the principal record (a user) it sits in, if any
    principal_listed: bool = False  # that record is one of a list
    internal: bool = False  # an internal field (option ``internal-fields``), not a secret


# who may see internal data: an administrator (a dependency's name or an admin path segment)
ADMIN_GATE = re.compile(r"(?i)(admin|superuser|staff|backoffice|back_office|internal)")
ADMIN_PATH = re.compile(r"(?i)(^|/)(admin|backoffice|back-office|internal|staff)(/|$)")

# field types that cannot hold a secret's text: a flag, a number, a moment
NO_TEXT_TYPES = frozenset({"builtins.bool", "builtins.int", "builtins.float", "datetime.datetime", "datetime.date",
                           "datetime.timedelta", "builtins.NoneType"})


def _described(app: AppModel, route: Route, hits: list[Hit], via: str) -> tuple[str, list[Related], str]:
    """The fields for a message, where each is declared, and what sends them (``the response model `UserOut```)."""
    names = ", ".join(f"`{h.path}`" for h in hits[:6]) + (" ..." if len(hits) > 6 else "")
    related = [Related(h.file, h.line, f"`{h.owner}.{h.path.rsplit('.', 1)[-1]}` declared here") for h in hits[:6]]
    if via == "response model":
        top = next((t.rsplit(".", 1)[-1] for t in route.response_model_types
                    if pydantic_model(app, t) is not None or find_table(app, t) is not None), "")
        return names, related, f"the response model `{top}`"
    return names, related, f"the {via}"


# fields that name the host a record logs in to: an SSH, SMTP or database connection's settings, whose
# ``username`` and ``password`` are a login to that host, not to this app
HOST_FIELDS = frozenset({"host", "hostname", "port"})


def _is_principal(fields: set[str]) -> bool:
    return bool(fields & PRINCIPAL_FIELDS) and not (fields & HOST_FIELDS or any(f.endswith("_host") for f in fields))


def _is_container(annotation: str) -> bool:
    """``list[UserOut]``, ``Sequence[...]``, ``Page[UserOut]``, ``PaginationBase[UserOut] | None``."""
    return CONTAINER_RE.search(annotation) is not None


# what a check on the route's paths must be about to limit who is served (a role, a permission, a policy),
# not a credential's presence (``if request.headers.get("Authorization") is None``) or a team match
ROLE_CHECK_WORDS = re.compile(r"admin|superuser|staff|role|permission|privilege|polic|owner|acl|scope", re.I)


@register
class SensitiveFieldInResponse(Rule):
    code = "FAL524"
    name = "sensitive-field-in-response"
    summary = "A route's response model (or the ORM object it returns) carries a password, secret or token field"
    severity = Severity.ERROR
    other_severities = {Severity.INFO: "when the secrets are other users' tokens or keys and only administrators "
                                       "can call the route: an administrator is trusted with the user records",
                        Severity.WARNING: "with medium confidence, when the response model is the request body's own "
                                          "model: the client's input sent back to it, or when the fields are internal "
                                          "data (option `internal-fields`) sent to a caller who is no administrator, "
                                          "or when other users' secrets go out behind a role or permission check the "
                                          "route's code makes, or when a password or key of a record that is no "
                                          "principal's (a connection's settings) goes back to the tenant it is loaded "
                                          "for"}
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
        # internal data no client outside the back office needs (globs): notes staff keep, cost and margin, and
        # personal data of others
        "internal-fields": ["internal_note", "internal_notes", "internal_comment", "internal_comments", "internal_memo",
                            "staff_note", "staff_notes", "admin_note", "admin_notes", "cost_price", "unit_cost",
                            "purchase_price", "wholesale_price", "supplier_price", "profit_margin", "gross_margin",
                            "margin_percent", "margin_percentage", "markup", "date_of_birth", "birth_date", "birthdate",
                            "dob", "social_security_number", "national_id", "national_id_number", "passport_number"],
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

    def internal(self, name: str) -> bool:
        """A field named by the ``internal-fields`` option (globs, case-insensitive) that is not a secret."""
        n = name.lower()
        return not self.sensitive(name) and n not in self._lowered()[0] and \
            matches_any(n, self.options["internal-fields"], ignore_case=True)

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

    def kind(self, name: str) -> str:
        """``verifier`` (a password, hash, salt or private key: no client ever needs it) or ``credential``
        (a token, API key or client secret: what the server hands to the principal it belongs to; also a
        password or private key for another service, ``smtp_password``, ``sftp_private_key``: what the
        client configured so the server can connect on its behalf)."""
        n = name.lower()
        if n in self._lowered()[1] and n not in type(self).default_options["fields"]:
            return "verifier"  # a field the project named itself: reported wherever it goes
        for suffix in ("_password", "_passwd", "_private_key"):
            qualifier = n[: -len(suffix)]
            if n.endswith(suffix) and qualifier and not set(qualifier.split("_")) & OWN_QUALIFIERS:
                return "credential"  # another service's: the SMTP server's password, an SFTP login key
        if n.endswith(VERIFIER_SUFFIXES) or n in VERIFIER_FIELDS:
            return "verifier"
        if n.endswith(CREDENTIAL_SUFFIXES):
            return "credential"  # ``password_reset_token``: a token, whatever it resets
        if any(w in n for w in VERIFIER_WORDS):
            return "verifier"
        return "credential"

    def check(self, app: AppModel) -> Iterator[Finding]:
        for route in unique_routes(app):
            if route.kind != "http":
                continue
            excluded = self._decorator_excludes(route)
            credentials_ok = self.issues_credentials(route)
            picked = self._picks_a_record(app, route)
            hits: list[Hit] = []
            via = "response model"
            if route.response_model_types:
                listed = _is_container(route.response_model or "")
                for t in route.response_model_types:
                    self._walk_type(app, t, "", hits, set(), listed, None)
            else:
                table = returned_table(app, route)
                if table is not None:
                    via = f"returned `{table.name}` object (no response model)"
                    self._walk_table(table, "", hits, False, None)
            hits = [h for h in hits if h.path.split(".", 1)[0] not in excluded]
            if hits:
                # filled from a SQL query that names its columns: a field it does not select keeps its default
                selected = _returned_selects(app, app.function(route.handler.qualname))
                if selected is not None:
                    hits = [h for h in hits if h.path.rsplit(".", 1)[-1].lower() in selected]
            # a field the project only ever stores encrypted: the client gets ciphertext, no usable secret
            hits = [h for h in hits if h.internal or not stored_encrypted(app, h.path.rsplit(".", 1)[-1])]
            internal = [h for h in hits if h.internal]
            hits = [h for h in hits if not h.internal]
            if internal:
                yield from self._internal_finding(app, route, internal, picked, via)
            kept: list[Hit] = []
            for h in hits:
                if self.kind(h.path.rsplit(".", 1)[-1]) == "verifier":
                    if not _issued_here(route, h.path):
                        kept.append(h)
                    # else: a password the handler has just generated and hands out (an admin's reset answering
                    # with the new one-time password): the route exists to issue it
                elif h.principal is not None and (h.principal_listed or picked) and not credentials_ok \
                        and h.path.rsplit(".", 1)[-1] not in route.path_params:
                    # a token or API key of a user record the caller did not ask about as themselves:
                    # a list of users, or one picked by a path parameter
                    kept.append(h)
                # else: the caller's own credential (``GET /user`` with its token), or one the route issues
            hits = kept
            if not hits:
                continue
            names, related, what = _described(app, route, hits, via)
            severity = confidence = None
            admins = ""
            body_types = {t for p in route.params if p.source in ("body", "form") for t in p.type_names}
            echoed = via == "response model" and bool(body_types & set(route.response_model_types)) and all(
                "." not in h.path for h in hits)
            if echoed:
                # the body sent back, its secret fields refused when given (``if data.password: raise``): empty
                hits = [h for h in hits if h.path not in _refused_when_sent(route)]
                if not hits:
                    continue
                names, related, what = _described(app, route, hits, via)
                # ``-> CreateUser`` of a handler taking ``data: CreateUser``: the client's own input sent back
                why = ("what the client itself sent in the request body (the response model is the request's own "
                       "model): a password in a response ends up in logs, caches and browser history")
                severity, confidence = Severity.WARNING, Confidence.MEDIUM
            elif all(self.kind(h.path.rsplit(".", 1)[-1]) == "verifier" for h in hits):
                why = f"{'a secret that belongs' if len(hits) == 1 else 'secrets that belong'} only on the server"
            else:
                principal = next(h.principal for h in hits if h.principal is not None)
                whose = "a list of" if any(h.principal_listed for h in hits if h.principal is not None) else \
                    "the record a path parameter picks of"
                why = (f"{'a secret' if len(hits) == 1 else 'secrets'} of other principals ({whose} `{principal}`, "
                       "not the caller's own): whoever reads it can act as them")
                if route.privileged and not any(self.kind(h.path.rsplit(".", 1)[-1]) == "verifier" for h in hits):
                    # an administrator who can already act for any user and is trusted with their records:
                    # still more than the page needs, a note rather than a warning
                    severity, confidence = Severity.INFO, Confidence.MEDIUM
                    admins = f"; only administrators can call it ({route.privileged})"
                elif (seen := judge(app, route).check) is not None and ROLE_CHECK_WORDS.search(seen.text):
                    # a role or permission check on the route's path (``authorize(user, UserPolicy.get)``): who
                    # passes it is the policy's call, so the exposure is likely limited to privileged callers
                    severity, confidence = Severity.WARNING, Confidence.MEDIUM
                    admins = f"; a role or permission check is seen ({seen.text}), so it may reach only privileged callers"
            if severity is None and all(h.principal is None and _configured_login(h.path) for h in hits) and \
                    (scope := _fetched_for_caller(route)) is not None:
                # a record of no principal (a connection's settings), loaded for the caller's own tenant: the
                # password the client configured (for another host), sent back to it
                severity, confidence = Severity.WARNING, Confidence.MEDIUM
                why = (f"{'a secret' if len(hits) == 1 else 'secrets'} of a record that holds no user's login, fetched "
                       f"for the caller's own tenant (`{scope}`): what the client configured (a login to another host, "
                       "a key), sent back to it; still more than a client needs, and plaintext unless stored encrypted")
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`{route.display()}` sends {names} to the client: {what} exposes {why}{admins}",
                help="return a dedicated output model without the secret fields (`UserPublic` next to the `User` "
                     "table), or mark them `Field(exclude=True)`; a password hash is never part of a response, and "
                     "a user's tokens or API keys go only to that user, once, when they are issued",
                related=(*related, *route_related(route)), entity=route_entity(route),
                severity=severity, confidence=confidence,
            )

    def _internal_finding(self, app: AppModel, route: Route, hits: list[Hit], picked: bool, via: str) -> Iterator[Finding]:
        """Internal fields (staff notes, cost, margin, a person's date of birth) sent to a caller who is not an
        administrator: reported unless they sit in the caller's own record (a principal's record that is neither
        one of a list nor picked by a path parameter)."""
        if route.privileged or ADMIN_PATH.search(route.path) or any(
                ADMIN_GATE.search(d.name.rsplit(".", 1)[-1]) for d in route.dependencies):
            return
        kept = [h for h in hits if h.principal is None or h.principal_listed or picked]
        if not kept:
            return
        names, related, what = _described(app, route, kept, via)
        principal = next((h.principal for h in kept if h.principal is not None), None)
        whose = (f"personal data of other people ({'a list of' if any(h.principal_listed for h in kept if h.principal) else 'the record a path parameter picks of'} `{principal}`)"
                 if principal else "internal data")
        yield self.finding(
            route.registered.path, route.registered.line, route.registered.col,
            f"`{route.display()}` sends {names} to the client: {what} carries {whose}, and no "
            "administrator check guards the route",
            help="return an output model without the internal fields (or mark them `Field(exclude=True)`); if the "
                 "route is for staff only, guard it with an admin dependency; if the field is public in your "
                 "domain, drop it from the `internal-fields` option",
            related=(*related, *route_related(route)), entity=route_entity(route) + " internal",
            severity=Severity.WARNING, confidence=Confidence.MEDIUM,
        )

    @staticmethod
    def _picks_a_record(app: AppModel, route: Route) -> bool:
        """The path names a record by a parameter (``/users/{user_id}``), not the caller (``/users/me``, or
        ``/users/{user_id}/...`` whose handler rejects every ``user_id`` but the caller's)."""
        segs = [s.lower() for s in segments(route.path)]
        if any(s in SELF_SEGMENTS for s in segs):
            return False
        if not any(s.startswith("{") for s in segs):
            return False
        return not (route.path_params and set(route.path_params) <= held_to_caller(app, route))

    # -- what the route sends ------------------------------------------------
    def _walk_type(self, app: AppModel, qualname: str, prefix: str, hits: list[Hit], seen: set[str],
                   listed: bool, principal: tuple[str, bool] | None) -> None:
        if qualname in seen or len(seen) > 40:
            return
        seen.add(qualname)
        model = pydantic_model(app, qualname)
        if model is not None:
            if principal is None and _is_principal({f.name.lower() for f in model.fields}):
                principal = (model.name, listed)
            for f in model.fields:
                path = f"{prefix}{f.name}"
                if f.constraint("exclude") is True or any(t in MASKED_TYPES for t in f.type_names):
                    continue
                if masked_by_model(app, model, f.name) is not None:
                    continue  # a validator or serializer of the model replaces the value: it sends what that returns
                if self.internal(f.name):
                    owner = declaring(app, model, f.name)
                    hits.append(Hit(path, owner.name, owner.path, f.line, *(principal or (None, False)), internal=True))
                    continue
                if f.type_names and all(t in NO_TEXT_TYPES for t in f.type_names):
                    continue  # ``has_password: bool``, ``password_changed_at: datetime``: no secret fits in it
                if self.sensitive(f.name) and not self._structured(app, f.type_names):
                    owner = declaring(app, model, f.name)
                    hits.append(Hit(path, owner.name, owner.path, f.line, *(principal or (None, False))))
                    continue
                inner = listed or _is_container(f.annotation)
                for t in f.type_names:
                    if t.startswith("builtins.") or t.startswith("typing."):
                        continue
                    self._walk_type(app, t, f"{path}.", hits, seen, inner, principal)
            return
        table = find_table(app, qualname)
        if table is not None:
            self._walk_table(table, prefix, hits, listed, principal)

    @staticmethod
    def _structured(app: AppModel, type_names: tuple[str, ...] | list[str]) -> bool:
        """A field typed as a model (``smtp_password: SecretReference``) holds a record, not the secret's text:
        its own fields are walked instead (a reference names where the secret is kept)."""
        return any(pydantic_model(app, t) is not None for t in type_names) and not any(
            t in ("builtins.str", "builtins.bytes") for t in type_names)

    def _walk_table(self, table: Table, prefix: str, hits: list[Hit], listed: bool,
                    principal: tuple[str, bool] | None) -> None:
        if principal is None and _is_principal({c.name.lower() for c in table.columns}):
            principal = (table.name, listed)
        for c in table.columns:
            if self.sensitive(c.name):
                hits.append(Hit(f"{prefix}{c.name}", table.name, table.path, c.line, *(principal or (None, False))))
            elif self.internal(c.name):
                hits.append(Hit(f"{prefix}{c.name}", table.name, table.path, c.line, *(principal or (None, False)),
                                internal=True))

    def _decorator_excludes(self, route: Route) -> frozenset[str]:
        for d in route.handler.fact.decorators:
            if d.pos.line == route.registered.line and isinstance(d.expr, Call):
                found = str_set(d.expr.kwarg("response_model_exclude"))
                if found:
                    return found
        return frozenset()


# an attribute of the principal that names the caller or its tenant: ``user.id``, ``api_key.organization_id``
TENANT_ID_RE = re.compile(r"^(id|(org|organization|organisation|tenant|team|workspace|account|company|owner|user|project)"
                          r"_?id)$")


def _configured_login(path: str) -> bool:
    """A password or private key as a client sets it (``password``, ``private_key_password``), not a hash, digest
    or salt that only verifies one, nor a card or social security number."""
    n = path.rsplit(".", 1)[-1].lower()
    return any(w in n for w in ("password", "passwd", "private_key")) and not (
        n.endswith(VERIFIER_SUFFIXES) or n in VERIFIER_FIELDS or "salt" in n or "hash" in n)


def _fetched_for_caller(route: Route) -> str | None:
    """Every ``return`` of the handler answers a call given the authenticated caller's id or its tenant's
    (``service.list_connections(api_key.organization_id)``, ``repo.get(item_id, owner_id=user.id)``): what it
    returns is loaded for the caller's own organisation. The argument, as written, or None."""
    principals = set(principal_params(route))
    fact = route.handler.fact
    if not principals or not fact.scope.returns:
        return None
    made = {a.target: a.value for a in fact.scope.assigns if a.target and "." not in a.target}
    found = None
    for ret in fact.scope.returns:
        value = ret.value
        if isinstance(value, Name):
            binds = [a for a in fact.scope.assigns if a.target == value.id]
            value = made.get(value.id) if len(binds) == 1 else None
        if not isinstance(value, Call):
            return None
        scoped = next((a for a in (*value.args, *(v for _, v in value.kwargs)) if isinstance(a, Attr)
                       and isinstance(a.value, Name) and a.value.id in principals and TENANT_ID_RE.match(a.attr)), None)
        if scoped is None:
            return None
        found = found or render(scoped)
    return found


def _issued_here(route: Route, path: str) -> bool:
    """``new_password = await reset(user.id); return ResetOut(new_password=new_password)``: a top-level plaintext
    field (not a hash, salt or key) the handler fills, in the response it builds, from what a call it makes has
    just answered. A stored verifier (``password_hash``) is never issued."""
    if "." in path or path.lower().endswith(VERIFIER_SUFFIXES) or path.lower() in VERIFIER_FIELDS or \
            any(w in path.lower() for w in ("salt", "private_key", "hashed")):
        return False
    fact = route.handler.fact
    made = {a.target: a.value for a in fact.scope.assigns if a.target and "." not in a.target}
    for ret in fact.scope.returns:
        value = ret.value
        if not isinstance(value, Call):
            continue
        given = value.kwarg(path)
        if isinstance(given, Name):
            given = made.get(given.id)
        if isinstance(given, Call):
            return True
    return False


SELECT_HEAD_RE = re.compile(r"\s*select\s+(?:distinct\s+)?", re.I)
FROM_RE = re.compile(r"from\b", re.I)
STAR_ITEM_RE = re.compile(r"\s*(?:[\w\"`\[\]]+\.)?\*\s*")
SELECT_DEPTH = 3  # project functions below the handler followed to the query whose rows it returns


def _select_list(sql: str) -> list[str] | None:
    """The items of a SQL ``SELECT a, b AS c, (SELECT ...) AS d FROM ...`` select list (split at the commas
    outside parentheses, up to the top-level ``FROM``), or None when the text is no such query."""
    m = SELECT_HEAD_RE.match(sql)
    if m is None:
        return None
    depth, start, items = 0, m.end(), []
    for j in range(m.end(), len(sql)):
        c = sql[j]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and c == ",":
            items.append(sql[start:j])
            start = j + 1
        elif depth == 0 and (c == "f" or c == "F") and FROM_RE.match(sql, j) and not (sql[j - 1].isalnum() or sql[j - 1] == "_"):
            items.append(sql[start:j])
            return items
    return None


def _selected_words(sql: str) -> frozenset[str] | None:
    """Every word of the select list (a column, a qualifier, an alias, a word of a subquery), lower case: what
    the query may fill; None when it selects every column (``*``, ``t.*``) or is no ``SELECT ... FROM``."""
    items = _select_list(sql)
    if items is None or any(STAR_ITEM_RE.fullmatch(it) for it in items):
        return None
    return frozenset(w.lower() for it in items for w in re.findall(r"\w+", it))


def _returned_selects(app: AppModel, fn: Function | None, depth: int = 0) -> frozenset[str] | None:
    """The words of the select lists of the SQL queries whose rows ``fn`` returns, when every ``return`` of it
    (and of the project functions whose result it returns, ``SELECT_DEPTH`` levels down) is a call given a
    literal ``SELECT <columns> FROM ...`` (``db.fetch_page("SELECT id, username FROM accounts", model=...)``):
    a field of the response model the query does not select is never filled (it keeps its default). None when
    any return is something else: what fills the response is not known."""
    if fn is None or not fn.fact.scope.returns:
        return None
    targets = {(s.call.line, s.call.col): t for s, t in fn.calls}
    words: set[str] = set()
    queried = False
    for ret in fn.fact.scope.returns:
        value = ret.value
        if value is None or isinstance(value, Const) and value.value is None:
            continue  # ``return None``: nothing sent
        if isinstance(value, Name):
            binds = [a for a in fn.fact.scope.assigns if a.target == value.id]
            value = binds[0].value if len(binds) == 1 else None
        if not isinstance(value, Call):
            return None
        found: frozenset[str] | None = None
        for arg in (*value.args, *(v for _, v in value.kwargs)):
            if isinstance(arg, Const) and isinstance(arg.value, str) and SELECT_HEAD_RE.match(arg.value):
                found = _selected_words(arg.value)
                break
        else:
            target = targets.get((value.line, value.col))
            if target in app.functions and depth < SELECT_DEPTH:
                found = _returned_selects(app, app.functions[target], depth + 1)
        if found is None:
            return None
        words |= found
        queried = True
    return frozenset(words) if queried else None  # only ``return None``: a stub, nothing known


def _refused_when_sent(route: Route) -> frozenset[str]:
    """Fields of the request body that a handler returning that very body (``return data``) refuses to take:
    an ``if`` whose test is the field's truth, or its being not None, alone or joined with ``or``, raises
    (``if data.password or data.password_repeat: raise HTTPException(400, ...)``), and the handler never sets
    the field itself. What it sends back holds no value for them."""
    fact = route.handler.fact
    bodies = {p.name for p in route.params if p.source in ("body", "form")}
    returned = {r.value.id for r in fact.scope.returns if isinstance(r.value, Name)}
    if not returned or returned - bodies or len(returned) != len(fact.scope.returns):
        return frozenset()
    out: set[str] = set()
    for r in fact.scope.raises:
        if len(r.conds) != 1 or r.conds[0][0]:
            continue  # a raise at the top of the body, right under the ``if`` (not its ``else``, not deeper)
        test = r.conds[0][1]
        operands = test.values if isinstance(test, BoolOp) and test.op == "or" else (test,)
        for o in operands:
            if isinstance(o, Compare) and o.op in ("is not", "!=") and isinstance(o.right, Const) and o.right.value is None:
                o = o.left
            if isinstance(o, Attr) and isinstance(o.value, Name) and o.value.id in returned:
                out.add(o.attr)
    set_later = {a.target.split(".", 1)[1] for a in fact.scope.assigns if a.target.count(".") == 1
                 and a.target.split(".", 1)[0] in returned}
    return frozenset(out - set_later)
