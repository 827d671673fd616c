"""LibCST expressions to the model's small expression language (``model.expr``)."""

from __future__ import annotations

import libcst as cst

from fastapi_arch_lint.model.expr import (
    Attr,
    BinOp,
    Call,
    Const,
    DictExpr,
    Expr,
    FStr,
    Name,
    Opaque,
    Seq,
    Subscript,
)

MAX_DEPTH = 40

_BINOPS: dict[type, str] = {
    cst.Add: "+",
    cst.Modulo: "%",
    cst.BitOr: "|",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.Divide: "/",
    cst.FloorDivide: "//",
    cst.Power: "**",
    cst.BitAnd: "&",
    cst.MatrixMultiply: "@",
}

_NAME_CONSTS = {"True": True, "False": False, "None": None}


class Converter:
    """Converts expressions; ``line_of`` gives a line number for calls when known."""

    def __init__(self, line_of=None) -> None:  # type: ignore[no-untyped-def]
        self.line_of = line_of

    def __call__(self, node: cst.BaseExpression | None, depth: int = 0) -> Expr | None:
        if node is None:
            return None
        return self.expr(node, depth)

    def expr(self, node: cst.CSTNode, depth: int = 0) -> Expr:
        if depth > MAX_DEPTH:
            return Opaque("...", "too-deep")
        d = depth + 1
        if isinstance(node, cst.Name):
            if node.value in _NAME_CONSTS:
                return Const(_NAME_CONSTS[node.value])
            return Name(node.value)
        if isinstance(node, cst.Attribute):
            return Attr(self.expr(node.value, d), node.attr.value)
        if isinstance(node, cst.Call):
            return self.call(node, d)
        if isinstance(node, cst.SimpleString):
            try:
                return Const(node.evaluated_value)
            except Exception:  # odd escapes: keep going without the value
                return Opaque(node.value[:60], "string")
        if isinstance(node, cst.ConcatenatedString):
            left = self.expr(node.left, d)
            right = self.expr(node.right, d)
            if isinstance(left, Const) and isinstance(right, Const) and type(left.value) is type(right.value):
                return Const(left.value + right.value)  # type: ignore[operator]
            return BinOp("+", left, right)
        if isinstance(node, cst.FormattedString):
            parts: list[str | Expr] = []
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    parts.append(part.value)
                elif isinstance(part, cst.FormattedStringExpression):
                    if part.format_spec or part.conversion:
                        parts.append(Opaque("{...}", "format-spec"))
                    else:
                        parts.append(self.expr(part.expression, d))
                else:
                    parts.append(Opaque("{...}", type(part).__name__))
            return FStr(tuple(parts))
        if isinstance(node, cst.Integer):
            try:
                return Const(int(node.value.replace("_", ""), 0))
            except ValueError:
                return Opaque(node.value, "int")
        if isinstance(node, cst.Float):
            try:
                return Const(float(node.value.replace("_", "")))
            except ValueError:
                return Opaque(node.value, "float")
        if isinstance(node, cst.Imaginary):
            return Opaque(node.value, "imaginary")
        if isinstance(node, cst.Ellipsis):
            return Const(Ellipsis)
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            kind = {cst.List: "list", cst.Tuple: "tuple", cst.Set: "set"}[type(node)]
            items = []
            for el in node.elements:
                if isinstance(el, cst.StarredElement):
                    items.append(Opaque("*" , "starred"))
                else:
                    items.append(self.expr(el.value, d))
            return Seq(kind, tuple(items))
        if isinstance(node, cst.Dict):
            keys: list[Expr | None] = []
            values: list[Expr] = []
            for el in node.elements:
                if isinstance(el, cst.DictElement):
                    keys.append(self.expr(el.key, d))
                    values.append(self.expr(el.value, d))
                elif isinstance(el, cst.StarredDictElement):
                    keys.append(None)
                    values.append(self.expr(el.value, d))
            return DictExpr(tuple(keys), tuple(values))
        if isinstance(node, cst.BinaryOperation):
            op = _BINOPS.get(type(node.operator))
            if op is None:
                return Opaque("", "binop")
            return BinOp(op, self.expr(node.left, d), self.expr(node.right, d))
        if isinstance(node, cst.UnaryOperation):
            inner = self.expr(node.expression, d)
            if isinstance(node.operator, cst.Minus) and isinstance(inner, Const) and isinstance(inner.value, (int, float)):
                return Const(-inner.value)
            if isinstance(node.operator, cst.Not):
                return Opaque("not ...", "not")
            return inner
        if isinstance(node, cst.Subscript):
            items: list[Expr] = []
            for el in node.slice:
                sl = el.slice
                if isinstance(sl, cst.Index):
                    items.append(self.expr(sl.value, d))
                else:
                    items.append(Opaque(":", "slice"))
            return Subscript(self.expr(node.value, d), tuple(items))
        if isinstance(node, cst.Await):
            return self.expr(node.expression, d)
        if isinstance(node, cst.NamedExpr):
            return self.expr(node.value, d)
        if isinstance(node, cst.IfExp):
            return Opaque("... if ... else ...", "ifexp")
        if isinstance(node, cst.Lambda):
            return Opaque("lambda", "lambda")
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            return Opaque("<comprehension>", "comprehension")
        if isinstance(node, cst.BooleanOperation):
            return Opaque("... and/or ...", "boolop")
        if isinstance(node, cst.Comparison):
            return Opaque("<comparison>", "comparison")
        return Opaque(f"<{type(node).__name__}>", type(node).__name__)

    def call(self, node: cst.Call, depth: int) -> Call:
        args: list[Expr] = []
        kwargs: list[tuple[str, Expr]] = []
        starred = False
        for arg in node.args:
            if arg.star:
                starred = True
                continue
            value = self.expr(arg.value, depth)
            if arg.keyword is not None:
                kwargs.append((arg.keyword.value, value))
            else:
                args.append(value)
        line, col = self.line_of(node) if self.line_of else (0, 0)
        return Call(self.expr(node.func, depth), tuple(args), tuple(kwargs), line, col, starred)
