"""FAL505 weak-password-hash."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import CodeCall, iter_calls_to, where_label
from fastapi_arch_lint.analysis.names import PASSWORD_RE, identifiers
from fastapi_arch_lint.analysis.values import call_value
from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import Call, Expr, Name, walk
from fastapi_arch_lint.rule import Rule, register

FAST_HASHES = frozenset({
    "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256", "sha3_384", "sha3_512",
    "blake2b", "blake2s", "shake_128", "shake_256", "sm3", "ripemd160", "md4",
})
# passlib schemes that are broken, unsalted, plaintext or a single fast digest
WEAK_SCHEMES = frozenset({
    "md5_crypt", "apr_md5_crypt", "sun_md5_crypt", "plaintext", "ldap_plaintext", "roundup_plaintext",
    "hex_md4", "hex_md5", "hex_sha1", "hex_sha256", "hex_sha512", "ldap_md5", "ldap_sha1", "ldap_salted_md5",
    "ldap_salted_sha1", "ldap_salted_sha256", "ldap_salted_sha512", "des_crypt", "bsdi_crypt", "bigcrypt",
    "crypt16", "mysql323", "mysql41", "postgres_md5", "oracle10", "oracle11", "lmhash", "nthash", "msdcc",
    "msdcc2", "htdigest", "cisco_pix", "cisco_asa", "cisco_type7", "django_salted_md5", "django_salted_sha1",
    "django_des_crypt", "django_disabled",
})
# slow, salted password hashers: a fast digest feeding one of these is a pre-hash, not the storage format
STRONG_PREFIXES = ("bcrypt.", "argon2.", "pwdlib.", "passlib.", "hashlib.scrypt", "hashlib.pbkdf2_hmac",
                   "cryptography.hazmat.primitives.kdf.")
# a function about these is hashing a token or a breach-check prefix, not storing a password
NOT_STORAGE_RE = re.compile(r"token|pwned|breach|hibp|leak|reset|link|api_?key|fingerprint|etag|checksum", re.I)


def _passwordish(call: Call, fn: Function | None) -> str | None:
    """What makes this digest a password hash: an argument or the function's name."""
    for arg in (*call.args, *(v for _, v in call.kwargs)):
        for ident in identifiers(arg):
            if PASSWORD_RE.search(ident) and not NOT_STORAGE_RE.search(ident):
                return f"its input `{ident}`"
    if fn is not None and PASSWORD_RE.search(fn.fact.name) and not NOT_STORAGE_RE.search(fn.fact.name):
        return f"the function name `{fn.fact.name}`"
    return None


def _is_digest(e: Expr, cc: CodeCall) -> bool:
    return isinstance(e, Call) and (e.line, e.col) == (cc.call.line, cc.call.col)


def _feeds_strong_hasher(cc: CodeCall) -> bool:
    """``bcrypt.hashpw(hashlib.sha256(pw).digest(), salt)``: the fast digest is only a pre-hash.

    Also through local names: ``pw = hashlib.sha256(pw).digest()`` (often only when the password is
    longer than bcrypt's 72 bytes), then ``bcrypt.hashpw(pw, salt)`` in the same function."""
    if cc.function is None:
        return False
    # the local names that hold the digest, or a value made from it (``b64encode(digest)``)
    holders: set[str] = set()
    assigns = [a for a in cc.function.fact.scope.assigns if a.target.isidentifier() and a.value is not None]
    changed = True
    while changed:
        changed = False
        for a in assigns:
            if a.target in holders:
                continue
            if any(_is_digest(e, cc) or (isinstance(e, Name) and e.id in holders) for e in walk(a.value)):
                holders.add(a.target)
                changed = True
    for site, target in cc.function.calls:
        if not target or not target.startswith(STRONG_PREFIXES):
            continue
        for arg in (*site.call.args, *(v for _, v in site.call.kwargs)):
            if any(_is_digest(e, cc) or (isinstance(e, Name) and e.id in holders) for e in walk(arg)):
                return True
    return False


