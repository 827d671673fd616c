"""FAL501 jwt-decode-without-verification."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import CodeCall, iter_calls_to, where_label
from fastapi_arch_lint.analysis.libraries import jwt_decode_library, short_target
from fastapi_arch_lint.analysis.names import words
from fastapi_arch_lint.analysis.taint import contexts
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.facts import CallSite, Pos
from fastapi_arch_lint.model.expr import (
    Attr,
    Call,
    Const,
    Expr,
    Name,
    Subscript,
    children,
    render,
    walk,
)
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.security._common import unverified_reason


def _is_id_token(expr: Expr | None) -> bool:
    """``id_token``, ``raw_id_token``, ``tokens["id_token"]``, ``response.get("id_token")``: an OpenID Connect ID token."""
    for e in walk(expr):
        name = e.id if isinstance(e, Name) else e.attr if isinstance(e, Attr) else \
            e.value if isinstance(e, Const) and isinstance(e.value, str) else None
        ws = words(name) if name else []
        if any(a == "id" and b == "token" for a, b in zip(ws, ws[1:])):
            return True
    return False


def _from_request(app: AppModel, cc: CodeCall, token: Expr | None) -> bool:
    """Request data reaches the decoded token (a handler's parameter, or one it passes on)."""
    if cc.function is None:
        return False
    return any(ctx.function.qualname == cc.function.qualname and ctx.flow.taint(token, cc.line) is not None
               for ctx in contexts(app))


# claims about the token itself, not about who holds it: when to expire, who issued it (to pick the keys
# that then verify it), when it was made
METADATA_CLAIMS = frozenset({"exp", "iat", "nbf", "iss"})


def _metadata_only(fn: Function | None, assigned: str | None, claims: frozenset[str] = METADATA_CLAIMS) -> list[str]:
    """The claims the function reads of the unverified result ``assigned``, when it reads nothing else
    of it and hands it nowhere (no return, no argument, no other expression holds it whole): an age for
    a log line, the issuer that picks the verifying keys. Empty when anything else is done with it."""
    if fn is None or not assigned:
        return []
    read: list[str] = []

    def ok(e: Expr | None) -> bool:  # every occurrence of the name is a metadata read
        if e is None:
            return True
        if isinstance(e, Name):
            return e.id != assigned
        if isinstance(e, Call) and isinstance(e.func, Attr) and isinstance(e.func.value, Name) \
                and e.func.value.id == assigned:
            key = e.args[0] if e.args else None
            if e.func.attr == "get" and isinstance(key, Const) and key.value in claims:
                read.append(str(key.value))
                return all(ok(a) for a in e.args[1:]) and not e.kwargs
            return False
        if isinstance(e, Subscript) and isinstance(e.value, Name) and e.value.id == assigned:
            if len(e.items) == 1 and isinstance(e.items[0], Const) and e.items[0].value in claims:
                read.append(str(e.items[0].value))
                return True
            return False
        return all(ok(c) for c in children(e))

    f = fn.fact
    exprs: list[Expr | None] = [site.call for site in f.calls]
    exprs += [a.value for a in f.scope.assigns if a.target != assigned]
    exprs += [r.value for r in f.scope.returns] + [r.expr for r in f.raises]
    exprs += [x for c in f.compares for x in (c.left, c.right)]
    if sum(1 for a in f.scope.assigns if a.target == assigned) > 1:
        return []  # bound again: not one value to follow
    if not all(ok(e) for e in exprs) or any(k[0] == assigned and k[1] not in claims for k in f.subscripts):
        return []
    return sorted(set(read))


def _claims_discarded(fn: Function | None, call: Call, assigned: str | None) -> bool:
    """The function throws the decoded claims away: the call is a statement of its own (``jwt.decode(token,
    options={"verify_signature": False})`` in a ``try`` whose ``except`` answers False), or its result goes to
    ``_``. Only whether the text parses as a JWT is used: a format test, no claim is believed. (A name bound and
    then never read is not followed: a loop or a ``with`` may read it where the facts do not say.)"""
    if fn is None:
        return False
    f = fn.fact
    if any(sc.call.line == call.line and sc.call.col == call.col for sc in f.scope.calls):
        return True
    return assigned == "_"


# claims (and header fields) that pick the key a token is then verified with: its audience, its key id
KEY_CLAIMS = frozenset({"aud", "kid", "iss", "alg", "typ"})


def _inside(p: Pos, q: Pos) -> bool:
    return (q.line, q.col) <= (p.line, p.col) and (p.end_line, p.end_col) <= (q.end_line, q.end_col)


def _verifying(call: Call) -> bool:
    """``jwt.decode(token, key, algorithms=[...])``: a key and algorithms are passed and no check is turned off."""
    key = call.arg(1, "key")
    if key is None or (isinstance(key, Const) and not key.value) or call.arg(2, "algorithms") is None:
        return False
    opts = render(call.kwarg("options"), 300) if call.kwarg("options") is not None else ""
    return "verify_signature" not in opts and call.kwarg("verify") is None


def _token_of(call: Call) -> Expr | None:
    return call.arg(0, "jwt") or call.kwarg("token")


def _verified_decodes(fn: Function) -> list[tuple[CallSite, Call]]:
    return [(site, site.call) for site, target in fn.calls
            if jwt_decode_library(target) is not None and _verifying(site.call)]


def _key_selection(app: AppModel, fn: Function | None, assigned: str | None, token: Expr | None,
                   line: int) -> tuple[list[str], str] | None:
    """The unverified claims ``assigned`` serve only to pick the key a verified decode of the same token then
    uses: only ``aud``/``kid``/``iss``-like claims are read, and what is made of them goes only into that
    decode (``key = keys[unverified["kid"]]`` then ``jwt.decode(token, key, algorithms=[...])``), or is all
    the function returns, and every caller uses that result only inside the ``key`` of a verified decode of
    the token it passed (``key=SPOT_KEY if is_spot_token(token) else KEY``). The claims read and the function
    that verifies, else None."""
    if fn is None or not assigned or token is None:
        return None
    read = _metadata_only(fn, assigned, METADATA_CLAIMS | KEY_CLAIMS)
    if not read:
        return None
    f = fn.fact
    held = {assigned}
    for _ in range(3):
        for a in f.scope.assigns:
            if a.target and "." not in a.target and a.value is not None \
                    and any(isinstance(x, Name) and x.id in held for x in walk(a.value)):
                held.add(a.target)
    derived = [a for a in f.scope.assigns if a.target in held]
    shown = render(token, 200)
    here = [(site, call) for site, call in _verified_decodes(fn)
            if site.pos.line > line and render(_token_of(call), 200) == shown]

    def uses(e: Expr | None) -> bool:
        return any(isinstance(x, Name) and x.id in held for x in walk(e))

    verified = {render(call, 300) for _, call in here}

    def loose(e: Expr | None) -> bool:  # a held name outside the verified decodes
        if e is None or isinstance(e, Call) and render(e, 300) in verified:
            return False
        if isinstance(e, Name):
            return e.id in held
        return any(loose(c) for c in children(e))

    # every other expression of the function leaves the claims and what is made of them alone
    inert = [a.pos for a in derived] + [s.pos for s, _ in here] + [r.pos for r in f.scope.returns]
    if any(loose(site.call) for site in f.calls if not any(_inside(site.pos, q) for q in inert)):
        return None
    if any(loose(c.left) or loose(c.right) for c in f.compares if not any(_inside(c.pos, q) for q in inert)):
        return None
    if any(loose(r.expr) for r in f.raises):
        return None
    returned = [r for r in f.scope.returns if loose(r.value)]
    if here:
        return (read, fn.fact.qualname) if not returned and any(uses(call) for _, call in here) else None
    if not returned:
        return None
    # the function hands back only a value made of the claims: every caller must use it to pick a key
    params = [p.name for p in f.params if p.name not in ("self", "cls")]
    if not isinstance(token, Name) or token.id not in params:
        return None
    index = params.index(token.id)
    verifier = None
    for g in app.functions.values():
        for site, target in g.calls:
            if target != fn.qualname:
                continue
            passed = site.call.arg(index, token.id)
            picked = [call for _, call in _verified_decodes(g)
                      if passed is not None and render(_token_of(call), 200) == render(passed, 200)
                      and any(isinstance(x, Call) and render(x, 300) == render(site.call, 300)
                              for x in walk(call.arg(1, "key")))]
            if not picked:
                return None
            verifier = verifier or g.fact.qualname
    return (read, verifier) if verifier else None


# the identity provider's endpoints that accept or refuse a token: what they answer proves it
PROVIDER_CHECK_WORDS = ("userinfo", "user_info", "introspect", "tokeninfo", "token_info")
LOG_CALLS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "print"})


