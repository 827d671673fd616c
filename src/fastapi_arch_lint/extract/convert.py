"""LibCST expressions to the model's small expression language (``model.expr``)."""

from __future__ import annotations

import libcst as cst

from fastapi_arch_lint.extract.plain import PLAIN, constructor
from fastapi_arch_lint.model.expr import (
    Attr,
    BinOp,
    BoolOp,
    Call,
    Compare,
    Cond,
    Const,
    DictExpr,
    Expr,
    FStr,
    Name,
    Not,
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

_COMPARE_OPS: dict[type, str] = {
    cst.Equal: "==",
    cst.NotEqual: "!=",
    cst.Is: "is",
    cst.IsNot: "is not",
    cst.In: "in",
    cst.NotIn: "not in",
    cst.LessThan: "<",
    cst.LessThanEqual: "<=",
    cst.GreaterThan: ">",
    cst.GreaterThanEqual: ">=",
}

_NAME_CONSTS = {"True": True, "False": False, "None": None}
_NAME = cst.Name


def string_value(node: cst.SimpleString) -> str | bytes:
    """``node.evaluated_value``, which runs ``ast.literal_eval`` (a compile) on every string.

    A ``str`` literal without backslashes or carriage returns is its own text between the
    quotes: that common case is cut out here; everything else (escapes, bytes, ``\\r``,
    which the compiler turns into ``\\n``) is left to LibCST. Raises as ``evaluated_value`` does.
    With ``FASTAPI_ARCH_LINT_PLAIN_LIBCST`` set (``plain.py``), LibCST evaluates every string.
    """
    if PLAIN:
        return node.evaluated_value
    value = node.value
    if "\\" not in value and "\r" not in value:
        start = 1 if value[0] in "rRuU" else 0
        quote = value[start:start + 3]
        if quote == '"""' or quote == "'''":
            if len(value) >= start + 6:
                return value[start + 3:-3]
        elif quote[:1] in ("'", '"'):
            return value[start + 1:-1]
    return node.evaluated_value


# Built through ``constructor`` (the classes themselves stay for ``isinstance``).
_Const = constructor(Const)
_Name = constructor(Name)
_Attr = constructor(Attr)
_Call = constructor(Call)
_Seq = constructor(Seq)
_DictExpr = constructor(DictExpr)
_FStr = constructor(FStr)
_BinOp = constructor(BinOp)
_Subscript = constructor(Subscript)
_Opaque = constructor(Opaque)
_Cond = constructor(Cond)
_Compare = constructor(Compare)
_Not = constructor(Not)
_BoolOp = constructor(BoolOp)


class Converter:
    """Converts expressions; ``line_of`` gives a line number for calls when known.

    Calls are converted once: the statement collector converts a call where it is assigned,
    returned or raised, the body visitor converts every call again (and every call among the
    arguments of another one). ``_calls`` keeps ``id(node) -> (depth, result)`` for the
    conversions that nothing cut at ``MAX_DEPTH``: the same node converted at that depth or a
    shallower one gives the same result. A name is converted to one shared (immutable)
    ``Name`` per identifier and module.
    """

    def __init__(self, line_of=None) -> None:  # type: ignore[no-untyped-def]
        self.line_of = line_of
        self._calls: dict[int, tuple[int, Call]] = {}
        self._names: dict[str, Expr] = {}
        self._cuts = 0  # conversions cut at MAX_DEPTH so far

    def __call__(self, node: cst.BaseExpression | None, depth: int = 0) -> Expr | None:
        if node is None:
            return None
        return self.expr(node, depth)

    def expr(self, node: cst.CSTNode, depth: int = 0) -> Expr:
        if depth > MAX_DEPTH:
            self._cuts += 1
            return _Opaque("...", "too-deep")
        t = type(node)
        if t is _NAME:  # half the expressions: their shared value looked up here, without a call
            converted = self._names.get(node.value)
            if converted is not None:
                return converted
        # one dictionary lookup on the exact type instead of a chain of ``isinstance``
        # (node classes are ABCs: each failed ``isinstance`` costs an ``__instancecheck__``)
        convert = _BY_TYPE.get(t)
        if convert is None:
            return _Opaque(f"<{t.__name__}>", t.__name__)
        return convert(self, node, depth + 1)

    def _name(self, node: cst.Name, d: int) -> Expr:
        converted = self._names.get(node.value)
        if converted is None:
            value = node.value
            converted = _Const(_NAME_CONSTS[value]) if value in _NAME_CONSTS else _Name(value)
            self._names[value] = converted
        return converted

    def _attribute(self, node: cst.Attribute, d: int) -> Expr:
        return _Attr(self.expr(node.value, d), node.attr.value)

    def _simple_string(self, node: cst.SimpleString, d: int) -> Expr:
        try:
            return _Const(string_value(node))
        except Exception:  # odd escapes: keep going without the value
            return _Opaque(node.value[:60], "string")

    def _concatenated_string(self, node: cst.ConcatenatedString, d: int) -> Expr:
        left = self.expr(node.left, d)
        right = self.expr(node.right, d)
        if isinstance(left, Const) and isinstance(right, Const) and type(left.value) is type(right.value):
            return _Const(left.value + right.value)  # type: ignore[operator]
        return _BinOp("+", left, right)

    def _formatted_string(self, node: cst.FormattedString, d: int) -> Expr:
        parts: list[str | Expr] = []
        for part in node.parts:
            if type(part) is cst.FormattedStringText:
                parts.append(part.value)
            elif type(part) is cst.FormattedStringExpression:
                if part.format_spec or part.conversion:
                    parts.append(_Opaque("{...}", "format-spec"))
                else:
                    parts.append(self.expr(part.expression, d))
            else:
                parts.append(_Opaque("{...}", type(part).__name__))
        return _FStr(tuple(parts))

    def _integer(self, node: cst.Integer, d: int) -> Expr:
        try:
            return _Const(int(node.value.replace("_", ""), 0))
        except ValueError:
            return _Opaque(node.value, "int")

    def _float(self, node: cst.Float, d: int) -> Expr:
        try:
            return _Const(float(node.value.replace("_", "")))
        except ValueError:
            return _Opaque(node.value, "float")

    def _imaginary(self, node: cst.Imaginary, d: int) -> Expr:
        return _Opaque(node.value, "imaginary")

    def _ellipsis(self, node: cst.Ellipsis, d: int) -> Expr:
        return _Const(Ellipsis)

    def _sequence(self, node: cst.List | cst.Tuple | cst.Set, d: int) -> Expr:
        kind = {cst.List: "list", cst.Tuple: "tuple", cst.Set: "set"}[type(node)]
        items = []
        for el in node.elements:
            if type(el) is cst.StarredElement:
                items.append(_Opaque("*" , "starred"))
            else:
                items.append(self.expr(el.value, d))
        return _Seq(kind, tuple(items))

    def _dict(self, node: cst.Dict, d: int) -> Expr:
        keys: list[Expr | None] = []
        values: list[Expr] = []
        for el in node.elements:
            if type(el) is cst.DictElement:
                keys.append(self.expr(el.key, d))
                values.append(self.expr(el.value, d))
            elif type(el) is cst.StarredDictElement:
                keys.append(None)
                values.append(self.expr(el.value, d))
        return _DictExpr(tuple(keys), tuple(values))

    def _binary_operation(self, node: cst.BinaryOperation, d: int) -> Expr:
        op = _BINOPS.get(type(node.operator))
        if op is None:
            return _Opaque("", "binop")
        return _BinOp(op, self.expr(node.left, d), self.expr(node.right, d))

    def _unary_operation(self, node: cst.UnaryOperation, d: int) -> Expr:
        inner = self.expr(node.expression, d)
        if type(node.operator) is cst.Minus and isinstance(inner, Const) and isinstance(inner.value, (int, float)):
            return _Const(-inner.value)
        if type(node.operator) is cst.Not:
            return _Not(inner)
        return inner

    def _if_exp(self, node: cst.IfExp, d: int) -> Expr:
        return _Cond(self.expr(node.test, d), self.expr(node.body, d), self.expr(node.orelse, d))

    def _comparison(self, node: cst.Comparison, d: int) -> Expr:
        if len(node.comparisons) != 1:
            return _Opaque("<comparison>", "comparison")
        target = node.comparisons[0]
        op = _COMPARE_OPS.get(type(target.operator))
        if op is None:
            return _Opaque("<comparison>", "comparison")
        return _Compare(op, self.expr(node.left, d), self.expr(target.comparator, d))

    def _boolean_operation(self, node: cst.BooleanOperation, d: int) -> Expr:
        # ``a and b and c`` is nested left-first in LibCST: flatten runs of the same operator
        op = "and" if type(node.operator) is cst.And else "or"
        values: list[Expr] = []
        stack: list[cst.BaseExpression] = [node.right, node.left]
        while stack:
            n = stack.pop()
            if type(n) is cst.BooleanOperation and not n.lpar and (type(n.operator) is cst.And) == (op == "and"):
                stack.append(n.right)
                stack.append(n.left)
            else:
                values.append(self.expr(n, d))
        return _BoolOp(op, tuple(values))

    def _subscript(self, node: cst.Subscript, d: int) -> Expr:
        items: list[Expr] = []
        for el in node.slice:
            sl = el.slice
            if type(sl) is cst.Index:
                items.append(self.expr(sl.value, d))
            else:
                items.append(_Opaque(":", "slice"))
        return _Subscript(self.expr(node.value, d), tuple(items))

    def _unwrap(self, node: cst.Await | cst.NamedExpr, d: int) -> Expr:
        return self.expr(node.expression if type(node) is cst.Await else node.value, d)  # type: ignore[union-attr]

    def call(self, node: cst.Call, depth: int) -> Call:
        known = self._calls.get(id(node))
        if known is not None and depth <= known[0]:
            return known[1]
        cuts = self._cuts
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
        result = _Call(self.expr(node.func, depth), tuple(args), tuple(kwargs), line, col, starred)
        if self._cuts == cuts:
            self._calls[id(node)] = (depth, result)
        return result


def _opaque(text: str, kind: str):  # type: ignore[no-untyped-def]
    return lambda self, node, d: _Opaque(text, kind)


_BY_TYPE = {
    cst.Name: Converter._name,
    cst.Attribute: Converter._attribute,
    cst.Call: Converter.call,
    cst.SimpleString: Converter._simple_string,
    cst.ConcatenatedString: Converter._concatenated_string,
    cst.FormattedString: Converter._formatted_string,
    cst.Integer: Converter._integer,
    cst.Float: Converter._float,
    cst.Imaginary: Converter._imaginary,
    cst.Ellipsis: Converter._ellipsis,
    cst.List: Converter._sequence,
    cst.Tuple: Converter._sequence,
    cst.Set: Converter._sequence,
    cst.Dict: Converter._dict,
    cst.BinaryOperation: Converter._binary_operation,
    cst.UnaryOperation: Converter._unary_operation,
    cst.Subscript: Converter._subscript,
    cst.Await: Converter._unwrap,
    cst.NamedExpr: Converter._unwrap,
    cst.IfExp: Converter._if_exp,
    cst.Lambda: _opaque("lambda", "lambda"),
    cst.ListComp: _opaque("<comprehension>", "comprehension"),
    cst.SetComp: _opaque("<comprehension>", "comprehension"),
    cst.DictComp: _opaque("<comprehension>", "comprehension"),
    cst.GeneratorExp: _opaque("<comprehension>", "comprehension"),
    cst.BooleanOperation: Converter._boolean_operation,
    cst.Comparison: Converter._comparison,
}
