"""FAL509 tls-verification-disabled."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import is_test_path, iter_calls_to, iter_scopes, where_label
from fastapi_arch_lint.analysis.libraries import call_label, http_client_kind
from fastapi_arch_lint.analysis.values import call_value
from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Const, dotted
from fastapi_arch_lint.rule import Rule, register

UNVERIFIED_CONTEXTS = frozenset({"ssl._create_unverified_context", "ssl._create_stdlib_context"})
HELP = ("keep certificate verification on; for an internal CA pass its bundle (`verify=\"/etc/ssl/internal-ca.pem\"` "
        "or an `ssl.create_default_context(cafile=...)`) instead of turning checks off")


def _wanted(target: str | None) -> bool:
    """The targets of the calls ``check`` looks at (``iter_calls_to`` skips the others)."""
    return bool(target) and (target in UNVERIFIED_CONTEXTS or http_client_kind(target) is not None)


@register
class TlsVerificationDisabled(Rule):
    code = "FAL509"
    name = "tls-verification-disabled"
    summary = "Outbound HTTPS with certificate verification turned off (`verify=False`, unverified SSL context)"
    severity = Severity.ERROR
    cwe = ("CWE-295",)
    owasp = ("API8:2023", "API10:2023")
    security_severity = 7.4

    def check(self, app: AppModel) -> Iterator[Finding]:
        for cc in iter_calls_to(app, _wanted):
            if not cc.target:
                continue
            where = where_label(cc.function, cc.module)
            entity = f"{cc.function.qualname if cc.function else cc.module}:{cc.target}"
            if cc.target in UNVERIFIED_CONTEXTS:
                yield self.finding(
                    cc.path, cc.line, cc.col,
                    f"`{cc.target}()` in {where} makes an SSL context that accepts any certificate: "
                    "a man in the middle can read and change the traffic",
                    help=HELP, entity=entity,
                )
                continue
            kind = http_client_kind(cc.target)
            if kind is None:
                continue
            keys = ("ssl", "verify_ssl") if kind == "aiohttp" else ("verify",)
            for key in keys:
                expr = cc.call.kwarg(key)
                if expr is None or call_value(app, cc, expr) is not False:
                    continue
                via = "" if isinstance(expr, Const) else f" (through `{dotted(expr) or 'a constant'}`)"
                yield self.finding(
                    cc.path, cc.line, cc.col,
                    f"`{call_label(cc.target)}(..., {key}=False)` in {where}{via} does not check the server's "
                    "certificate: a man in the middle can read and change the traffic, including credentials",
                    help=HELP, entity=entity,
                )
                break
        # ``ctx.check_hostname = False`` / ``ctx.verify_mode = ssl.CERT_NONE``
        for mod, scope, fn in iter_scopes(app):
            if is_test_path(mod.path):
                continue
            for a in scope.assigns:
                if a.target.endswith(".verify_mode") and (dotted(a.value) or "").endswith("CERT_NONE"):
                    what = f"`{a.target} = ssl.CERT_NONE`"
                elif a.target.endswith(".check_hostname") and isinstance(a.value, Const) and a.value.value is False:
                    what = f"`{a.target} = False`"
                else:
                    continue
                yield self.finding(
                    mod.path, a.pos.line, a.pos.col,
                    f"{what} in {where_label(fn, mod.name)} turns off certificate checks of an SSL context",
                    help=HELP, entity=f"{fn.qualname if fn else mod.name}:{a.target}",
                )
