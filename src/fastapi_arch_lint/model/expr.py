"""A small, picklable expression language: what the extractor keeps of the source.

The extractor turns the LibCST expressions it cares about (decorator arguments, call
arguments, annotations, assigned values) into these values; the linker evaluates them
across modules. Nothing here knows LibCST.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Union

from fastapi_arch_lint.model._init import fast_inits


@dataclass(frozen=True, slots=True)
class Const:
    """A literal: str, bytes, int, float, complex, bool, None or Ellipsis."""

    value: object


@dataclass(frozen=True, slots=True)
class Name:
    id: str
    line: int = 0


@dataclass(frozen=True, slots=True)
class Attr:
    value: "Expr"
    attr: str


@dataclass(frozen=True, slots=True)
class Call:
    func: "Expr"
    args: tuple["Expr", ...] = ()
    kwargs: tuple[tuple[str, "Expr"], ...] = ()
    line: int = 0
    col: int = 0
    # True when *args or **kwargs were passed: the argument list is incomplete
    starred: bool = False

    def kwarg(self, name: str) -> "Expr | None":
        for key, value in self.kwargs:
            if key == name:
                return value
        return None

    def arg(self, index: int, name: str) -> "Expr | None":
        """The argument at ``index`` positionally, or by keyword ``name``."""
        found = self.kwarg(name)
        if found is not None:
            return found
        if index < len(self.args):
            return self.args[index]
        return None


@dataclass(frozen=True, slots=True)
class Seq:
    kind: str  # "list" | "tuple" | "set"
    items: tuple["Expr", ...]


@dataclass(frozen=True, slots=True)
class DictExpr:
    keys: tuple["Expr | None", ...]  # None for ``**spread``
    values: tuple["Expr", ...]


@dataclass(frozen=True, slots=True)
class FStr:
    parts: tuple["str | Expr", ...]


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class Subscript:
    value: "Expr"
    items: tuple["Expr", ...]


@dataclass(frozen=True, slots=True)
class Opaque:
    """An expression the model does not represent; ``code`` is a short excerpt."""

    code: str
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Cond:
    """``body if test else orelse``."""

    test: "Expr"
    body: "Expr"
    orelse: "Expr"


@dataclass(frozen=True, slots=True)
class Compare:
    """One comparison ``left op right`` (``==``, ``!=``, ``is``, ``is not``, ``in``, ``not in``, ``<``...);
    a chained comparison (``a < b < c``) is ``Opaque``."""

    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class Not:
    operand: "Expr"


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``a and b and c`` (op "and") or ``a or b`` (op "or")."""

    op: str
    values: tuple["Expr", ...]


Expr = Union[Const, Name, Attr, Call, Seq, DictExpr, FStr, BinOp, Subscript, Opaque, Cond, Compare, Not, BoolOp]


def children(e: "Expr") -> "list[Expr]":
    """The expressions directly inside ``e``, as ``walk`` descends into them."""
    if isinstance(e, Attr):
        return [e.value]
    if isinstance(e, Call):
        return [e.func, *e.args, *(v for _, v in e.kwargs)]
    if isinstance(e, Seq):
        return list(e.items)
    if isinstance(e, DictExpr):
        return [*(k for k in e.keys if k is not None), *e.values]
    if isinstance(e, FStr):
        return [p for p in e.parts if not isinstance(p, str)]
    if isinstance(e, (BinOp, Compare)):
        return [e.left, e.right]
    if isinstance(e, Subscript):
        return [e.value, *e.items]
    if isinstance(e, Cond):
        return [e.test, e.body, e.orelse]
    if isinstance(e, Not):
        return [e.operand]
    if isinstance(e, BoolOp):
        return list(e.values)
    return []