def _schemes(app: AppModel, expr: Expr | None, cc: CodeCall) -> tuple[str, ...]:
    v = call_value(app, cc, expr)
    if isinstance(v, str):
        v = tuple(s.strip() for s in v.split(","))
    if isinstance(v, (tuple, list)):
        return tuple(s for s in v if isinstance(s, str))
    return ()


def _wanted(target: str | None) -> bool:
    """The targets of the calls ``check`` looks at (``iter_calls_to`` skips the others)."""
    return target is not None and target.startswith(("hashlib.", "passlib."))


@register
class WeakPasswordHash(Rule):
    code = "FAL505"
    name = "weak-password-hash"
    summary = "Passwords are hashed with a fast digest (md5, sha1, sha256...) or a broken passlib scheme"
    severity = Severity.ERROR
    cwe = ("CWE-916", "CWE-328")
    owasp = ("API2:2023",)
    security_severity = 7.5

    def check(self, app: AppModel) -> Iterator[Finding]:
        for cc in iter_calls_to(app, _wanted):
            target = cc.target
            if not target:
                continue
            where = where_label(cc.function, cc.module)
            entity = f"{cc.function.qualname if cc.function else cc.module}:{target}"
            algo = None
            if target.startswith("hashlib.") and target[len("hashlib."):] in FAST_HASHES:
                algo = target[len("hashlib."):]
            elif target == "hashlib.new":
                first = call_value(app, cc, cc.call.arg(0, "name"))
                if isinstance(first, str) and first.lower().replace("-", "_") in FAST_HASHES:
                    algo = first.lower()
            if algo is not None:
                if cc.function is not None and NOT_STORAGE_RE.search(cc.function.fact.name):
                    continue  # a breach-check prefix or a token digest, not a stored password
                why = _passwordish(cc.call, cc.function)
                if why is None or _feeds_strong_hasher(cc):
                    continue
                yield self.finding(
                    cc.path, cc.line, cc.col,
                    f"`hashlib.{algo}` hashes a password in {where} ({why} says so): a fast digest is cracked "
                    "at billions of guesses per second once the table leaks",
                    help="use a slow, salted password hasher: `pwdlib.PasswordHash.recommended()` (Argon2), "
                         "`argon2.PasswordHasher`, `bcrypt`, or `hashlib.scrypt`/`pbkdf2_hmac` with a random salt "
                         "and a high work factor; rehash on the next login",
                    entity=entity,
                )
                continue
            if target in ("passlib.context.CryptContext", "passlib.CryptContext"):
                schemes = _schemes(app, cc.call.arg(0, "schemes"), cc)
                if not schemes:
                    continue
                deprecated = _schemes(app, cc.call.kwarg("deprecated"), cc)
                auto = "auto" in deprecated
                weak = [s for i, s in enumerate(schemes) if s in WEAK_SCHEMES
                        and (i == 0 or not (auto or s in deprecated))]
                if not weak:
                    continue
                listed = ", ".join(f"`{s}`" for s in weak)
                yield self.finding(
                    cc.path, cc.line, cc.col,
                    f"`CryptContext` in {where} hashes or accepts passwords with {listed}: "
                    + ("the default scheme is " if schemes[0] in WEAK_SCHEMES else "a scheme that is not deprecated is ")
                    + "broken, unsalted or plaintext",
                    help='put a modern scheme first (`schemes=["argon2", "bcrypt"]`) and keep legacy ones only '
                         'for verification with `deprecated="auto"` so they are rehashed on login',
                    entity=entity,
                )
                continue
            m = re.fullmatch(r"passlib\.hash\.(\w+)\.(?:hash|encrypt|using)", target)
            if m and m.group(1) in WEAK_SCHEMES:
                yield self.finding(
                    cc.path, cc.line, cc.col,
                    f"`passlib.hash.{m.group(1)}` in {where} is a broken or plaintext password scheme",
                    help="hash with `argon2` or `bcrypt` (through `pwdlib` or passlib's `CryptContext`)",
                    entity=entity,
                )
