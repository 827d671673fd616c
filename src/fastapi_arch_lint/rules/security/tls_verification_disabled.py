"""FAL509 tls-verification-disabled."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import is_test_path, iter_calls_to, iter_scopes, where_label
from fastapi_arch_lint.analysis.libraries import call_label, http_client_kind
from fastapi_arch_lint.analysis.values import call_value
from fastapi_arch_lint.findings import Confidence, Finding, Severity
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
    other_severities = {Severity.WARNING: "with medium confidence, when only host name checks are off, or when the same "
                                          "code turns certificate checks back on in another branch (a configured mode)"}
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
        # ``ctx.check_hostname = False`` / ``ctx.verify_mode = ssl.CERT_NONE``: one finding per context and scope
        for mod, scope, fn in iter_scopes(app):
            if is_test_path(mod.path):
                continue
            off: dict[str, list[tuple[object, str]]] = {}
            back_on: set[str] = set()
            for a in scope.assigns:
                base, _, attr = a.target.rpartition(".")
                value = dotted(a.value) or ""
                if attr == "verify_mode" and value.endswith("CERT_NONE"):
                    off.setdefault(base, []).append((a, f"`{a.target} = ssl.CERT_NONE`"))
                elif attr == "check_hostname" and isinstance(a.value, Const) and a.value.value is False:
                    off.setdefault(base, []).append((a, f"`{a.target} = False`"))
                elif (attr == "verify_mode" and value.endswith(("CERT_REQUIRED", "CERT_OPTIONAL"))) or (
                        attr == "check_hostname" and isinstance(a.value, Const) and a.value.value is True):
                    back_on.add(base)
            for base, items in off.items():
                first = items[0][0]
                what = " and ".join(w for _, w in items)
                certs_off = any("CERT_NONE" in w for _, w in items)
                turn = "turn" if len(items) > 1 else "turns"
                severity = confidence = None
                if base in back_on:
                    # ``if mode == "require": ... CERT_NONE`` / ``elif mode == "verify-full": ... CERT_REQUIRED``
                    effect = (f"{turn} off certificate checks of an SSL context, and the same code turns them back "
                              "on in another branch: whether traffic is verified depends on the configured mode")
                    severity, confidence = Severity.WARNING, Confidence.MEDIUM
                elif certs_off:
                    effect = f"{turn} off certificate checks of an SSL context"
                else:
                    # the certificate is still checked against the trusted authorities; any host name is accepted
                    effect = (f"{turn} off host name checks of an SSL context: any certificate the trusted "
                              "authorities signed is accepted for this server")
                    severity, confidence = Severity.WARNING, Confidence.MEDIUM
                yield self.finding(
                    mod.path, first.pos.line, first.pos.col,
                    f"{what} in {where_label(fn, mod.name)} {effect}",
                    help=HELP, entity=f"{fn.qualname if fn else mod.name}:{base}",
                    severity=severity, confidence=confidence,
                )
