"""FAL402 websocket-without-auth."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, Name, Subscript, dotted, walk
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, route_related, unique_routes
from fastapi_arch_lint.rules.auth._common import (
    CREDENTIAL_NAME_RE,
    CREDENTIAL_SOURCES,
    dependency_functions,
    func_name,
    handler_name,
    is_public,
    reachable_functions,
)

VERIFY_RE = re.compile(
    r"verif|decode|authenticat|validate|check_?token|current_user|get_user|compare_digest|load_session|"
    r"introspect|check_auth|authorize",
    re.I,
)


# a websocket's read of a message from the client
RECEIVE_METHODS = frozenset({"receive_text", "receive_json", "receive_bytes", "receive"})


def _message_credential(e: Expr | None) -> bool:
    """``msg["token"]`` / ``msg.get("token")``: a credential-named key read from a mapping that is not the
    handshake's (those are read above)."""
    key: Expr | None = None
    base: Expr | None = None
    if isinstance(e, Subscript) and len(e.items) == 1:
        base, key = e.value, e.items[0]
    elif isinstance(e, Call) and isinstance(e.func, Attr) and e.func.attr == "get" and e.args:
        base, key = e.func.value, e.args[0]
    if not (isinstance(key, Const) and isinstance(key.value, str) and CREDENTIAL_NAME_RE.search(key.value)):
        return False
    return (dotted(base) or "").rsplit(".", 1)[-1] not in CREDENTIAL_SOURCES


def _verifying(app: AppModel, name: str, target: str | None) -> bool:
    """A call that verifies what it is given: named so, or a project function that makes such a call."""
    if VERIFY_RE.search(name):
        return True
    callee = app.functions.get(target or "")
    return callee is not None and any(VERIFY_RE.search(func_name(s.call)) for s in callee.fact.calls)


def first_message_credential(app: AppModel, fn: Function) -> bool:
    """First-message authentication: after reading a message from the socket (``await ws.receive_json()``),
    the function takes a credential from it (``msg["token"]``, ``msg.get("token")``, or a local holding it)
    and hands it to a verifying call (``verify_token(token)``, ``get_verified_user_by_token(token)``, or a
    project function that makes one)."""
    fact = fn.fact
    received = [s.pos.line for s in fact.calls if isinstance(s.call.func, Attr) and s.call.func.attr in RECEIVE_METHODS]
    if not received:
        return False
    first = min(received)
    held = {a.target for a in fact.scope.assigns
            if a.pos.line >= first and a.target and "." not in a.target and _message_credential(a.value)}
    for site, target in fn.calls:
        if site.pos.line < first:
            continue
        args = [*site.call.args, *(v for _, v in site.call.kwargs)]
        carries = any(isinstance(x, Name) and x.id in held or _message_credential(x) for a in args for x in walk(a))
        if carries and _verifying(app, func_name(site.call), target):
            return True
    return False


def reads_and_verifies_credentials(app: AppModel, route: Route) -> bool:
    """The handler (or a dependency, or a function they call) reads a credential and verifies it."""
    starts = [route.handler.qualname, *(f.qualname for f in dependency_functions(app, route))]
    reads = any(p.source in ("query", "header", "cookie") and CREDENTIAL_NAME_RE.search(p.alias or p.name)
                for p in route.params)
    verifies = False
    for fn in reachable_functions(app, starts, depth=2).values():
        fact = fn.fact
        keyed = [(base, key) for base, key in fact.subscripts if base.rsplit(".", 1)[-1] in CREDENTIAL_SOURCES]
        for site in fact.calls:
            f = site.call.func
            key = site.call.args[0] if site.call.args else None
            if isinstance(f, Attr) and f.attr == "get" and isinstance(key, Const) and isinstance(key.value, str):
                base = dotted(f.value) or ""
                if base.rsplit(".", 1)[-1] in CREDENTIAL_SOURCES:
                    keyed.append((base, key.value))
        if any(CREDENTIAL_NAME_RE.search(k) for _, k in keyed) or first_message_credential(app, fn):
            reads = True
        # the whole mapping handed on (``authenticate(websocket.cookies)``): assume it carries the credential
        keyed_bases = {b for b, _ in keyed}
        if any(a.rsplit(".", 1)[-1] in CREDENTIAL_SOURCES and a not in keyed_bases for a in fact.attributes):
            reads = True
        # a verifying call, or at least a rejection: ``raise WebSocketException(...)`` / ``websocket.close()``
        if any(VERIFY_RE.search(func_name(s.call)) or func_name(s.call) == "close" for s in fact.calls) or fact.raises:
            verifies = True
    return reads and verifies


@register
class WebsocketWithoutAuth(Rule):
    code = "FAL402"
    name = "websocket-without-auth"
    summary = "A websocket route accepts connections without ever authenticating the client"
    severity = Severity.WARNING
    cwe = ("CWE-306",)
    owasp = ("API2:2023",)
    security_severity = 7.5
    default_options = {"public-routes": ["*/health*", "*/heartbeat", "*/ping"]}

    def check(self, app: AppModel) -> Iterator[Finding]:
        for route in unique_routes(app):
            if route.kind != "websocket" or route.auth.via or route.path_unresolved:
                continue
            if is_public(route, self.options["public-routes"]):
                continue
            if reads_and_verifies_credentials(app, route):
                continue
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"websocket `{route.path}` (`{handler_name(route)}`) never authenticates: no security scheme in its "
                f"dependencies and it reads no credential from `query_params`, `headers`, `cookies` or its first message",
                help="browsers cannot send an `Authorization` header on the handshake: take a token from the query "
                     "string or a cookie (`Depends(APIKeyQuery(name=\"token\"))`, `APIKeyCookie`, or "
                     "`websocket.query_params[\"token\"]`), verify it, and close with "
                     "`status.WS_1008_POLICY_VIOLATION` before `accept()` when it is missing or invalid",
                related=route_related(route),
                entity=route_entity(route),
            )
