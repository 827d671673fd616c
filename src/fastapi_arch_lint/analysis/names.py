"""Name heuristics: the identifiers an expression reads, which names hold secrets or passwords,
and what a secret literal looks like."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from fastapi_arch_lint.model.expr import Attr, Const, Expr, Name, Subscript, walk

# ---------------------------------------------------------------------------
# identifiers in expressions


def identifiers(expr: Expr | None) -> Iterator[str]:
    """Names, attribute names and string subscript keys read in ``expr``."""
    for e in walk(expr):
        if isinstance(e, Name):
            yield e.id
        elif isinstance(e, Attr):
            yield e.attr
        elif isinstance(e, Subscript):
            for i in e.items:
                if isinstance(i, Const) and isinstance(i.value, str):
                    yield i.value


def last_identifier(expr: Expr | None) -> str | None:
    """The name that labels a value: ``x`` of ``a.b.x``, ``"key"`` of ``d["key"]``."""
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Attr):
        return expr.attr
    if isinstance(expr, Subscript) and len(expr.items) == 1:
        i = expr.items[0]
        if isinstance(i, Const) and isinstance(i.value, str):
            return i.value
    return None


# ---------------------------------------------------------------------------
# secrets


def words(identifier: str) -> list[str]:
    """``X-API-Key`` -> [x, api, key]; ``jwtSecret`` -> [jwt, secret]; ``SECRET_KEY`` -> [secret, key]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", identifier)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


# a word that alone makes a name secret
SECRET_WORDS = frozenset({
    "secret", "password", "passwd", "passphrase", "pwd", "token", "apikey", "credential", "credentials",
})
# ``<qualifier>_key``: which keys are secrets (``sort_key``, ``primary_key``, ``cache_key`` are not)
SECRET_KEY_QUALIFIERS = frozenset({
    "secret", "api", "private", "signing", "sign", "encryption", "encrypt", "hmac", "jwt", "access", "auth",
    "master", "app", "webhook", "fernet", "aes", "crypto", "license", "stripe",
})
# a last word that makes the name something other than the secret itself
NOT_SECRET_LAST = frozenset({
    "url", "uri", "path", "file", "filename", "dir", "name", "names", "header", "headers", "field", "type",
    "types", "algorithm", "algorithms", "alg", "prefix", "suffix", "env", "var", "length", "len", "expire",
    "expires", "expiry", "expiration", "ttl", "lifetime", "minutes", "seconds", "hours", "days", "min", "max",
    "scheme", "schemes", "endpoint", "location", "id", "ids", "count", "limit", "size", "format", "pattern",
    "regex", "policy", "rounds", "iterations", "cost", "version", "kind", "label", "hint", "schema",
    "required", "enabled", "mode", "param", "parameter", "query", "cookie", "model", "class",
    "attr", "attribute", "column", "table", "hash", "hashed", "salt", "digest", "reset", "route", "router",
    "method", "methods", "example", "description", "title", "help", "message", "msg", "error", "text",
    "template", "strength", "validator", "manager", "service", "issuer", "audience",
    "scope", "scopes", "provider", "backend", "store", "storage", "generator", "factory", "cls",
})
# a value under one of these words is derived from a secret, not the secret itself
DERIVED_WORDS = frozenset({"hash", "hashed", "encrypted", "masked", "redacted", "public", "pub"})


@lru_cache(maxsize=4096)  # asked for every assignment, parameter, field and keyword in the project
def is_secret_name(identifier: str) -> bool:
    """A name that holds a credential: ``SECRET_KEY``, ``jwt_secret``, ``db_password``, ``API_KEY``..."""
    ws = words(identifier)
    if not ws:
        return False
    last = ws[-1]
    if last in NOT_SECRET_LAST or DERIVED_WORDS.intersection(ws):
        return False
    if last in SECRET_WORDS:
        return True
    if last == "key" and len(ws) > 1 and ws[-2] in SECRET_KEY_QUALIFIERS:
        return True
    # ``SECRET_KEY_V2``, ``DB_PASSWORD_2``: a trailing version or index
    if len(ws) > 1 and (last.isdigit() or re.fullmatch(r"v\d+", last)):
        return is_secret_name("_".join(ws[:-1]))
    return False


