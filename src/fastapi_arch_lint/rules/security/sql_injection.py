"""FAL520 sql-injection."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.taint import Flow, call_arg, contexts
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Attr, BinOp, Call, Expr, FStr, Seq, dotted, render
from fastapi_arch_lint.model.facts import CallSite
from fastapi_arch_lint.rule import Rule, register

TEXT_FUNCS = frozenset({
    "sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text", "sqlmodel.text",
    "sqlalchemy.literal_column", "sqlalchemy.sql.expression.literal_column", "sqlalchemy.sql.literal_column",
})
# words that make a built string SQL
SQL_WORDS = re.compile(
    r"(?i)\b(select|insert\s+into|update\s+\w+\s+set|delete\s+from|drop\s+(table|index|database|schema)|"
    r"create\s+(table|index|view|database|schema)|alter\s+table|truncate|pragma|where|values|order\s+by|group\s+by)\b")
# driver/ORM methods whose first argument is a SQL string
EXEC_METHODS = frozenset({
    "execute", "executemany", "executescript", "exec_driver_sql", "fetch", "fetchrow", "fetchval",
    "fetch_all", "fetch_one", "fetch_val", "iterate", "read_sql", "read_sql_query",
})

HELP = ("keep the SQL text constant and pass values as bound parameters: `text(\"... WHERE name = :name\")` "
        "with `{\"name\": name}` (or the ORM: `select(User).where(User.name == name)`); identifiers such as a "
        "sort column must come from an allowlist, never from the request")


def sql_sink(site: CallSite, target: str | None) -> tuple[Expr, str, bool] | None:
    """The SQL argument of a call, the sink's label, and whether the call is SQL by itself."""
    call = site.call
    name = target or ""
    if name in TEXT_FUNCS or (not target and dotted(call.func) in ("text", "sa.text", "sqlalchemy.text")):
        arg = call_arg(call, 0, "text")
        return (arg, f"`{render(call.func, 40)}()`", True) if arg is not None else None
    if isinstance(call.func, Attr) and call.func.attr in EXEC_METHODS:
        arg = call_arg(call, 0, "statement", "query", "sql", "operation")
        return (arg, f"`{call.func.attr}()`", False) if arg is not None else None
    return None


def first_dynamic_part(flow: Flow, e: Expr, line: int) -> Expr:
    """The first part of a built string that is not a constant (for the message)."""
    parts: list[Expr] = []
    if isinstance(e, FStr):
        parts = [p for p in e.parts if not isinstance(p, str)]
    elif isinstance(e, BinOp):
        parts = [e.left, e.right]
    elif isinstance(e, Seq):
        parts = list(e.items)
    elif isinstance(e, Call):
        parts = [*e.args, *(v for _, v in e.kwargs)]
    for p in parts:
        if not flow.is_constant(p, line):
            return first_dynamic_part(flow, p, line) if isinstance(p, (FStr, BinOp)) else p
    return e


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
        reported: set[tuple[str, int, int]] = set()
        for ctx in contexts(app):
            flow = ctx.flow
            for site, target in ctx.function.calls:
                found = self._built(flow, site, target)
                if found is None:
                    continue
                arg, label, how = found
                line = site.pos.line
                src = flow.taint(arg, line, "sql")
                key = (ctx.function.path, line, site.pos.col)
                if src is None or key in reported:
                    continue
                reported.add(key)
                where = "" if not ctx.trail else f" in `{ctx.function.qualname.rsplit('.', 1)[-1]}`"
                yield self.finding(
                    ctx.function.path, line, site.pos.col,
                    f"SQL passed to {label}{where} is built with {how} from {src.text()} of "
                    f"`{ctx.route.display()}`: the client controls the query text",
                    help=HELP, related=ctx.related(), entity=ctx.entity(),
                    end_line=site.pos.end_line, end_col=site.pos.end_col,
                )

    @staticmethod
    def _built(flow: Flow, site: CallSite, target: str | None) -> tuple[Expr, str, str] | None:
        sink = sql_sink(site, target)
        if sink is None:
            return None
        arg, label, is_sql = sink
        built = flow.building(arg, site.pos.line)
        if built is None:
            return None
        how, _expr = built
        if not is_sql and not SQL_WORDS.search(" ".join(flow.string_parts(arg, site.pos.line))):
            return None
        return arg, label, how
