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

    def check(self, app: AppModel) -> Iterator[Finding]:
        for ctx, site, label, how, src in traced_sql(app):
            where = "" if not ctx.trail else f" in `{ctx.function.qualname.rsplit('.', 1)[-1]}`"
            yield self.finding(
                ctx.function.path, site.pos.line, site.pos.col,
                f"SQL passed to {label}{where} is built with {how} from {src.text()} of "
                f"`{ctx.route.display()}`: the client controls the query text",
                help=HELP, related=ctx.related(), entity=ctx.entity(),
                end_line=site.pos.end_line, end_col=site.pos.end_col,
            )