# comparing these is comparing a credential (or its digest / signature)
COMPARE_WORDS = frozenset({
    "secret", "password", "passwd", "pwd", "token", "apikey", "signature", "sig", "digest", "hmac", "otp",
    "passcode",
})


# what a digest's qualifier may say and still be a credential's digest: its role in a check, not its content
# (``expected_digest``, ``token_digest``); ``element_digest``, ``content_digest`` hash public content
DIGEST_ROLE_WORDS = frozenset({
    "expected", "computed", "calculated", "received", "provided", "given", "actual", "request", "header",
    "signed", "stored", "client", "server", "incoming", "hmac", "sha256", "sha1", "sha512", "hex", "b64", "base64",
    "auth", "api", "key", "session", "access", "refresh", "credential", "webhook", "otp",
})


def is_compared_secret(identifier: str) -> bool:
    ws = words(identifier)
    if not ws:
        return False
    last = ws[-1]
    if last == "digest" and len(ws) > 1:
        # a content digest (``element_digest``) is no secret: only a credential's, or one in a check
        return all(w in DIGEST_ROLE_WORDS or w in COMPARE_WORDS for w in ws[:-1])
    if last in COMPARE_WORDS:
        return True
    if last == "key" and len(ws) > 1 and ws[-2] in SECRET_KEY_QUALIFIERS:
        return True
    # ``password_hash``, ``hashed_token``... compared to a freshly computed one
    if last in ("hash", "hashed", "hmac") and any(w in ("password", "token", "secret", "key", "apikey") for w in ws[:-1]):
        return True
    return False


# a column that holds a principal's password verifier: its table is a user's (or a login's) table
PASSWORD_COLUMN_RE = re.compile(r"(?i)^(?:(?:hashed_)?(?:password|passwd)(?:_hash)?|pw_hash)$")


def is_password_column(name: str) -> bool:
    return PASSWORD_COLUMN_RE.match(name) is not None


PASSWORD_RE = re.compile(r"pass(?:word|wd|phrase)|pwd", re.I)

DSN_RE = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.\-]*)://(?P<user>[^:/@\s]*):(?P<password>[^@/\s]+)@", re.I)


def dsn_password(value: str) -> str | None:
    """The inline password of a connection URL (``postgresql://user:pw@host/db``), placeholders excepted."""
    m = DSN_RE.match(value.strip())
    if m is None:
        return None
    pw = m.group("password")
    if re.fullmatch(r"\$\{?\w+\}?|\{\w*\}|%s|%\(\w+\)s|\*+|<[^>]*>|x+", pw, re.I):
        return None
    return m.group("scheme")


def describe_literal(value: str) -> str:
    """A description of a secret literal that does not give the secret away."""
    n = len(value)
    article = "an" if str(n).startswith("8") or n in (11, 18) else "a"
    return f"{article} {n}-character string literal"


def is_reference_value(name: str, value: str) -> bool:
    """The literal names a secret rather than being one: empty, the variable's own name, ``${VAR}``."""
    v = value.strip()
    if not v:
        return True
    if re.fullmatch(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", v):
        return True
    # a file holding the secret: ``GOOGLE_APPLICATION_CREDENTIALS = "keys/service-account.json"``
    if re.fullmatch(r"[\w./~-]+\.(?:json|pem|key|crt|cer|p12|pfx|txt|env|ya?ml|ini|toml)", v):
        return True
    # the name itself, as a cookie, header or env var name: ``CSRF_TOKEN = "csrftoken"``
    return re.sub(r"[^a-z0-9]", "", v.lower()) == re.sub(r"[^a-z0-9]", "", name.lower())
