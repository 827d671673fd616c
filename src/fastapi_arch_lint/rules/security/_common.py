"""What several security rules share: one library's API (JWT decoding), the SQL sinks of FAL520 and FAL529,
the walk from request data to a sink of the taint rules (FAL522, FAL530-FAL534)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from fastapi_arch_lint.analysis.calls import CodeCall
from fastapi_arch_lint.analysis.pathflow import SERVER_TEXT
from fastapi_arch_lint.analysis.taint import Context, Flow, Source, call_arg, contexts
from fastapi_arch_lint.analysis.values import call_value, dict_value
from fastapi_arch_lint.analysis.names import words
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Attr, BinOp, Call, Const, Expr, FStr, Name, dotted, render
from fastapi_arch_lint.model.facts import CallSite
from fastapi_arch_lint.rule import Rule


def unverified_reason(app: AppModel, cc: CodeCall) -> str | None:
    """Why this JWT decode call does not verify the signature, or None when it does (FAL501, FAL502)."""
    call = cc.call
    options = dict_value(app, cc, call.arg(3, "options"))
    if isinstance(options, dict) and options.get("verify_signature") is False:
        return '`options={"verify_signature": False}`'
    if call_value(app, cc, call.kwarg("verify")) is False:
        return "`verify=False`"
    algorithms = call_value(app, cc, call.arg(2, "algorithms"))
    if isinstance(algorithms, str):
        algorithms = (algorithms,)
    if isinstance(algorithms, (tuple, list)) and any(isinstance(a, str) and a.lower() == "none" for a in algorithms):
        return '`algorithms` accepting `"none"` (unsigned tokens)'
    return None


# -- SQL built by formatting (FAL520, FAL529) -----------------------------------------

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


def built_sql(flow: Flow, site: CallSite, target: str | None) -> tuple[Expr, str, str] | None:
    """A SQL sink whose text is built by formatting: (the SQL argument, the sink's label, how it is built)."""
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


def traced_sql(app: AppModel) -> Iterator[tuple[Context, CallSite, str, str, Source]]:
    """Each SQL sink request data reaches (FAL520), once: (context, call site, label, how, source)."""
    reported: set[tuple[str, int, int]] = set()
    for ctx in contexts(app):
        flow = ctx.flow
        for site, target in ctx.function.calls:
            found = built_sql(flow, site, target)
            if found is None:
                continue
            arg, label, how = found
            src = flow.taint(arg, site.pos.line, "sql")
            key = (ctx.function.path, site.pos.line, site.pos.col)
            if src is None or key in reported:
                continue
            reported.add(key)
            yield ctx, site, label, how, src


def traced_sql_sites(app: AppModel) -> frozenset[tuple[str, int, int]]:
    """Where ``traced_sql`` reports: (path, line, column) of the call."""
    return frozenset((ctx.function.path, site.pos.line, site.pos.col) for ctx, site, *_ in traced_sql(app))


# -- request data reaching a sink (FAL522, FAL530-FAL534) -----------------------------------

Sinks = Callable[[CallSite, "str | None"], Iterable[tuple[Expr, str]]]
Accept = Callable[[Context, CallSite, Expr, Source], bool]


@dataclass(frozen=True, slots=True)
class Traced:
    """A sink argument request data reaches: where, through which call, and from what."""

    ctx: Context
    site: CallSite
    target: str | None  # what the call resolves to
    arg: Expr
    label: str  # the sink as messages name it: `` `pickle.loads()` ``
    src: Source

    def finding(self, rule: Rule, message: str, help: str, severity: Severity | None = None,
                confidence: Confidence | None = None) -> Finding:
        """The rule's finding at the sink, with the route and the calls that led there as related locations."""
        ctx, pos = self.ctx, self.site.pos
        return rule.finding(ctx.function.path, pos.line, pos.col, message, help=help, related=ctx.related(),
                            entity=ctx.entity(), severity=severity, confidence=confidence,
                            end_line=pos.end_line, end_col=pos.end_col)


def traced_sinks(app: AppModel, sinks: Sinks, kind: str, accept: Accept | None = None) -> Iterator[Traced]:
    """Each sink argument request data reaches, once per call.

    ``sinks`` gives a call's dangerous arguments with a label; ``accept`` (given the context, the site,
    the argument and its source) drops a flow the rule knows is harmless (a fixed host, a guard)."""
    reported: set[tuple[str, int, int]] = set()
    for ctx in contexts(app):
        flow = ctx.flow
        for site, target in ctx.function.calls:
            for arg, label in sinks(site, target):
                key = (ctx.function.path, site.pos.line, site.pos.col)
                if key in reported:
                    continue
                src = flow.taint(arg, site.pos.line, kind)
                if src is None or (accept is not None and not accept(ctx, site, arg, src)):
                    continue
                reported.add(key)
                yield Traced(ctx, site, target, arg, label, src)


def where_in(ctx: Context) -> str:
    """`` in `helper` `` when the sink is below the handler, for messages."""
    return "" if not ctx.trail else f" in `{ctx.function.qualname.rsplit('.', 1)[-1]}`"


def prefix_is_fixed(flow: Flow, url: Expr, line: int, fixed: re.Pattern[str], _depth: int = 0) -> bool:
    """The URL starts with a literal prefix ``fixed`` accepts (a constant scheme and host, a relative path)
    or with a server-side value (a configured base URL), so the client picks only what follows."""
    if _depth > 8:
        return False
    d = _depth + 1
    if isinstance(url, Name):
        defs = [a for a in flow.assigns.get(url.id, ()) if a.pos.line < line and a.value is not None]
        if not defs:
            # a parameter: what the callers built around the request data (``f"https://api.example.com/{org}"``)
            src = flow.env.get(url.id)
            lead = src.lead if src is not None else None
            return lead is not None and (lead.startswith(SERVER_TEXT) or bool(fixed.match(lead)))
        return all(prefix_is_fixed(flow, a.value, a.pos.line, fixed, d) for a in defs if a.value is not None)
    if isinstance(url, FStr):
        prefix = ""
        for p in url.parts:
            if not isinstance(p, str):
                if not prefix and (flow.taint(p, line, "url") is None or prefix_is_fixed(flow, p, line, fixed, d)):
                    return True  # starts with a server-side value (a configured base URL) or a fixed one passed in
                break
            prefix += p
        return bool(fixed.match(prefix))
    if isinstance(url, BinOp) and url.op == "+":
        left = url.left
        while isinstance(left, BinOp) and left.op == "+":
            left = left.left
        if isinstance(left, Const) and isinstance(left.value, str):
            return bool(fixed.match(left.value))
        if isinstance(left, FStr):
            return prefix_is_fixed(flow, left, line, fixed, d)
        return flow.taint(left, line, "url") is None or prefix_is_fixed(flow, left, line, fixed, d)
    if isinstance(url, Call) and isinstance(url.func, Attr) and url.func.attr == "format":
        recv = url.func.value
        if isinstance(recv, Const) and isinstance(recv.value, str):
            return bool(fixed.match(recv.value.split("{", 1)[0]))
    return False


# a marker value in the shape of a dunder name: ``"__pending_bot_token__"`` stands for "not set yet", it is
# no secret (FAL504) and comparing with it leaks nothing (FAL506)
MARKER = re.compile(r"__[A-Za-z][A-Za-z0-9_]*__")


# a lower-case identifier: what a label, a reason code or an enum value looks like
_LABEL_SHAPE = re.compile(r"[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*")


def is_own_label(name: str, value: str) -> bool:
    """``REASON_MISSING_SECRET = "missing_secret"``, ``AUTH_METHOD_API_KEY = "api_key"``: a lower-case
    identifier made of words of the constant's own name names the constant's meaning (a reason code,
    an enum value), it is no secret; a comparison with it leaks nothing."""
    if not _LABEL_SHAPE.fullmatch(value):
        return False
    own, said = set(words(name)), set(words(value))
    # the name qualifies the value (``REASON_``, ``AUTH_METHOD_``): ``SECRET_KEY = "secret-key"`` or
    # ``DEFAULT_JWT_SECRET = "jwt-secret"`` is a weak default, not a label
    return said <= own and bool(own - said - _STAND_IN)


_STAND_IN = frozenset({"default", "dev", "test", "example", "dummy", "fake", "insecure", "my", "your", "change",
                       "changeme", "placeholder", "local", "demo", "sample"})