def _names_provider_check(e: Expr) -> bool:
    """A call's name, or a URL or a name among its arguments, names a userinfo or introspection endpoint."""
    for x in walk(e):
        text = x.id if isinstance(x, Name) else x.attr if isinstance(x, Attr) else \
            x.value if isinstance(x, Const) and isinstance(x.value, str) else None
        if text and any(w in text.lower().replace("-", "_") for w in PROVIDER_CHECK_WORDS):
            return True
    return False


def _proven_by_provider(fn: Function | None, token: Expr | None, line: int) -> bool:
    """Before ``line``, the function sends the token to the identity provider's userinfo or introspection
    endpoint (``client.userinfo(token={"access_token": token})``, ``httpx.get(USERINFO_URL, headers={
    "Authorization": f"Bearer {token}"})``): the provider accepted it, so the decode only reads claims of a
    token already proven. The token is followed through locals that hold it (``data = {"access_token": token}``)."""
    if fn is None or token is None:
        return False
    shown = render(token)
    held: set[str] = set()

    def carries(e: Expr | None) -> bool:
        return any(render(x) == shown or isinstance(x, Name) and x.id in held for x in walk(e))
    for _ in range(2):
        for a in fn.fact.scope.assigns:
            if a.pos.line < line and a.target and "." not in a.target and carries(a.value):
                held.add(a.target)
    for site in fn.fact.calls:
        call = site.call
        if site.pos.line >= line or call is None:
            continue
        args = [*call.args, *(v for _, v in call.kwargs)]
        name = call.func.attr if isinstance(call.func, Attr) else call.func.id if isinstance(call.func, Name) else ""
        if name in LOG_CALLS:
            continue  # ``log.warning("userinfo refused %s", token)`` says it, sends nothing
        if any(carries(a) for a in args) and (_names_provider_check(call.func) or any(_names_provider_check(a) for a in args)):
            return True
    return False


