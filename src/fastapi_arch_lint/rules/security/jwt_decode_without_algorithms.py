"""FAL502 jwt-decode-without-algorithms."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import CodeCall, iter_calls_to, where_label
from fastapi_arch_lint.analysis.libraries import jwt_decode_library, jwt_encode_library, short_target
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.analysis.names import last_identifier
from fastapi_arch_lint.analysis.values import call_value
from fastapi_arch_lint.findings import Edit, Finding, Fix, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, Name, Subscript, render, walk
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.security._common import unverified_reason


def _from_token_header(expr: Expr | None, cc: CodeCall) -> bool:
    """``algorithms=[jwt.get_unverified_header(token)["alg"]]`` (also through one local name)."""
    exprs = [expr]
    if cc.function is not None:
        names = {e.id for e in walk(expr) if isinstance(e, Name)}
        exprs += [a.value for a in cc.function.fact.scope.assigns if a.target in names]
    for root in exprs:
        for e in walk(root):
            if isinstance(e, Call) and isinstance(e.func, (Attr, Name)):
                fname = e.func.attr if isinstance(e.func, Attr) else e.func.id
                if fname == "get_unverified_header":
                    return True
            if isinstance(e, Subscript) and any(isinstance(i, Const) and i.value == "alg" for i in e.items):
                return True
    return False


# names of a key that is a PEM public key or certificate (a string python-jose before 3.4 could take as an HMAC secret)
PUBLIC_KEY_WORDS = ("public", "pub", "pem", "cert", "rsa", "ecdsa", "ssh")


def _local_sources(expr: Expr | None, cc: CodeCall, depth: int = 0) -> list[Expr]:
    """``expr`` and, for a local name, the values it is assigned (followed through local names)."""
    if expr is None:
        return []
    out = [expr]
    if isinstance(expr, Name) and cc.function is not None and depth < 4:
        for a in cc.function.fact.scope.assigns:
            if a.target == expr.id and a.value is not None and a.pos.line <= cc.line:
                out += _local_sources(a.value, cc, depth + 1)
    return out


def _jwk_from_key_set(app: AppModel, key: Expr | None, cc: CodeCall) -> bool:
    """The key is one entry of a JSON Web Key Set the function reads (``jwks["keys"]``, picked by ``kid``):
    a JWK dict, which python-jose builds for the token's ``alg`` only when its ``kty`` matches."""
    fn = cc.function
    if fn is None or not isinstance(key, Name):
        return False
    reads_key_set = any(isinstance(e, Subscript) and any(isinstance(i, Const) and i.value == "keys" for i in e.items)
                        for a in fn.fact.scope.assigns for e in walk(a.value))
    if not reads_key_set:
        return False
    params = {p.name for p in fn.fact.params}
    module = app.module(cc.module)
    if module is not None:  # a module constant or an imported key is no loop variable
        params |= {a.target for a in module.facts.scope.assigns} | {i.local for i in module.facts.imports}
    for src in _local_sources(key, cc):
        if isinstance(src, Subscript):
            return True
        # a name bound by no assignment, parameter or module name: the ``for jwk in keys:`` loop variable
        if isinstance(src, Name) and src.id not in params and not any(a.target == src.id for a in fn.fact.scope.assigns):
            return True
    return False


def _shared_secret(key: Expr | None) -> bool:
    """``settings.JWT_SECRET``: by its name an HMAC secret, not a public key a forger could sign with."""
    name = (last_identifier(key) or "").lower() if key is not None else ""
    return "secret" in name and not any(w in name for w in PUBLIC_KEY_WORDS)


# what ``jwt.encode`` signs with when it is given no ``algorithm=`` (PyJWT and python-jose alike)
DEFAULT_SIGNING_ALGORITHM = "HS256"


def _encodes(target: str | None) -> bool:
    return jwt_encode_library(target) is not None


def _key_labels(expr: Expr | None, cc: CodeCall) -> set[str]:
    """The names a key goes by: ``SECRET_KEY`` of ``settings.SECRET_KEY``, also through local names."""
    return {label for e in _local_sources(expr, cc) if (label := last_identifier(e))}


