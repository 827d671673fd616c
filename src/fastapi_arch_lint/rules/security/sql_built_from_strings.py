"""FAL529 sql-built-from-strings."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.analysis.reach import is_request_reachable
from fastapi_arch_lint.analysis.taint import ENUM_BASES, Flow, annotation_is_safe, is_offline_module, untraced_functions
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import Attr, BinOp, Call, Const, Expr, FStr, Name, Seq, Subscript, render, walk
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.security._common import built_sql, traced_sql_sites

HELP = ("pass values as bound parameters (`text(\"... WHERE name = :name\")` with `{\"name\": name}`, or the ORM); "
        "take identifiers (a column, a table, a sort order) from a constant allowlist; if the value can never come "
        "from a user, say so with `# noqa: FAL529`")


class _Known:
    """Values that come from the code itself: class constants, an enum member's own value."""

    def __init__(self, app: AppModel, fn: Function, flow: Flow) -> None:
        self.app = app
        self.fn = fn
        self.flow = flow
        self.cls = fn.qualname.rsplit(".", 1)[0] if fn.class_name else None

    def constant(self, e: Expr | None, line: int, depth: int = 0) -> bool:
        if depth > 12:
            return False
        if self.flow.is_constant(e, line):
            return True
        d = depth + 1
        if isinstance(e, Attr) and isinstance(e.value, Name):
            if e.value.id in ("self", "cls") and self.cls:
                return self._class_constant(e.attr)
            pf = self.fn.fact.param(e.value.id)
            if pf is not None and annotation_is_safe(self.app, pf.annotation):
                return True  # ``timezone.key`` of a ``ZoneInfo``
        if isinstance(e, (Attr, Subscript)):
            return False
        if isinstance(e, FStr):
            return all(self.constant(p, line, d) for p in e.parts if not isinstance(p, str))
        if isinstance(e, BinOp):
            return self.constant(e.left, line, d) and self.constant(e.right, line, d)
        if isinstance(e, Seq):
            return all(self.constant(i, line, d) for i in e.items)
        if isinstance(e, Name):
            defs = [a for a in self.flow.assigns.get(e.id, ()) if a.pos.line < line]
            return bool(defs) and all(a.value is not None and self.constant(a.value, a.pos.line, d) for a in defs)
        if isinstance(e, Call) and isinstance(e.func, Attr) and e.func.attr in ("format", "join"):
            return self.constant(e.func.value, line, d) and all(
                self.constant(a, line, d) for a in (*e.args, *(v for _, v in e.kwargs)))
        return False

    def _class_constant(self, attr: str) -> bool:
        assert self.cls is not None
        bases = self.app.class_bases.get(self.cls, ())
        if attr in ("value", "name") and any(b in ENUM_BASES for b in bases):
            return True  # ``self.value`` in an enum's method: one of its members
        for q in (self.cls, *bases):
            found = self.app.classes.get(q)
            if found is None:
                continue
            for f in found[1].fields:
                if f.name == attr:
                    return isinstance(f.value, Const) or annotation_is_safe(self.app, f.annotation)
        return False


@register
class SqlBuiltFromStrings(Rule):
    code = "FAL529"
    name = "sql-built-from-strings"
    summary = "SQL text is built by f-string, `%`, `.format()` or `+` from a value that is not a constant (origin unknown)"
    # info: the origin is unknown by definition (FAL520 reports what is traced from a request). A warning for
    # "a `str` parameter of a function a request reaches" was tried: on real backends its warnings were values
    # validated at the route (an identifier pattern on the request parameter) or escaped by hand
    severity = Severity.INFO
    confidence = Confidence.LOW
    cwe = ("CWE-89",)
    owasp = ("A03:2021",)
    security_severity = 5.0

    def check(self, app: AppModel) -> Iterator[Finding]:
        traced = memo(app, traced_sql_sites)  # FAL520 reports those
        for fn in untraced_functions(app):
            if is_offline_module(app, fn):
                continue  # migrations and scripts do not read requests
            flow: Flow | None = None  # made at the first sink: most functions have none
            known: _Known | None = None
            for site, target in fn.calls:
                key = (fn.path, site.pos.line, site.pos.col)
                if key in traced:
                    continue
                if flow is None:
                    flow = Flow(app, fn, {})
                found = built_sql(flow, site, target)
                if found is None:
                    continue
                arg, label, how = found
                if known is None:
                    known = _Known(app, fn, flow)
                built = flow.building(arg, site.pos.line)
                if built is None or known.constant(built[1], site.pos.line) or known.constant(arg, site.pos.line):
                    continue
                part = _first_unknown(known, built[1], site.pos.line)
                param = _outside_parameter(fn, flow, built[1], site.pos.line)
                reached = param is not None and is_request_reachable(app, fn)
                if reached:
                    origin = (f"`{render(part, 50)}`, which comes from the parameter `{param}` of a function a "
                              "request reaches: if a caller passes it user input, it controls the query")
                elif param is not None:
                    origin = (f"`{render(part, 50)}`, from the parameter `{param}` of a function no request is shown "
                              "to run (a job, a script, a callback): if it can ever hold user input, the caller "
                              "controls the query")
                else:
                    origin = (f"`{render(part, 50)}`, a value the code computes (nothing shows it can come from a "
                              "request): if it can ever hold user input, the caller controls the query")
                yield self.finding(
                    fn.path, site.pos.line, site.pos.col,
                    f"SQL passed to {label} in `{fn.qualname.rsplit('.', 1)[-1]}` is built with {how} from {origin}",
                    help=HELP, entity=fn.qualname,
                    end_line=site.pos.end_line, end_col=site.pos.end_col,
                )


def _is_text_annotation(annotation: Expr | None) -> bool:
    """No annotation, or one that admits a ``str`` (``str``, ``str | None``, ``Optional[str]``)."""
    return annotation is None or any(isinstance(e, Name) and e.id == "str" for e in walk(annotation))


def _outside_parameter(fn: Function, flow: Flow, e: Expr, line: int, depth: int = 0) -> str | None:
    """The ``str`` parameter of ``fn`` that a part of the built string comes from (directly, or through
    local assignments before ``line``), else None: the value is then computed here."""
    if depth > 6:
        return None
    for n in walk(e):
        if not isinstance(n, Name) or n.id in ("self", "cls"):
            continue
        defs = [a for a in flow.assigns.get(n.id, ()) if a.pos.line < line and a.value is not None]
        if defs:
            for a in defs:
                found = _outside_parameter(fn, flow, a.value, a.pos.line, depth + 1)  # type: ignore[arg-type]
                if found is not None:
                    return found
            continue
        p = fn.fact.param(n.id)
        if p is not None and _is_text_annotation(p.annotation):
            return n.id
    return None


def _first_unknown(known: _Known, e: Expr, line: int) -> Expr:
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
        if not known.constant(p, line):
            return _first_unknown(known, p, line) if isinstance(p, (FStr, BinOp)) else p
    return e
