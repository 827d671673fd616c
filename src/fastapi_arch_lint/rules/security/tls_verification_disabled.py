"""FAL509 tls-verification-disabled."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import is_test_path, iter_calls_to, iter_scopes, where_label
from fastapi_arch_lint.analysis.libraries import call_label, http_client_kind
from fastapi_arch_lint.analysis.values import call_value
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import Call, Const, Seq, dotted
from fastapi_arch_lint.model.facts import CompareFact
from fastapi_arch_lint.rule import Rule, register

UNVERIFIED_CONTEXTS = frozenset({"ssl._create_unverified_context", "ssl._create_stdlib_context"})
HELP = ("keep certificate verification on; for an internal CA pass its bundle (`verify=\"/etc/ssl/internal-ca.pem\"` "
        "or an `ssl.create_default_context(cafile=...)`) instead of turning checks off")


# the connection modes that mean "encrypt (or not) without verifying the server": libpq's ``sslmode``
# ``disable``/``allow``/``prefer``/``require``, MySQL's ``DISABLED``/``PREFERRED``/``REQUIRED``
UNVERIFIED_MODES = frozenset({"disable", "allow", "prefer", "require", "disabled", "preferred", "required"})


def _is_unverified_mode(e: object) -> bool:
    if isinstance(e, Const):
        return isinstance(e.value, str) and e.value.lower() in UNVERIFIED_MODES
    return isinstance(e, Seq) and bool(e.items) and all(_is_unverified_mode(i) for i in e.items)


def _other_branch(fn: Function | None, line: int) -> tuple[int, ...] | None:
    """When the assignment at ``line`` sits in the branch an ``if`` takes for a configured mode that does
    not verify (``if mode == "require":``, or the ``else`` of ``if mode != "require":``): the lines of the
    assignments in that ``if``'s other branch (where the other modes go); else None."""
    for g in fn.fact.guards if fn is not None else ():
        if len(g.tests) != 1 or not isinstance(g.tests[0][1], CompareFact):
            continue
        negated, cmp = g.tests[0]
        op = cmp.op
        if op in ("==", "in"):
            positive = not negated
        elif op in ("!=", "not in"):
            positive = negated
        else:
            continue
        if not (_is_unverified_mode(cmp.right) or (op in ("==", "!=") and _is_unverified_mode(cmp.left))):
            continue
        if line in (g.body_assigns if positive else g.orelse_assigns):
            return g.orelse_assigns if positive else g.body_assigns
    return None


def _verifying_alternative(fn: Function | None, line: int) -> bool:
    """The unverified context assigned at ``line`` sits in one branch of an ``if`` whose other branch assigns
    a verifying one (``if self.validate_certs: ctx = ssl.create_default_context() else: ctx =
    ssl._create_unverified_context()``): a setting decides, not the code."""
    if fn is None:
        return False
    for g in fn.fact.guards:
        if line in g.body_assigns:
            other = g.orelse_assigns
        elif line in g.orelse_assigns:
            other = g.body_assigns
        else:
            continue
        if any(target == "ssl.create_default_context" and site.call.line in other for site, target in fn.calls):
            return True
    return False


# the words of a setting that says whether to verify certificates: ``verify_ssl``, ``ssl_verify``,
# ``verify_certs``, ``tls_verify``
VERIFY_FLAG_WORDS = frozenset({"verify", "verification", "validate"})


def _verify_flag(fn: Function | None, call: Call) -> str | None:
    """The call sits in the branch a verification setting takes when it is off: ``if not cfg.verify_ssl:``
    (or the ``else`` of ``if cfg.verify_ssl:``): the setting's dotted name; else None."""
    if fn is None:
        return None
    index = next((i for i, (site, _t) in enumerate(fn.calls)
                  if (site.call.line, site.call.col) == (call.line, call.col)), None)
    if index is None:
        return None
    for g in fn.fact.guards:
        if len(g.tests) != 1 or isinstance(g.tests[0][1], CompareFact):
            continue
        negated, test = g.tests[0]
        name = dotted(test)
        if not name or "." not in name or not set(name.rsplit(".", 1)[-1].lower().split("_")) & VERIFY_FLAG_WORDS:
            continue
        if index in (g.body_calls if negated else g.orelse_calls):
            return name
    return None