def _signing_algorithms(app: AppModel) -> dict[str, set[str | None]]:
    """For each key name the project signs JWTs with, the algorithms it signs with (``None``: one the
    analysis cannot tell, or an ``encode`` given ``**options``)."""
    out: dict[str, set[str | None]] = {}
    for cc in iter_calls_to(app, _encodes):
        expr = cc.call.arg(2, "algorithm")
        alg = DEFAULT_SIGNING_ALGORITHM if expr is None and not cc.call.starred else call_value(app, cc, expr)
        for label in _key_labels(cc.call.arg(1, "key"), cc):
            out.setdefault(label, set()).add(alg if isinstance(alg, str) and alg.lower() != "none" else None)
    return out


def _fix(app: AppModel, cc: CodeCall, lib: str) -> Fix | None:
    """``algorithms=["HS256"]``: the one algorithm the project signs with the same key (by name), known
    and the same at every ``encode`` with it; no fix otherwise. Safe for python-jose (the project's own
    tokens still decode; only tokens whose header names another algorithm, which the project never
    issues, are refused); unsafe for PyJWT (PyJWT 2 refuses every token without ``algorithms=``, so
    decoding starts to succeed)."""
    signing = memo(app, _signing_algorithms)
    algorithms: set[str | None] = set()
    for label in _key_labels(cc.call.arg(1, "key"), cc):
        algorithms |= signing.get(label, set())
    if len(algorithms) != 1 or None in algorithms:
        return None
    (alg,) = algorithms
    value = f'["{alg}"]'
    return Fix(f"pin `algorithms={value}`, what the project signs with this key",
               (Edit("keyword", cc.path, cc.line, cc.col, "algorithms", value, callee=render(cc.call.func)),),
               safe=lib == "python-jose")


def _wanted(target: str | None) -> bool:
    """The targets of the calls ``check`` looks at (``iter_calls_to`` skips the others)."""
    return jwt_decode_library(target) is not None


@register
class JwtDecodeWithoutAlgorithms(Rule):
    code = "FAL502"
    name = "jwt-decode-without-algorithms"
    summary = "A JWT is decoded without a fixed `algorithms=` list (algorithm confusion)"
    severity = Severity.ERROR
    other_severities = {Severity.INFO: "for python-jose given a JWK picked from a key set or a key named as a shared "
                                       "secret: the library builds the key for the header's algorithm and refuses a "
                                       "key of another type, and has no `none` algorithm"}
    cwe = ("CWE-327", "CWE-347")
    owasp = ("API2:2023",)
    security_severity = 8.1

    def check(self, app: AppModel) -> Iterator[Finding]:
        for cc in iter_calls_to(app, _wanted):
            lib = jwt_decode_library(cc.target)
            if lib is None or cc.call.starred:
                continue
            if unverified_reason(app, cc) is not None:
                continue  # FAL501 says it: the signature is not checked at all
            algorithms = cc.call.arg(2, "algorithms")
            call = short_target(cc.target or "jwt.decode")
            where = where_label(cc.function, cc.module)
            severity = None
            fix = None
            if algorithms is None or (isinstance(algorithms, Const) and algorithms.value is None):
                fix = _fix(app, cc, lib)
                problem = "without `algorithms=`"
                why = "the algorithm is then whatever the token's header says" if lib == "python-jose" else \
                      "PyJWT 2 rejects every token, PyJWT 1 and python-jose let the token's header choose the algorithm"
                key = cc.call.arg(1, "key")
                if lib == "python-jose" and _jwk_from_key_set(app, key, cc):
                    severity = Severity.INFO
                    why += (", but the key is a JWK from a key set: python-jose builds it for that algorithm only "
                            "when its `kty` matches (an RSA JWK cannot become an HMAC secret) and knows no `none`")
                elif lib == "python-jose" and _shared_secret(key):
                    severity = Severity.INFO
                    why += (", but the key is a shared secret: every algorithm python-jose accepts for it needs the "
                            "secret, and it knows no `none`")
            elif _from_token_header(algorithms, cc):
                problem = "with `algorithms` taken from the token's own header"
                why = "the attacker chooses the algorithm (an RS256 public key used as an HS256 secret, or `none`)"
            else:
                continue
            yield self.finding(
                cc.path, cc.line, cc.col,
                f"`{call}(...)` in {where} is called {problem}: {why}",
                help="pin the algorithms your issuer uses: `jwt.decode(token, key, algorithms=[\"HS256\"])` "
                     "(one algorithm family per key)",
                entity=f"{cc.function.qualname if cc.function else cc.module}:{call}", severity=severity,
                fix=fix,
            )
