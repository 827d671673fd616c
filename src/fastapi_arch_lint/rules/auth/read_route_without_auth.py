"""FAL409 read-route-without-auth."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi_arch_lint.analysis.calls import call_target
from fastapi_arch_lint.analysis.index import returned_table
from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Route, Table
from fastapi_arch_lint.model.expr import Call, Const, DictExpr, walk
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._html import renders_html
from fastapi_arch_lint.rules._util import (
    auth_uncertain,
    find_table,
    pydantic_model,
    route_entity,
    route_related,
    segments,
    slash_twins,
    twin_text,
    unique_routes,
)
from fastapi_arch_lint.rules.auth._common import (
    DEFAULT_PUBLIC_HANDLERS,
    DEFAULT_PUBLIC_ROUTES,
    credential_readers,
    handler_credential_reads,
    handler_name,
    is_public,
    names_in,
    requires_auth,
    verifies_signature,
)

# a foreign key naming whose rows these are (a row owned through it is someone's data)
OWNER_COLUMN_RE = re.compile(
    r"^(owner|user|author|creator|created_by|customer|account|tenant|org|organization|organisation|workspace|member"
    r"|buyer|seller|uploader|submitter|patient|client)(_id|_uuid)?$|^owner_|_by(_id)?$",
    re.I,
)
# reads that are public by nature, beyond FAL401's login/health paths: docs, discovery documents, OAuth
# flows, static assets
PUBLIC_READS = (
    "*/docs", "*/docs/*", "*/redoc", "*/openapi.json", "*/openapi.yaml", "*/.well-known/*", "*/oauth*", "*/callback",
    "*/authorize", "*/auth/*", "*/sso/*", "*/static/*", "*/assets/*", "*/favicon.ico", "*/robots.txt", "*/manifest*",
    "*/version", "*/metrics", "*/status", "*/heartbeat", "*/ready", "*/live",
)
# a field of a person that is private: contact details, identity numbers, the password hash (names are not:
# public profiles and author lines show them)
PERSONAL_FIELD_RE = re.compile(
    r"^(e_?mail|email_address|\w+_email|phone|phone_number|\w+_phone|mobile|mobile_number|(\w+_)?address|street"
    r"|postal_code|zip_?code|birth_?date|date_of_birth"
    r"|dob|ssn|social_security_number|national_id|tax_id|passport(_number)?|iban|card_number|ip_address|last_login_ip"
    r"|hashed_password|password_hash)$",
    re.I,
)
NOT_PERSONAL = re.compile(r"^(ip_)?(\w+_)?(mac|contract|wallet|node|server|host|web|url|callback|base|bind|listen|lightning"
                          r"|bitcoin|btc|pubkey|public|node_)_?address$|^address_(type|line_count)$", re.I)
# a path or query parameter that is itself the capability: a signed or random token in a shared link
CAPABILITY_PARAM_RE = re.compile(r"token|signature|\bsig\b|secret|share|invite|nonce|otp|magic|hash|key$|code$", re.I)
VERSION_SEG = re.compile(r"^v\d+(\.\d+)*$", re.I)
STATIC_RESPONSES = ("FileResponse", "StreamingResponse", "RedirectResponse")


@dataclass
class Evidence:
    """What personal data the route sends: the fields, where they are declared, and how."""

    what: str
    fields: list[str] = field(default_factory=list)
    related: list[Related] = field(default_factory=list)


def personal_field(name: str) -> bool:
    """A field of a person (credentials sent to the client are FAL524's: a token or key name alone is no
    person's, it may name a secret kept elsewhere)."""
    return not NOT_PERSONAL.match(name) and bool(PERSONAL_FIELD_RE.match(name))


# how deep personal fields are looked for: the record itself and the records it holds (``items.email`` of a
# page, ``owner.email``); deeper down a model describes configuration, not a person
PERSONAL_DEPTH = 2


def _walk_type(app: AppModel, qualname: str, prefix: str, ev: Evidence, seen: set[str]) -> None:
    if qualname in seen or len(seen) > 30 or prefix.count(".") >= PERSONAL_DEPTH:
        return
    seen.add(qualname)
    model = pydantic_model(app, qualname)
    if model is not None:
        for f in model.fields:
            if f.constraint("exclude") is True:
                continue
            if f.type_names and all(t.startswith(("builtins.bool", "builtins.int", "builtins.float", "datetime."))
                                    for t in f.type_names):
                continue  # ``email_verified: bool``: no personal text fits in it
            if personal_field(f.name):
                ev.fields.append(f"{prefix}{f.name}")
                if len(ev.related) < 4:
                    ev.related.append(Related(model.path, f.line, f"`{model.name}.{f.name}` declared here"))
                continue
            for t in f.type_names:
                if not t.startswith(("builtins.", "typing.", "datetime.", "uuid.", "pydantic.", "decimal.", "enum.")):
                    _walk_type(app, t, f"{prefix}{f.name}.", ev, seen)
        return
    table = find_table(app, qualname)
    if table is not None:
        _table_fields(table, prefix, ev)


def _table_fields(table: Table, prefix: str, ev: Evidence) -> None:
    for c in table.columns:
        if personal_field(c.name):
            ev.fields.append(f"{prefix}{c.name}")
            if len(ev.related) < 4:
                ev.related.append(Related(table.path, c.line, f"column `{table.name}.{c.name}` declared here"))


def personal_data(app: AppModel, route: Route) -> Evidence | None:
    """The personal data the route sends: fields of its response model, else of the table rows it returns
    (or rows owned by a user), else the keys of a dict it returns. None when nothing personal is seen."""
    fn = app.functions.get(route.handler.qualname)
    if route.response_model_types and any(pydantic_model(app, t) is not None or find_table(app, t) is not None
                                          for t in route.response_model_types):
        name = next(t for t in route.response_model_types if pydantic_model(app, t) is not None
                    or find_table(app, t) is not None).rsplit(".", 1)[-1]
        ev = Evidence(f"its response model `{name}`")
        seen: set[str] = set()
        for t in route.response_model_types:
            _walk_type(app, t, "", ev, seen)
        return ev if ev.fields else None  # the response model filters what leaves: it decides
    if fn is None:
        return None
    table = returned_table(app, route)
    if table is not None:
        ev = Evidence(f"the `{table.name}` rows it returns (no response model)")
        _table_fields(table, "", ev)
        if not ev.fields:
            owners = [c for c in table.columns if OWNER_COLUMN_RE.search(c.name) and c.foreign_key]
            if owners:
                ev.fields = [f"rows owned through `{owners[0].name}`"]
                ev.related.append(Related(table.path, owners[0].line, f"owner column `{table.name}.{owners[0].name}`"))
        if ev.fields:
            ev.related.append(Related(table.path, table.line, f"table `{table.name}`"))
            return ev
        return None
    ev = Evidence("the dict it returns")
    for ret in fn.fact.scope.returns:
        for e in walk(ret.value) if ret.value is not None else ():
            if isinstance(e, DictExpr):
                for k in e.keys:
                    if isinstance(k, Const) and isinstance(k.value, str) and personal_field(k.value):
                        ev.fields.append(k.value)
    return ev if ev.fields else None


def _capability_param(app: AppModel, route: Route) -> str | None:
    """A path or query parameter that carries the credential itself (a share token, a signed link) and that the
    handler uses (passes to a call or compares)."""
    own = {p.name for p in route.handler.fact.params}
    fact = route.handler.fact
    for p in route.params:
        if p.name in own and p.source in ("path", "query") and CAPABILITY_PARAM_RE.search(p.alias or p.name):
            used = any(p.name in names_in(s.call) for s in fact.calls) or any(
                p.name in names_in(c.left) | names_in(c.right) for c in fact.compares)
            if used:
                return p.name
    return None


def _static(app: AppModel, route: Route) -> bool:
    """The handler answers with a file, a stream or a redirect."""
    if route.response_class and route.response_class.rsplit(".", 1)[-1] in STATIC_RESPONSES:
        return True
    fn = app.functions.get(route.handler.qualname)
    if fn is None:
        return False
    for ret in fn.fact.scope.returns:
        if isinstance(ret.value, Call):
            t = call_target(fn, ret.value) or ""
            if t.rsplit(".", 1)[-1] in STATIC_RESPONSES:
                return True
    return False


def resource_key(path: str) -> tuple[str, ...]:
    """The path's static segments before the first parameter, version segments dropped: ``/api/v1/orders/{id}``
    -> ``("api", "orders")``."""
    out: list[str] = []
    for s in segments(path):
        if s.startswith("{"):
            break
        if not VERSION_SEG.match(s):
            out.append(s.lower())
    return tuple(out)


def unversioned(path: str) -> str:
    return "/" + "/".join(s for s in segments(path) if not VERSION_SEG.match(s))


@register
class ReadRouteWithoutAuth(Rule):
    code = "FAL409"
    name = "read-route-without-auth"
    summary = ("A GET route no authentication reaches sends personal data (emails, addresses, credentials, users' "
               "rows) beside authenticated siblings, or is an unversioned or older copy of an authenticated route")
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "with low confidence, when the app authenticates other routes but none beside "
                                       "this one (its router and its path's resource)"}
    confidence = Confidence.MEDIUM
    cwe = ("CWE-306", "CWE-359")
    owasp = ("API2:2023", "API3:2023", "API9:2023")
    security_severity = 7.5
    default_options = {
        "public-routes": list(DEFAULT_PUBLIC_ROUTES) + list(PUBLIC_READS),
        "public-handlers": list(DEFAULT_PUBLIC_HANDLERS),
    }

    def check(self, app: AppModel) -> Iterator[Finding]:
        public_paths = self.options["public-routes"]
        public_handlers = self.options["public-handlers"]
        routes = [r for r in unique_routes(app) if r.kind == "http"]
        authed = [r for r in routes if requires_auth(r)]
        if not authed:
            return  # an app without authentication: nothing says these reads should have it
        authed_by_app: dict[str, list[Route]] = {}
        authed_by_key: dict[tuple[str, str], list[Route]] = {}
        for r in authed:
            authed_by_app.setdefault(r.app, []).append(r)
            authed_by_key.setdefault((r.app, unversioned(r.path)), []).append(r)
        for route in routes:
            if "GET" not in route.methods or route.auth.via:
                continue  # authenticated, or optional auth: the route is built for both callers
            if auth_uncertain(app, route):
                continue
            if is_public(route, public_paths, public_handlers) or renders_html(app, route) or _static(app, route):
                continue
            if verifies_signature(app, route) or credential_readers(app, route) or handler_credential_reads(route):
                continue  # the handler reads a credential itself and decides what each caller sees
            if _capability_param(app, route):
                continue  # a share link: the token in the URL is the credential
            twins = slash_twins(app, route)
            if twins[0] is not route:
                continue  # the handler's registration with(out) a trailing slash: reported with the first
            mine = authed_by_app.get(route.app, [])
            if not mine:
                continue
            twin = next((r for r in authed_by_key.get((route.app, unversioned(route.path)), ())
                         if r.path != route.path and set(r.methods) & set(route.methods)), None)
            ev = personal_data(app, route)
            if twin is None and ev is None:
                continue
            siblings = [r for r in mine if r.router == route.router or (
                len(resource_key(route.path)) > 0 and resource_key(r.path)[:len(resource_key(route.path))] == resource_key(route.path)
                and resource_key(route.path) not in (("api",), ()))]
            related: list[Related] = [Related(route.registered.path, route.registered.line,
                                              f"`{route.display()}` registered here"), *route_related(route)]
            if twin is not None:
                via = twin.auth.via[0]
                related.append(Related(twin.registered.path, twin.registered.line,
                                       f"`{twin.display()}` requires {via.describe()}"))
                data = f"; it sends {ev.what} with {self._fields(ev)}" if ev is not None else ""
                yield self.finding(
                    route.registered.path, route.registered.line, route.registered.col,
                    f"`{route.display()}`{twin_text(twins)} (`{handler_name(route)}`) is served without authentication, but its "
                    f"{'versioned' if len(segments(twin.path)) > len(segments(route.path)) else 'other version'} "
                    f"copy `{twin.display()}` (`{handler_name(twin)}`) authenticates the caller with "
                    f"{via.describe()}{data}: the unsecured copy bypasses it (an old or unversioned path left in "
                    f"the inventory)",
                    help="retire the old path, or give it the same dependencies as the current one "
                         "(`include_router(legacy_router, dependencies=[Depends(get_current_user)])`)",
                    related=related + (ev.related if ev is not None else []),
                    entity=route_entity(route),
                    severity=Severity.WARNING, confidence=Confidence.MEDIUM,
                )
                continue
            assert ev is not None
            if siblings:
                sib = siblings[0]
                via = sib.auth.via[0]
                beside = (f"beside authenticated routes on the same {'router' if sib.router == route.router else 'path'} "
                          f"(`{sib.display()}` gets the caller from {via.describe()})")
                related.append(Related(sib.registered.path, sib.registered.line, f"`{sib.display()}` requires {via.describe()}"))
                severity, confidence = Severity.WARNING, Confidence.MEDIUM
            else:
                via = mine[0].auth.via[0]
                beside = (f"in an app whose other routes authenticate ({len(mine)} of {len([r for r in routes if r.app == route.app])},"
                          f" e.g. `{mine[0].display()}` with {via.describe()}), though none beside it")
                severity, confidence = Severity.INFO, Confidence.LOW
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`{route.display()}`{twin_text(twins)} (`{handler_name(route)}`) sends {ev.what} with {self._fields(ev)} to anyone: no "
                f"authentication (scheme, dependency, decorator or middleware) reaches it, {beside}",
                help=("attach the authentication its siblings get (`Depends(get_current_user)` on the route or its "
                      "router) and return only the caller's own records; if the route is public on purpose, send a "
                      "public model without personal fields, or add its path to `public-routes`"),
                related=related + ev.related,
                entity=route_entity(route),
                severity=severity, confidence=confidence,
            )

    @staticmethod
    def _fields(ev: Evidence) -> str:
        shown = ", ".join(f"`{f}`" if not f.startswith("rows ") else f for f in ev.fields[:5])
        return shown + (" ..." if len(ev.fields) > 5 else "")