def _defaults_true(app: AppModel, attr: str) -> bool:
    """Every declaration of a class attribute named ``attr`` in the project defaults it to True
    (``verify_ssl: bool = True``, ``Field(default=True)``), and there is one."""
    seen = False
    for _path, cls in app.classes.values():
        f = cls.field(attr)
        if f is None or f.value is None:
            continue
        value = f.value
        if isinstance(value, Call):
            value = value.arg(0, "default")
        if not (isinstance(value, Const) and value.value is True):
            return False
        seen = True
    return seen


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
                                          "code turns certificate checks back on in another branch (a configured mode), "
                                          "or an unverified context is one branch of an `if` whose other makes a "
                                          "verifying one",
                        Severity.INFO: "with low confidence, when `verify=False`/`ssl=False` is passed only in the "
                                       "branch of `if not cfg.verify_ssl:` and that setting is declared `True`"}
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
                if _verifying_alternative(cc.function, cc.line):
                    yield self.finding(
                        cc.path, cc.line, cc.col,
                        f"`{cc.target}()` in {where} makes an SSL context that accepts any certificate, and the "
                        "other branch of its `if` makes a verifying one: whether traffic is verified depends on "
                        "a setting; make sure it defaults to verifying",
                        help=HELP, entity=entity, severity=Severity.WARNING, confidence=Confidence.MEDIUM,
                    )
                    continue
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
                flag = _verify_flag(cc.function, cc.call)
                if flag is not None and _defaults_true(app, flag.rsplit(".", 1)[-1]):
                    # ``if not cfg.verify_ssl: connector = TCPConnector(ssl=False)`` with ``verify_ssl: bool = True``
                    yield self.finding(
                        cc.path, cc.line, cc.col,
                        f"`{call_label(cc.target)}(..., {key}=False)` in {where} turns off certificate checks only "
                        f"when the setting `{flag}` is off, and it is declared `True`: verification stays on unless "
                        "an operator turns it off",
                        help=HELP, entity=entity, severity=Severity.INFO, confidence=Confidence.LOW,
                    )
                    break
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
            back_on: dict[str, list[int]] = {}
            # the checks turned off only in the branch of a mode that means "do not verify" (libpq's
            # ``sslmode=require``: encrypt, do not verify): the operator's choice, not the code's
            by_mode: dict[str, list[tuple[int, ...] | None]] = {}
            for a in scope.assigns:
                base, _, attr = a.target.rpartition(".")
                value = dotted(a.value) or ""
                if attr == "verify_mode" and value.endswith("CERT_NONE"):
                    off.setdefault(base, []).append((a, f"`{a.target} = ssl.CERT_NONE`"))
                    by_mode.setdefault(base, []).append(_other_branch(fn, a.pos.line))
                elif attr == "check_hostname" and isinstance(a.value, Const) and a.value.value is False:
                    off.setdefault(base, []).append((a, f"`{a.target} = False`"))
                    by_mode.setdefault(base, []).append(_other_branch(fn, a.pos.line))
                elif (attr == "verify_mode" and value.endswith(("CERT_REQUIRED", "CERT_OPTIONAL"))) or (
                        attr == "check_hostname" and isinstance(a.value, Const) and a.value.value is True):
                    back_on.setdefault(base, []).append(a.pos.line)
            for base, items in off.items():
                if all(other is not None and any(line in other for line in back_on.get(base, ()))
                       for other in by_mode[base]):
                    continue  # each is set where the mode says "do not verify", and the other modes verify
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