def _wanted(target: str | None) -> bool:
    """The targets of the calls ``check`` looks at (``iter_calls_to`` skips the others)."""
    return jwt_decode_library(target) is not None


@register
class JwtDecodeWithoutVerification(Rule):
    code = "FAL501"
    name = "jwt-decode-without-verification"
    summary = "A JWT is decoded with signature verification off (`verify_signature: False`, `verify=False`, `none`)"
    severity = Severity.ERROR
    other_severities = {Severity.INFO: "for an OpenID Connect ID token that no request is shown to supply (one the "
                                       "server received from the provider's token endpoint), and for claims of which "
                                       "only `exp`, `iat`, `nbf` or `iss` is read and nothing is handed on, or of "
                                       "which an `aud`/`kid`-like claim only picks the key of a verified decode of "
                                       "the same token, with medium confidence"}
    cwe = ("CWE-347",)
    owasp = ("API2:2023",)
    security_severity = 9.1

    def check(self, app: AppModel) -> Iterator[Finding]:
        for cc in iter_calls_to(app, _wanted):
            lib = jwt_decode_library(cc.target)
            if lib is None:
                continue
            reason = unverified_reason(app, cc)
            if reason is None:
                continue
            call = short_target(cc.target or "jwt.decode")
            entity = f"{cc.function.qualname if cc.function else cc.module}:{call}"
            token = cc.call.arg(0, "jwt") or cc.call.kwarg("token")
            if _is_id_token(token) and not _from_request(app, cc, token):
                yield self.finding(
                    cc.path, cc.line, cc.col,
                    f"`{call}(...)` in {where_label(cc.function, cc.module)} reads an OpenID Connect ID token without "
                    f"checking its signature ({reason}), and no request is shown to supply the token: one the server "
                    "received straight from the provider's token endpoint over TLS may be read so (OpenID Connect "
                    "Core 3.1.3.7); one a client sends must be verified",
                    help="if a client can ever hand this token in (a mobile app's sign-in, a form post), verify it "
                         "with the provider's keys (`PyJWKClient`) and check `aud` and `iss`; otherwise say where "
                         "it comes from in a comment",
                    entity=entity,
                    severity=Severity.INFO, confidence=Confidence.MEDIUM,
                )
                continue
            if _proven_by_provider(cc.function, token, cc.line):
                continue  # the provider's userinfo or introspection endpoint accepted the token first
            site = next((st for st, _ in cc.function.calls if st.call is cc.call), None) if cc.function else None
            if _claims_discarded(cc.function, cc.call, site.assigned_to if site is not None else None):
                continue  # only whether it parses is used (``is_jwt``): no claim of it is believed
            picks = _key_selection(app, cc.function, site.assigned_to if site is not None else None, token, cc.line)
            if picks is not None and not set(picks[0]) <= METADATA_CLAIMS:
                read, verifier = picks
                yield self.finding(
                    cc.path, cc.line, cc.col,
                    f"`{call}(...)` in {where_label(cc.function, cc.module)} does not verify the token's signature "
                    f"({reason}), but only {', '.join(f'`{m}`' for m in read)} is read of the claims, to pick the key "
                    f"with which `{verifier}` then verifies the same token: a forged value only picks which key "
                    "checks it, it grants nothing",
                    help="keep it that way: never authorize on these claims; `jwt.get_unverified_header()` reads a "
                         "`kid` without decoding the claims",
                    entity=entity,
                    severity=Severity.INFO, confidence=Confidence.MEDIUM,
                )
                continue
            meta = _metadata_only(cc.function, site.assigned_to if site is not None else None)
            if meta:
                yield self.finding(
                    cc.path, cc.line, cc.col,
                    f"`{call}(...)` in {where_label(cc.function, cc.module)} does not verify the token's signature "
                    f"({reason}), but only {', '.join(f'`{m}`' for m in meta)} is read of the claims it returns, and "
                    "they go nowhere else: a forged value changes a number or picks the keys that then verify the "
                    "token, it grants nothing",
                    help="keep it that way: never authorize on these claims; `jwt.decode(..., options={\"verify_"
                         "signature\": False})` is fine for an age in a log line or for the issuer before verifying",
                    entity=entity,
                    severity=Severity.INFO, confidence=Confidence.MEDIUM,
                )
                continue
            yield self.finding(
                cc.path, cc.line, cc.col,
                f"`{call}(...)` in {where_label(cc.function, cc.module)} does not verify the token's signature "
                f"({reason}): anyone can forge the claims it returns",
                help="verify every token you act on: pass the key and `algorithms=[\"HS256\"]` (or your one "
                     "asymmetric algorithm) and keep `verify_signature` on; to peek at an untrusted header use "
                     "`jwt.get_unverified_header()` and never authorize on it",
                entity=entity,
            )
