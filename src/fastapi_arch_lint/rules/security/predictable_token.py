"""FAL535 predictable-token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi_arch_lint.analysis.calls import is_test_path
from fastapi_arch_lint.analysis.taint import is_offline_module
from fastapi_arch_lint.analysis.values import value
from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import Attr, BinOp, Call, DictExpr, Const, Expr, FStr, Name, Subscript, walk
from fastapi_arch_lint.model.facts import CallSite, Pos
from fastapi_arch_lint.rule import Rule, register

# the module ``random`` (and its ``Random()`` instances): a Mersenne Twister, not ``secrets`` or ``SystemRandom``
RANDOM_FUNCS = frozenset({"random", "randint", "randrange", "choice", "choices", "getrandbits", "sample", "randbytes"})
# words that make a name a secret on their own
SECRET_WORDS = frozenset({"token", "password", "passwd", "passphrase", "secret", "otp", "totp", "hotp", "nonce",
                          "csrf", "xsrf", "salt", "apikey", "pin", "sessionid", "passcode"})
# ``api_key``, ``reset_code``, ``session_id``: a qualifier followed by a kind of secret
KEY_QUALIFIERS = frozenset({"api", "access", "secret", "private", "signing", "session", "auth", "license", "activation",
                            "encryption", "refresh", "bearer"})
CODE_QUALIFIERS = frozenset({"reset", "verification", "verify", "confirmation", "confirm", "activation", "invite",
                             "invitation", "magic", "login", "auth", "mfa", "twofa", "security", "recovery", "unlock",
                             "pairing", "sms", "email", "access", "otp"})
# words that make the name about a secret, not the secret itself (``token_length``, ``password_hint``), or
# a token that guards nothing (a page cursor, a word of a language model's vocabulary)
ABOUT_WORDS = frozenset({"count", "length", "len", "size", "max", "min", "limit", "ttl", "expiry", "expires", "expire",
                         "expiration", "timeout", "delay", "index", "idx", "type", "kind", "name", "field", "column",
                         "hint", "label", "attempts", "retries", "policy", "strength", "version", "format",
                         "next", "prev", "previous", "page", "continuation", "pagination", "cursor", "sample", "sampled",
                         "vocab", "word", "bos", "eos", "pad", "unk", "mask", "input", "output", "prompt", "completion",
                         "special"})

# the last word of a name for the handle of a secret (a session id is itself the secret: not here)
ID_WORDS = frozenset({"id", "ids", "uuid", "ref", "handle"})

HELP = ("make secrets with the `secrets` module: `secrets.token_urlsafe(32)` for tokens and keys, "
        "`secrets.choice(alphabet)` for passwords, `f\"{secrets.randbelow(10**6):06d}\"` for a one-time code")


def name_words(name: str) -> list[str]:
    last = name.rsplit(".", 1)[-1]
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", last)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def is_secret_name(name: str) -> bool:
    words = name_words(name)
    if not words or set(words) & ABOUT_WORDS:
        return False
    if len(words) > 1 and words[-1] in ID_WORDS and words[-2] != "session":
        return False  # ``secret_id``, ``token_id``: the handle a secret is kept under, not the secret
    if set(words) & SECRET_WORDS:
        return True
    return any(b in ("key", "id") and a in KEY_QUALIFIERS and (b == "key" or a == "session")
               or b in ("code", "link", "pin") and a in CODE_QUALIFIERS for a, b in zip(words, words[1:]))


def _inside(pos: Pos, outer: Pos) -> bool:
    return (outer.line, outer.col) <= (pos.line, pos.col) and (pos.end_line, pos.end_col) <= (outer.end_line, outer.end_col)


@dataclass(frozen=True, slots=True)
class Use:
    """Where a random value becomes a secret: the name, and the place."""

    name: str
    path: str
    line: int
    how: str  # "assigned to" | "returned by" | "passed as" | "stored under"


def _carries(expr: Expr | None, calls: set[tuple[int, int]], names: set[str]) -> bool:
    return any(isinstance(x, Call) and (x.line, x.col) in calls or isinstance(x, Name) and x.id in names
               for x in walk(expr))


def _returned_value(expr: Expr | None) -> Expr | None:
    """What a ``return`` hands back, for following a value into it: not the arguments of a call whose result
    is only read for an attribute (``return store.create(name=name).id``: the new record's id, not ``name``)."""
    return None if isinstance(expr, Attr) and isinstance(expr.value, Call) else expr


def secret_uses(fn: Function, pos: Pos) -> tuple[list[Use], bool]:
    """Where the value made by the call at ``pos`` becomes a secret in ``fn``; and whether ``fn``
    returns it (its callers decide then)."""
    calls = {(s.call.line, s.call.col) for s, _ in fn.calls if _inside(pos, s.pos)}
    names: set[str] = set()
    uses: list[Use] = []
    for a in fn.fact.scope.assigns:  # in source order: ``code = ...; user.reset_code = code``
        if a.pos.end_line < pos.line or not (_inside(pos, a.pos) or _carries(a.value, calls, names)):
            continue
        if is_secret_name(a.target) and not (_id_name(a.target) and _label_only(fn, a.target)):
            uses.append(Use(a.target.rsplit(".", 1)[-1], fn.path, a.pos.line, "assigned to"))
        elif a.target and "." not in a.target:
            names.add(a.target)
    exprs: list[Expr] = [a.value for a in fn.fact.scope.assigns if a.value is not None]
    exprs += [r.value for r in fn.fact.scope.returns if r.value is not None]
    exprs += [s.call for s, _ in fn.calls]
    for e in exprs:
        for x in walk(e):
            pairs: list[tuple[str, Expr]] = []
            if isinstance(x, Call):
                pairs = [(k, v) for k, v in x.kwargs]
            elif isinstance(x, DictExpr):
                pairs = [(k.value, v) for k, v in zip(x.keys, x.values) if isinstance(k, Const) and isinstance(k.value, str)]
            for key, value in pairs:
                if is_secret_name(key) and _carries(value, calls, names):
                    how = "passed as" if isinstance(x, Call) else "stored under"
                    uses.append(Use(key, fn.path, getattr(x, "line", 0) or pos.line, how))
    returned = any(_inside(pos, r.pos) or _carries(_returned_value(r.value), calls, names) for r in fn.fact.scope.returns)
    if returned and is_secret_name(fn.fact.name):
        uses.append(Use(fn.fact.name, fn.path, fn.fact.pos.line, "returned by"))
        returned = False
    return uses, returned


def _id_name(name: str) -> bool:
    """A plain local named an id (``session_id``, ``sessionId``): a secret when it is the session's cookie, a
    label when it only groups records."""
    if "." in name:
        return False
    words = name_words(name)
    return bool(words) and (words[-1] in ID_WORDS or words[-1] == "sessionid")


def _mentions(expr: Expr | None, name: str) -> bool:
    return any(isinstance(x, Name) and x.id == name for x in walk(expr))


def _label_only(fn: Function, name: str) -> bool:
    """The local ``name`` is only ever read to build a label: every read is an f-string assigned whole to
    another local that no name makes a secret (``tag = f"batch_{session_id}"``). Never returned, compared,
    passed to a call (a cookie, a header, a store), put into a collection, nor kept in a function that stores
    into a container by key (``sessions[sid] = ...``, whose key this cannot see)."""
    if fn.fact.scope.stores:
        return False
    reads = 0
    for a in fn.fact.scope.assigns:
        if not _mentions(a.value, name):
            continue
        if not (isinstance(a.value, FStr) and a.target and "." not in a.target and not a.augmented
                and not is_secret_name(a.target) and not {"cookie", "header", "auth"} & set(name_words(a.target))):
            return False
        reads += 1
    if any(_mentions(r.value, name) for r in fn.fact.scope.returns):
        return False
    if any(_mentions(c.left, name) or _mentions(c.right, name) for c in fn.fact.compares):
        return False
    if any(_mentions(site.call, name) for site, _ in fn.calls):
        return False
    return reads > 0


def _text(app: AppModel, fn: Function, expr: Expr | None, line: int, depth: int = 0) -> bool:
    """``expr`` is text or a range of numbers: an alphabet a draw takes characters or digits from
    (``ALPHABET``, ``string.digits``, ``range(10**5, 10**6)``). Also when the value cannot be known:
    a name imported from elsewhere, a parameter of unknown type."""
    if expr is None or depth > 3:
        return True
    if isinstance(expr, (Const, FStr)):
        return isinstance(expr, FStr) or isinstance(expr.value, (str, bytes))
    if isinstance(expr, BinOp):
        return _text(app, fn, expr.left, line, depth + 1) or _text(app, fn, expr.right, line, depth + 1)
    if isinstance(expr, Subscript):
        return _text(app, fn, expr.value, line, depth + 1)
    if isinstance(expr, Call):
        return isinstance(expr.func, Name) and expr.func.id in ("range", "str", "bytes")
    if isinstance(expr, Attr):
        return isinstance(expr.value, Name) and expr.value.id == "string"
    if not isinstance(expr, Name):
        return False  # a comprehension, a list or tuple of items
    known = value(app, expr, fn.module, fn, line)
    if isinstance(known, (str, bytes, range)):
        return True
    local = [a.value for a in fn.fact.scope.assigns if a.target == expr.id and a.pos.line < line]
    if local:
        return any(_text(app, fn, v, line, depth + 1) for v in local)
    param = next((p for p in fn.fact.params if p.name == expr.id), None)
    if param is not None:
        return param.annotation is None or _text(app, fn, param.annotation, line, depth + 1) \
            or isinstance(param.annotation, Name) and param.annotation.id in ("str", "bytes")
    module = app.module(fn.module)
    held = [a.value for a in module.facts.scope.assigns if a.target == expr.id] if module is not None else []
    return not held or any(_text(app, fn, v, line, depth + 1) for v in held)


def is_pick(app: AppModel, fn: Function, site: CallSite, target: str) -> bool:
    """``x = random.choice(backends)`` (or ``return random.choice(backends)``): one of the caller's own
    items picked once, a model, a server, a replica to balance load over, not a secret drawn. A draw
    takes characters or digits from an alphabet or a range, or repeats the pick (in a comprehension,
    a loop); that still counts."""
    if not target.endswith(".choice") or len(site.call.args) != 1:
        return False
    whole = any(a.value is not None and a.value == site.call and not a.augmented for a in fn.fact.scope.assigns) \
        or any(r.value is not None and r.value == site.call for r in fn.fact.scope.returns)
    return whole and not _text(app, fn, site.call.args[0], site.pos.line)


def nonce_only(name: str) -> bool:
    """``nonce``, ``oauth_nonce``, ``gen_nonce``: the name says nonce and nothing else that makes a secret. A nonce
    is often only meant to be unique (OAuth 1.0a's ``oauth_nonce``, sent in clear beside a signature that rests on
    other secrets); some must be unguessable (a CSP nonce): a reader tells which."""
    words = name_words(name)
    return "nonce" in words and not is_secret_name("_".join(w for w in words if w != "nonce"))


@register
class PredictableToken(Rule):
    code = "FAL535"
    name = "predictable-token"
    summary = "A token, password, one-time code or key is made with `random`, whose output can be predicted"
    severity = Severity.WARNING
    confidence = Confidence.HIGH
    cwe = ("CWE-338", "CWE-330")
    owasp = ("API2:2023", "A02:2021")
    security_severity = 7.5
    other_severities = {Severity.INFO: "for a value named only a nonce (`nonce`, `oauth_nonce`), which may only "
                                       "have to be unique"}

    def check(self, app: AppModel) -> Iterator[Finding]:
        callers: dict[str, list[tuple[Function, CallSite]]] | None = None
        for fn in app.functions.values():
            if is_test_path(fn.path) or is_offline_module(app, fn):
                continue
            for site, target in fn.calls:
                if not _is_random(target) or site.call.kwarg("weights") is not None or site.call.kwarg("cum_weights") is not None:
                    continue  # weighted sampling picks among outcomes; no secret is drawn that way
                if is_pick(app, fn, site, target):
                    continue
                uses, returned = secret_uses(fn, site.pos)
                confidence = None
                if not uses and returned:
                    if callers is None:
                        callers = _callers(app)
                    for caller, at in callers.get(fn.qualname, ()):
                        uses += secret_uses(caller, at.pos)[0]
                    confidence = Confidence.MEDIUM
                if not uses:
                    continue
                use = uses[0]
                where = f"`{use.name}`" if use.how != "returned by" else f"`{use.name}()`"
                nonce = all(nonce_only(u.name) for u in uses)
                yield self.finding(
                    fn.path, site.pos.line, site.pos.col,
                    f"`{target}()` makes the value {use.how} {where}: `random` is a Mersenne Twister, whose next "
                    f"outputs can be computed from earlier ones, so "
                    + ("the nonce can be predicted; that costs nothing if it only has to be unique (OAuth 1.0a's "
                       "`oauth_nonce`, sent in clear beside a signature), but a nonce that must be unguessable (a "
                       "CSP nonce, an OpenID Connect nonce) is then broken" if nonce else "the secret can be guessed"),
                    help=HELP, confidence=confidence, entity=f"{fn.qualname}:{use.name}",
                    severity=Severity.INFO if nonce else None,
                    related=tuple(Related(u.path, u.line, f"the value is {u.how} `{u.name}` here") for u in uses
                                  if (u.path, u.line) != (fn.path, site.pos.line)),
                    end_line=site.pos.end_line, end_col=site.pos.end_col,
                )


def _is_random(target: str | None) -> bool:
    if not target:
        return False
    head, _, func = target.rpartition(".")
    return func in RANDOM_FUNCS and head in ("random", "random.Random()")


def _callers(app: AppModel) -> dict[str, list[tuple[Function, CallSite]]]:
    out: dict[str, list[tuple[Function, CallSite]]] = {}
    for fn in app.functions.values():
        if is_test_path(fn.path) or is_offline_module(app, fn):
            continue
        for site, target in fn.calls:
            if target in app.functions:
                out.setdefault(target, []).append((fn, site))
    return out
