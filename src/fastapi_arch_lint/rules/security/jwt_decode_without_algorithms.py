"""FAL502 jwt-decode-without-algorithms."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import CodeCall, iter_calls_to, where_label
from fastapi_arch_lint.analysis.libraries import jwt_decode_library, short_target
from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, Name, Subscript, walk
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


def _wanted(target: str | None) -> bool:
    """The targets of the calls ``check`` looks at (``iter_calls_to`` skips the others)."""
    return jwt_decode_library(target) is not None


@register
class JwtDecodeWithoutAlgorithms(Rule):
    code = "FAL502"
    name = "jwt-decode-without-algorithms"
    summary = "A JWT is decoded without a fixed `algorithms=` list (algorithm confusion)"
    severity = Severity.ERROR
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
            if algorithms is None or (isinstance(algorithms, Const) and algorithms.value is None):
                problem = "without `algorithms=`"
                why = "the algorithm is then whatever the token's header says" if lib == "python-jose" else \
                      "PyJWT 2 rejects every token, PyJWT 1 and python-jose let the token's header choose the algorithm"
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
                entity=f"{cc.function.qualname if cc.function else cc.module}:{call}",
            )
