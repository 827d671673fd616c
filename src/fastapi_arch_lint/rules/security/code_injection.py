"""FAL532 code-injection."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.taint import call_arg
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Expr
from fastapi_arch_lint.model.facts import CallSite
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.security._common import traced_sinks, where_in

# run their first argument as Python (``ast.literal_eval`` is not one of them: it reads literals only)
CODE_CALLS = {"builtins.eval": "source", "builtins.exec": "source", "builtins.compile": "source"}

HELP = ("never run request text as Python: parse data with `json.loads()` or `ast.literal_eval()`, map "
        "operation names to functions in a dict, or evaluate expressions with a small parser of your own "
        "grammar; restricted `globals` do not make `eval` safe")


def code_sinks(site: CallSite, target: str | None) -> list[tuple[Expr, str]]:
    kw = CODE_CALLS.get(target or "")
    if kw is None:
        return []
    arg = call_arg(site.call, 0, kw)
    return [(arg, f"`{(target or '').rsplit('.', 1)[-1]}()`")] if arg is not None else []


@register
class CodeInjection(Rule):
    code = "FAL532"
    name = "code-injection"
    summary = "`eval()`, `exec()` or `compile()` runs request data as Python"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    cwe = ("CWE-95",)
    owasp = ("API8:2023", "A03:2021")
    security_severity = 9.8

    def check(self, app: AppModel) -> Iterator[Finding]:
        for t in traced_sinks(app, code_sinks, "code"):
            yield t.finding(self, f"{t.label}{where_in(t.ctx)} runs Python built from {t.src.text()} of "
                                  f"`{t.ctx.route.display()}`: `__import__('os').system(...)` in it runs commands "
                                  f"on the server", HELP)
