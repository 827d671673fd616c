"""FAL520 sql-injection."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.security._common import traced_sql

HELP = ("keep the SQL text constant and pass values as bound parameters: `text(\"... WHERE name = :name\")` "
        "with `{\"name\": name}` (or the ORM: `select(User).where(User.name == name)`); identifiers such as a "
        "sort column must come from an allowlist, never from the request")


@register
class SqlInjection(Rule):
    code = "FAL520"
    name = "sql-injection"
    summary = "SQL text built by f-string, `%`, `.format()` or `+` from request data reaches `text()` or `execute()`"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    cwe = ("CWE-89",)
    owasp = ("API8:2023", "A03:2021")
    security_severity = 9.8
    other_severities = {Severity.WARNING: "when a project check the rule cannot read (a field validator, a "
                                          "predicate whose failure raises) rejects some values first"}

    def check(self, app: AppModel) -> Iterator[Finding]:
        for ctx, site, label, how, src in traced_sql(app):
            where = "" if not ctx.trail else f" in `{ctx.function.qualname.rsplit('.', 1)[-1]}`"
            harm = "the client controls the query text"
            severity = confidence = None
            if src.checked:
                harm = (f"{src.checked} rejects some values first, and what it lets through is not known here: "
                        "check that it leaves no quote or SQL syntax")
                severity, confidence = Severity.WARNING, Confidence.MEDIUM
            yield self.finding(
                ctx.function.path, site.pos.line, site.pos.col,
                f"SQL passed to {label}{where} is built with {how} from {src.text()} of "
                f"`{ctx.route.display()}`: {harm}",
                help=HELP, related=ctx.related(), entity=ctx.entity(),
                end_line=site.pos.end_line, end_col=site.pos.end_col, severity=severity, confidence=confidence,
            )