def walk(expr: "Expr | None") -> "Iterator[Expr]":
    """``expr`` and every expression inside it, outermost first."""
    if expr is None:
        return
    stack: list[Expr] = [expr]
    while stack:
        e = stack.pop()
        yield e
        if isinstance(e, Attr):
            stack.append(e.value)
        elif isinstance(e, Call):
            stack.extend(reversed([e.func, *e.args, *(v for _, v in e.kwargs)]))
        elif isinstance(e, Seq):
            stack.extend(reversed(e.items))
        elif isinstance(e, DictExpr):
            stack.extend(reversed([*(k for k in e.keys if k is not None), *e.values]))
        elif isinstance(e, FStr):
            stack.extend(reversed([p for p in e.parts if not isinstance(p, str)]))
        elif isinstance(e, BinOp):
            stack.extend([e.right, e.left])
        elif isinstance(e, Subscript):
            stack.extend(reversed([e.value, *e.items]))
        elif isinstance(e, Cond):
            stack.extend([e.orelse, e.test, e.body])
        elif isinstance(e, Compare):
            stack.extend([e.right, e.left])
        elif isinstance(e, Not):
            stack.append(e.operand)
        elif isinstance(e, BoolOp):
            stack.extend(reversed(e.values))


def dotted(expr: "Expr | None") -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    parts: list[str] = []
    while isinstance(expr, Attr):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, Name):
        parts.append(expr.id)
        return ".".join(reversed(parts))
    return None


def field_default(value: Expr) -> Expr | None:
    """The default of a class-level field assigned ``value``: ``= x``, ``= Field("x")``,
    ``= Field(default="x")`` (any callee whose dotted name ends in ``Field``).

    None when there is none (``Field(...)``, ``Field(default_factory=...)``).
    """
    if isinstance(value, Call) and isinstance(value.func, (Name, Attr)) and (dotted(value.func) or "").endswith("Field"):
        d = value.arg(0, "default")
        if d is None or (isinstance(d, Const) and d.value is Ellipsis):
            return None
        return d
    return value


def render(expr: "Expr | str | None", limit: int = 80) -> str:
    """A short source-like rendering, for messages."""
    text = _render(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _render(expr: "Expr | str | None") -> str:
    if expr is None:
        return ""
    if isinstance(expr, str):
        return expr
    if isinstance(expr, Const):
        return repr(expr.value)
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Attr):
        return f"{_render(expr.value)}.{expr.attr}"
    if isinstance(expr, Call):
        args = [_render(a) for a in expr.args] + [f"{k}={_render(v)}" for k, v in expr.kwargs]
        return f"{_render(expr.func)}({', '.join(args)})"
    if isinstance(expr, Seq):
        inner = ", ".join(_render(i) for i in expr.items)
        return {"list": f"[{inner}]", "set": f"{{{inner}}}"}.get(expr.kind, f"({inner})")
    if isinstance(expr, DictExpr):
        return "{" + ", ".join(
            f"**{_render(v)}" if k is None else f"{_render(k)}: {_render(v)}"
            for k, v in zip(expr.keys, expr.values)
        ) + "}"
    if isinstance(expr, FStr):
        return 'f"' + "".join(p if isinstance(p, str) else "{" + _render(p) + "}" for p in expr.parts) + '"'
    if isinstance(expr, BinOp):
        return f"{_render(expr.left)} {expr.op} {_render(expr.right)}"
    if isinstance(expr, Subscript):
        return f"{_render(expr.value)}[{', '.join(_render(i) for i in expr.items)}]"
    if isinstance(expr, Opaque):
        return expr.code
    if isinstance(expr, Cond):
        return f"{_render(expr.body)} if {_render(expr.test)} else {_render(expr.orelse)}"
    if isinstance(expr, Compare):
        return f"{_render(expr.left)} {expr.op} {_render(expr.right)}"
    if isinstance(expr, Not):
        return f"not {_render(expr.operand)}"
    if isinstance(expr, BoolOp):
        return f" {expr.op} ".join(_render(v) for v in expr.values)
    return "?"


# built by the hundred thousand per run: constructors that set the slots directly (see _init.py)
fast_inits(globals())
