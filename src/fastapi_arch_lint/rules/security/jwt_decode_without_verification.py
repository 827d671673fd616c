"""FAL501 jwt-decode-without-verification."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import iter_calls_to, where_label
from fastapi_arch_lint.analysis.libraries import jwt_decode_library, short_target
from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.security._common import unverified_reason


def _wanted(target: str | None) -> bool:
    """The targets of the calls ``check`` looks at (``iter_calls_to`` skips the others)."""
    return jwt_decode_library(target) is not None


@register
class JwtDecodeWithoutVerification(Rule):
    code = "FAL501"
    name = "jwt-decode-without-verification"
    summary = "A JWT is decoded with signature verification off (`verify_signature: False`, `verify=False`, `none`)"
    severity = Severity.ERROR
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
            yield self.finding(
                cc.path, cc.line, cc.col,
                f"`{call}(...)` in {where_label(cc.function, cc.module)} does not verify the token's signature "
                f"({reason}): anyone can forge the claims it returns",
                help="verify every token you act on: pass the key and `algorithms=[\"HS256\"]` (or your one "
                     "asymmetric algorithm) and keep `verify_signature` on; to peek at an untrusted header use "
                     "`jwt.get_unverified_header()` and never authorize on it",
                entity=f"{cc.function.qualname if cc.function else cc.module}:{call}",
            )
