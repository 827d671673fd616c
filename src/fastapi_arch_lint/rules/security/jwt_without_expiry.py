"""FAL503 jwt-without-expiry."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import CodeCall, iter_calls_to, where_label
from fastapi_arch_lint.analysis.libraries import jwt_decode_library, jwt_encode_library, short_target
from fastapi_arch_lint.analysis.values import dict_value
from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import Attr, Call, Const, DictExpr, Expr, Name
from fastapi_arch_lint.rule import Rule, register

# reading these does not add a claim
_READS = frozenset({"get", "items", "keys", "values", "copy", "pop", "__contains__"})


def literal_keys(expr: Expr | None) -> set[str] | None:
    """The keys of a dict literal or ``dict(k=...)`` call; None when not all are known."""
    if isinstance(expr, DictExpr):
        keys = set()
        for k in expr.keys:
            if not (isinstance(k, Const) and isinstance(k.value, str)):
                return None
            keys.add(k.value)
        return keys
    if isinstance(expr, Call) and isinstance(expr.func, Name) and expr.func.id == "dict" and not expr.args \
            and not expr.starred:
        return {k for k, _ in expr.kwargs}
    return None


def local_dict_without_exp(name: str, fn: Function, encode: Call) -> bool:
    """``name`` is a dict built in ``fn`` from literals, and nothing in ``fn`` gives it an ``exp``."""
    assigns = [a for a in fn.fact.scope.assigns if a.target == name]
    if not assigns:
        return False  # a parameter or something the model does not see: its keys are unknown
    for a in assigns:
        keys = literal_keys(a.value)
        if keys is None or "exp" in keys:
            return False
    if (name, "exp") in fn.fact.subscripts:
        return False  # payload["exp"] = ...
    for site, _ in fn.calls:
        c = site.call
        if c is encode:
            continue
        if isinstance(c.func, Attr) and isinstance(c.func.value, Name) and c.func.value.id == name:
            method = c.func.attr
            if method == "update":
                if c.starred or c.kwarg("exp") is not None:
                    return False
                for arg in c.args:
                    keys = literal_keys(arg)
                    if keys is None or "exp" in keys:
                        return False
                continue
            if method == "setdefault":
                first = c.args[0] if c.args else None
                if not (isinstance(first, Const) and first.value != "exp"):
                    return False
                continue
            if method in _READS:
                continue
            return False
        # handed to a helper that may add the claim
        if any(isinstance(arg, Name) and arg.id == name for arg in (*c.args, *(v for _, v in c.kwargs))):
            return False
    return True


def payload_without_exp(cc: CodeCall) -> str | None:
    """A description of the payload when it surely has no ``exp`` claim."""
    call = cc.call
    payload = call.kwarg("payload") or call.kwarg("claims") or (call.args[0] if call.args else None)
    keys = literal_keys(payload)
    if keys is not None:
        return None if "exp" in keys else "a dict literal with no `exp` key"
    if isinstance(payload, Name) and cc.function is not None and local_dict_without_exp(payload.id, cc.function, call):
        return f"`{payload.id}`, built in this function with no `exp` key"
    return None


def _wanted(target: str | None) -> bool:
    """The targets of the calls ``check`` looks at (``iter_calls_to`` skips the others)."""
    return jwt_encode_library(target) is not None or jwt_decode_library(target) is not None


@register
class JwtWithoutExpiry(Rule):
    code = "FAL503"
    name = "jwt-without-expiry"
    summary = "A JWT is signed without an `exp` claim, or decoded with expiry checks off"
    severity = Severity.INFO
    cwe = ("CWE-613",)
    owasp = ("API2:2023",)
    security_severity = 3.7

    def check(self, app: AppModel) -> Iterator[Finding]:
        for cc in iter_calls_to(app, _wanted):
            if not cc.target:
                continue
            where = where_label(cc.function, cc.module)
            entity = f"{cc.function.qualname if cc.function else cc.module}:{short_target(cc.target)}"
            if jwt_encode_library(cc.target) is not None:
                what = payload_without_exp(cc)
                if what is None:
                    continue
                yield self.finding(
                    cc.path, cc.line, cc.col,
                    f"`{short_target(cc.target)}(...)` in {where} signs {what}: the token never expires, "
                    "so a leaked token works until the signing key is rotated",
                    help='add an expiry: `payload["exp"] = datetime.now(timezone.utc) + timedelta(minutes=15)` '
                         "(short for access tokens; refresh tokens get a longer, revocable lifetime)",
                    entity=entity,
                )
            elif jwt_decode_library(cc.target) is not None:
                options = dict_value(app, cc, cc.call.arg(3, "options"))
                if isinstance(options, dict) and options.get("verify_exp") is False \
                        and options.get("verify_signature") is not False:
                    yield self.finding(
                        cc.path, cc.line, cc.col,
                        f"`{short_target(cc.target)}(...)` in {where} turns off the expiry check "
                        '(`options={"verify_exp": False}`): expired tokens are accepted',
                        help="keep `verify_exp` on; allow for clock skew with `leeway=` instead",
                        entity=entity,
                    )
