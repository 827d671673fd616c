"""Line and column numbers for the few nodes the collectors keep.

LibCST's ``PositionProvider`` records a ``CodeRange`` for every node of a module, which
costs about twice a parse, and even a bare code generation pass (``module.code``) costs
most of one: every node goes through ``_codegen`` with its before/after hooks, a
``@contextmanager`` for its parentheses and one for its position. The collectors need
positions for a few hundred nodes per file at most, so this module:

* regenerates the module's text as a list of tokens, with a plain function per node type
  for the common node types (``_FAST``, each a transcription of that type's
  ``_codegen_impl`` in LibCST 1.x) and LibCST's own ``_codegen`` for every other type (on
  the same state, so the token list and the indentation stay shared);
* notes, for each node of a wanted type (definitions, decorators, calls, parameters and a
  few statements), the index of its first token and of the token after its last;
* turns those token indices into line and column at the end, in C-level passes over the
  joined text (lengths summed by ``accumulate``, line starts from its ``\n``, ``\r\n`` and
  lone ``\r``), columns counted in characters.

The recorded span of a node is where LibCST's ``record_syntactic_position`` would open and
close for it (parentheses around an expression are outside; a definition ends after its
body's last line, footer comments included). tests/test_positions.py holds these spans
against LibCST's whole code generation, on tricky snippets and standard library modules:
a LibCST upgrade that changes how a node is written shows there; tests/test_positions_provider.py
holds them against LibCST's ``PositionProvider`` and lists where they differ on purpose.
With ``FASTAPI_ARCH_LINT_PLAIN_LIBCST`` set (``plain.py``), ``provider_positions`` derives the
same spans from ``PositionProvider`` instead.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from operator import add
from typing import Any, Callable

import libcst as cst
from libcst import MaybeSentinel
from libcst._nodes.internal import CodegenState
from libcst._nodes.op import BaseUnaryOp, _BaseOneTokenOp, _BaseTwoTokenOp

from fastapi_arch_lint.extract.plain import PLAIN, constructor
from fastapi_arch_lint.model.facts import Pos

_Pos = constructor(Pos)  # ``Pos(...)`` without a frozen dataclass's ``__init__``: one per mark

WANTED: frozenset[type] = frozenset(
    {
        cst.FunctionDef, cst.ClassDef, cst.Decorator, cst.Call, cst.Param, cst.Assign,
        cst.AnnAssign, cst.AugAssign, cst.Expr, cst.Return, cst.Raise, cst.Comparison,
        cst.Import, cst.ImportFrom, cst.Subscript, cst.TypeAlias,
    }
)

_DEFAULT = MaybeSentinel.DEFAULT
_SW = cst.SimpleWhitespace
_NEWLINE = re.compile(r"\r\n|\r|\n")


class _Null:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NULL = _Null()


class _State(CodegenState):
    """The token list, shared by the fast paths below and by LibCST's ``_codegen`` for the
    node types without one (whose ``record_syntactic_position`` calls then mark the wanted
    nodes). ``marks`` holds ``(id(node), first token, token after the last)``."""

    __slots__ = ("add", "marks")

    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.add = self.tokens.append
        self.marks: list[tuple[int, int, int]] = []

    def record_syntactic_position(self, node: cst.CSTNode, *, start_node=None, end_node=None):  # type: ignore[override]
        if type(node) in WANTED:
            return _Mark(self, node)
        return _NULL


class _Mark:
    """Marks ``node``'s tokens; a plain class is several times cheaper than ``@contextmanager``."""

    __slots__ = ("state", "node", "start")

    def __init__(self, state: _State, node: cst.CSTNode) -> None:
        self.state = state
        self.node = node
        self.start = len(state.tokens)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.state.marks.append((id(self.node), self.start, len(self.state.tokens)))


def _libcst_series() -> str:
    try:
        from libcst._version import __version__ as version
    except ImportError:  # pragma: no cover - a LibCST without the module
        return "?"
    return ".".join(version.split(".")[:2])


# The fast paths transcribe LibCST's code generation as these releases write it (the tests hold
# them to it); on any other LibCST the whole module goes through LibCST's own ``_codegen`` on
# the same state: slower, never wrong.
VERIFIED_LIBCST = ("1.9",)
USE_FAST_PATHS = _libcst_series() in VERIFIED_LIBCST


def positions(module: cst.Module) -> dict[int, Pos]:
    """``{id(node): Pos}`` for every node of a ``WANTED`` type (1-based lines and columns,
    columns counted in characters)."""
    if PLAIN:
        return provider_positions(module)
    g = _State(module)
    if USE_FAST_PATHS:
        for line in module.header:
            _empty_line(line, g)
        for stmt in module.body:
            _FAST[type(stmt)](stmt, g)
        for line in module.footer:
            _empty_line(line, g)
    else:  # Module._codegen_impl without its last step (see below)
        for line in module.header:
            line._codegen(g)
        for stmt in module.body:
            stmt._codegen(g)
        for line in module.footer:
            line._codegen(g)
    # Module._codegen_impl's last step (drop the final newline of a file without one) comes
    # after every mark: leaving the newline in changes no position.
    tokens = g.tokens
    offsets = list(accumulate(map(len, tokens), initial=0))  # offsets[i]: characters before token i
    # a "\r\n" is never split over two tokens (newlines are whole tokens), so the line breaks
    # of the joined text are those of the tokens one by one
    text = "".join(tokens)
    if "\r" in text:
        starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]
    else:  # the usual case, in C: line k starts after the k lines before it and their "\n"
        starts = [0, *map(add, accumulate(map(len, text.split("\n"))), range(1, text.count("\n") + 1))]
    found: dict[int, Pos] = {}
    for key, first, after in g.marks:
        start, end = offsets[first], offsets[after]
        line = bisect_right(starts, start)
        end_line = bisect_right(starts, end, line - 1)
        found[key] = _Pos(line, start - starts[line - 1] + 1, end_line, end - starts[end_line - 1] + 1)
    return found


def provider_positions(module: cst.Module) -> dict[int, Pos]:
    """``positions(module)`` from LibCST's own ``PositionProvider`` (the plain path, see
    ``plain.py``; several times slower).

    One difference is kept, the one tests/test_positions_provider.py documents: a function or
    class ends after its body's last line (its code generation's end, which is
    ``WhitespaceInclusivePositionProvider``'s), not where ``PositionProvider`` hoists it, at
    the end of the body's last statement. Its start is ``PositionProvider``'s.
    """
    from libcst.metadata import MetadataWrapper, PositionProvider, WhitespaceInclusivePositionProvider

    # the metadata is keyed by the very nodes of ``module`` (no copy), as our marks are by id
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    ranges = wrapper.resolve(PositionProvider)
    inclusive = None
    found: dict[int, Pos] = {}
    for node, where in ranges.items():
        t = type(node)
        if t not in WANTED:
            continue
        end = where.end
        if t is cst.FunctionDef or t is cst.ClassDef:
            if inclusive is None:
                inclusive = wrapper.resolve(WhitespaceInclusivePositionProvider)
            end = inclusive[node].end
        found[id(node)] = _Pos(where.start.line, where.start.column + 1, end.line, end.column + 1)
    return found


# -- dispatch ------------------------------------------------------------------------------

_Gen = Callable[[Any, _State], None]


def _libcst_codegen(node: cst.CSTNode, g: _State) -> None:
    node._codegen(g)


class _Table(dict):  # type: ignore[type-arg]
    """``type -> fast path``; a type without one gets LibCST's own ``_codegen``."""

    def __missing__(self, node_type: type) -> _Gen:
        return _libcst_codegen


_FAST: dict[type, _Gen] = _Table()


def _fast(*types: type) -> Callable[[_Gen], _Gen]:
    def register(fn: _Gen) -> _Gen:
        for t in types:
            _FAST[t] = fn
        return fn

    return register


def _gen(node: cst.CSTNode, g: _State) -> None:
    """Generate ``node`` (whose parent passes no codegen keyword arguments).

    The hot paths (a few functions run for most nodes) spell out ``_gen(x, g)`` as
    ``_FAST[type(x)](x, g)`` and ``_ws(w, g)`` as ``if type(w) is not _SW: ... elif w.value:
    add(w.value)``: a Python call costs about as much as the work of a small node, and there
    are millions. Empty whitespace adds no token: it changes no offset, and without it the
    list is 40% shorter (fewer appends, and fewer lengths summed at the end).
    """
    _FAST[type(node)](node, g)


def _ws(node: cst.CSTNode, g: _State) -> None:
    """Whitespace: nearly always a ``SimpleWhitespace``, written out here without a call."""
    if type(node) is not _SW:
        _gen(node, g)
    elif node.value:  # empty whitespace adds no token (see ``_gen``)
        g.add(node.value)


def _comma(comma: Any, g: _State, default: bool, text: str = ", ") -> None:
    """An optional comma: ``MaybeSentinel.DEFAULT`` writes ``text`` when ``default``."""
    if comma is _DEFAULT:
        if default:
            g.add(text)
    else:
        _gen(comma, g)


def _semicolon(semicolon: Any, g: _State, default: bool) -> None:
    if semicolon is _DEFAULT:
        if default:
            g.add("; ")
    else:
        _gen(semicolon, g)


# -- whitespace and tokens -----------------------------------------------------------------

@_fast(cst.SimpleWhitespace, cst.Comment, cst.FormattedStringText)
def _value(n: Any, g: _State) -> None:
    g.add(n.value)


@_fast(cst.Newline)
def _newline(n: cst.Newline, g: _State) -> None:
    g.add(g.default_newline if n.value is None else n.value)


@_fast(cst.TrailingWhitespace)
def _trailing(n: cst.TrailingWhitespace, g: _State) -> None:
    if n.whitespace.value:  # a SimpleWhitespace, most often empty
        g.add(n.whitespace.value)
    if n.comment is not None:
        g.add(n.comment.value)
    g.add(g.default_newline if n.newline.value is None else n.newline.value)


@_fast(cst.EmptyLine)
def _empty_line(n: cst.EmptyLine, g: _State) -> None:
    if n.indent:
        g.tokens.extend(g.indent_tokens)
    if n.whitespace.value:  # a SimpleWhitespace, most often empty
        g.add(n.whitespace.value)
    if n.comment is not None:
        g.add(n.comment.value)
    g.add(g.default_newline if n.newline.value is None else n.newline.value)


@_fast(cst.ParenthesizedWhitespace)
def _parenthesized_ws(n: cst.ParenthesizedWhitespace, g: _State) -> None:
    _trailing(n.first_line, g)
    for line in n.empty_lines:
        _empty_line(line, g)
    if n.indent:
        g.tokens.extend(g.indent_tokens)
    _ws(n.last_line, g)


def _opening(token: str) -> _Gen:
    def gen(n: Any, g: _State) -> None:
        g.add(token)
        _ws(n.whitespace_after, g)

    return gen


def _closing(token: str) -> _Gen:
    def gen(n: Any, g: _State) -> None:
        _ws(n.whitespace_before, g)
        g.add(token)

    return gen


_lpar = _FAST[cst.LeftParen] = _opening("(")
_rpar = _FAST[cst.RightParen] = _closing(")")
_FAST[cst.LeftSquareBracket] = _opening("[")
_FAST[cst.RightSquareBracket] = _closing("]")
_FAST[cst.LeftCurlyBrace] = _opening("{")
_FAST[cst.RightCurlyBrace] = _closing("}")


def _one_token_op(n: Any, g: _State) -> None:
    _ws(n.whitespace_before, g)
    g.add(n._get_token())  # not cached per type: ``NotEqual`` is ``!=`` or ``<>``
    _ws(n.whitespace_after, g)


def _two_token_op(n: Any, g: _State) -> None:
    first, second = n._get_tokens()
    _ws(n.whitespace_before, g)
    g.add(first)
    _ws(n.whitespace_between, g)
    g.add(second)
    _ws(n.whitespace_after, g)


def _unary_op(n: Any, g: _State) -> None:
    g.add(n._get_token())
    _ws(n.whitespace_after, g)


def _register_operators() -> None:
    """Every operator class that keeps its base's ``_codegen_impl`` (``ImportStar`` does not)."""
    for base, gen in ((_BaseOneTokenOp, _one_token_op), (_BaseTwoTokenOp, _two_token_op), (BaseUnaryOp, _unary_op)):
        for value in vars(cst).values():
            if (isinstance(value, type) and issubclass(value, base) and value is not base
                    and value._codegen_impl is base._codegen_impl):
                _FAST[value] = gen


_register_operators()


def _fixed_op(token: str) -> _Gen:
    """The hot one-token operators, without the ``_get_token()`` call (a hot path)."""
    def gen(n: Any, g: _State) -> None:
        add = g.add
        w = n.whitespace_before
        if type(w) is not _SW:
            _gen(w, g)
        elif w.value:  # no token for empty whitespace (see ``_gen``)
            add(w.value)
        add(token)
        w = n.whitespace_after
        if type(w) is not _SW:
            _gen(w, g)
        elif w.value:  # no token for empty whitespace (see ``_gen``)
            add(w.value)

    return gen


_FAST[cst.Comma] = _fixed_op(",")
_FAST[cst.Dot] = _fixed_op(".")
_FAST[cst.AssignEqual] = _fixed_op("=")
_FAST[cst.Colon] = _fixed_op(":")


# -- expressions ---------------------------------------------------------------------------
# Every expression is wrapped in its ``lpar`` / ``rpar``; its position lies inside them.

@_fast(cst.Name, cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary)
def _atom(n: Any, g: _State) -> None:
    if n.lpar:  # a hot path: a test is cheaper than a loop over no parentheses
        for p in n.lpar:
            _lpar(p, g)
        g.add(n.value)
        for p in n.rpar:
            _rpar(p, g)
    else:
        g.add(n.value)


@_fast(cst.Ellipsis)
def _ellipsis(n: cst.Ellipsis, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    g.add("...")
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.Attribute)
def _attribute(n: cst.Attribute, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    value = n.value
    _FAST[type(value)](value, g)
    _FAST[type(n.dot)](n.dot, g)
    _atom(n.attr, g)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.Call)
def _call(n: cst.Call, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    add = g.add
    first = len(g.tokens)
    func = n.func
    _FAST[type(func)](func, g)
    w = n.whitespace_after_func
    if type(w) is not _SW:
        _gen(w, g)
    elif w.value:  # no token for empty whitespace (see ``_gen``)
        add(w.value)
    add("(")
    w = n.whitespace_before_args
    if type(w) is not _SW:
        _gen(w, g)
    elif w.value:  # no token for empty whitespace (see ``_gen``)
        add(w.value)
    last = len(n.args) - 1
    for i, arg in enumerate(n.args):
        _arg(arg, g, i != last)
    add(")")
    g.marks.append((id(n), first, len(g.tokens)))
    for p in n.rpar:
        _rpar(p, g)


def _arg(n: cst.Arg, g: _State, default_comma: bool = False) -> None:
    add = g.add
    if n.star:
        add(n.star)
    w = n.whitespace_after_star
    if type(w) is not _SW:
        _gen(w, g)
    elif w.value:  # no token for empty whitespace (see ``_gen``)
        add(w.value)
    keyword = n.keyword
    if keyword is not None:
        _atom(keyword, g)
    equal = n.equal
    if equal is _DEFAULT:
        if keyword is not None:
            add(" = ")
    else:
        _FAST[type(equal)](equal, g)
    value = n.value
    _FAST[type(value)](value, g)
    comma = n.comma
    if comma is _DEFAULT:
        if default_comma:
            add(", ")
    else:
        _FAST[type(comma)](comma, g)
    w = n.whitespace_after_arg
    if type(w) is not _SW:
        _gen(w, g)
    elif w.value:  # no token for empty whitespace (see ``_gen``)
        add(w.value)


_FAST[cst.Arg] = _arg


@_fast(cst.Subscript)
def _subscript(n: cst.Subscript, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    first = len(g.tokens)
    _gen(n.value, g)
    _ws(n.whitespace_after_value, g)
    _gen(n.lbracket, g)
    last = len(n.slice) - 1
    for i, element in enumerate(n.slice):
        _subscript_element(element, g, i != last)
    _gen(n.rbracket, g)
    g.marks.append((id(n), first, len(g.tokens)))
    for p in n.rpar:
        _rpar(p, g)


def _subscript_element(n: cst.SubscriptElement, g: _State, default_comma: bool = False) -> None:
    _gen(n.slice, g)
    _comma(n.comma, g, default_comma)


_FAST[cst.SubscriptElement] = _subscript_element


@_fast(cst.Index)
def _index(n: cst.Index, g: _State) -> None:
    if n.star is not None:
        g.add(n.star)
    if n.whitespace_after_star is not None:
        _gen(n.whitespace_after_star, g)
    _gen(n.value, g)


@_fast(cst.Slice)
def _slice(n: cst.Slice, g: _State) -> None:
    if n.lower is not None:
        _gen(n.lower, g)
    _gen(n.first_colon, g)
    if n.upper is not None:
        _gen(n.upper, g)
    second_colon = n.second_colon
    if second_colon is _DEFAULT:
        if n.step is not None:
            g.add(":")
    else:
        _gen(second_colon, g)
    if n.step is not None:
        _gen(n.step, g)


@_fast(cst.Comparison)
def _comparison(n: cst.Comparison, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    first = len(g.tokens)
    _gen(n.left, g)
    for target in n.comparisons:
        _gen(target.operator, g)
        _gen(target.comparator, g)
    g.marks.append((id(n), first, len(g.tokens)))
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.ComparisonTarget)
def _comparison_target(n: cst.ComparisonTarget, g: _State) -> None:
    _gen(n.operator, g)
    _gen(n.comparator, g)


@_fast(cst.BinaryOperation, cst.BooleanOperation)
def _binary(n: Any, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    _gen(n.left, g)
    _gen(n.operator, g)
    _gen(n.right, g)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.UnaryOperation)
def _unary(n: cst.UnaryOperation, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    _gen(n.operator, g)
    _gen(n.expression, g)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.Await)
def _await(n: cst.Await, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    g.add("await")
    _ws(n.whitespace_after_await, g)
    _gen(n.expression, g)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.IfExp)
def _if_exp(n: cst.IfExp, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    _gen(n.body, g)
    _ws(n.whitespace_before_if, g)
    g.add("if")
    _ws(n.whitespace_after_if, g)
    _gen(n.test, g)
    _ws(n.whitespace_before_else, g)
    g.add("else")
    _ws(n.whitespace_after_else, g)
    _gen(n.orelse, g)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.ConcatenatedString)
def _concatenated(n: cst.ConcatenatedString, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    _gen(n.left, g)
    _ws(n.whitespace_between, g)
    _gen(n.right, g)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.FormattedString)
def _fstring(n: cst.FormattedString, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    g.add(n.start)
    for part in n.parts:
        _gen(part, g)
    g.add(n.end)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.FormattedStringExpression)
def _fstring_expression(n: cst.FormattedStringExpression, g: _State) -> None:
    g.add("{")
    _ws(n.whitespace_before_expression, g)
    _gen(n.expression, g)
    if n.equal is not None:
        _gen(n.equal, g)
    _ws(n.whitespace_after_expression, g)
    if n.conversion is not None:
        g.add("!")
        g.add(n.conversion)
    if n.format_spec is not None:
        g.add(":")
        for spec in n.format_spec:
            _gen(spec, g)
    g.add("}")


# Collections: their elements take two codegen arguments (a comma by default? with a space?).

def _elements(elements: Any, g: _State, single_tuple: bool = False) -> None:
    if single_tuple and len(elements) == 1:
        _element(elements[0], g, True, False)
        return
    last = len(elements) - 1
    for i, element in enumerate(elements):
        _element(element, g, i < last, True)


def _element(n: Any, g: _State, default_comma: bool, default_comma_whitespace: bool) -> None:
    t = type(n)
    if t is cst.Element:
        _gen(n.value, g)
    elif t is cst.DictElement:
        _gen(n.key, g)
        _ws(n.whitespace_before_colon, g)
        g.add(":")
        _ws(n.whitespace_after_colon, g)
        _gen(n.value, g)
    elif t is cst.StarredElement:  # an expression: parenthesized
        for p in n.lpar:
            _lpar(p, g)
        g.add("*")
        _ws(n.whitespace_before_value, g)
        _gen(n.value, g)
        for p in n.rpar:
            _rpar(p, g)
    elif t is cst.StarredDictElement:
        g.add("**")
        _ws(n.whitespace_before_value, g)
        _gen(n.value, g)
    else:
        n._codegen(g, default_comma=default_comma, default_comma_whitespace=default_comma_whitespace)
        return
    _comma(n.comma, g, default_comma, ", " if default_comma_whitespace else ",")


@_fast(cst.Tuple)
def _tuple(n: cst.Tuple, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    _elements(n.elements, g, single_tuple=True)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.List)
def _list(n: cst.List, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    _gen(n.lbracket, g)
    _elements(n.elements, g)
    _gen(n.rbracket, g)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.Set, cst.Dict)
def _braced(n: Any, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    _gen(n.lbrace, g)
    _elements(n.elements, g)
    _gen(n.rbrace, g)
    for p in n.rpar:
        _rpar(p, g)


# Comprehensions: their brackets inside the parentheses, then the element and the clauses.

@_fast(cst.ListComp)
def _list_comp(n: cst.ListComp, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    _gen(n.lbracket, g)
    _gen(n.elt, g)
    _comp_for(n.for_in, g)
    _gen(n.rbracket, g)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.SetComp)
def _set_comp(n: cst.SetComp, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    _gen(n.lbrace, g)
    _gen(n.elt, g)
    _comp_for(n.for_in, g)
    _gen(n.rbrace, g)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.GeneratorExp)
def _generator_exp(n: cst.GeneratorExp, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    _gen(n.elt, g)
    _comp_for(n.for_in, g)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.DictComp)
def _dict_comp(n: cst.DictComp, g: _State) -> None:
    for p in n.lpar:
        _lpar(p, g)
    _gen(n.lbrace, g)
    _gen(n.key, g)
    _ws(n.whitespace_before_colon, g)
    g.add(":")
    _ws(n.whitespace_after_colon, g)
    _gen(n.value, g)
    _comp_for(n.for_in, g)
    _gen(n.rbrace, g)
    for p in n.rpar:
        _rpar(p, g)


@_fast(cst.CompFor)
def _comp_for(n: cst.CompFor, g: _State) -> None:
    _ws(n.whitespace_before, g)
    if n.asynchronous is not None:
        _gen(n.asynchronous, g)
    g.add("for")
    _ws(n.whitespace_after_for, g)
    _gen(n.target, g)
    _ws(n.whitespace_before_in, g)
    g.add("in")
    _ws(n.whitespace_after_in, g)
    _gen(n.iter, g)
    for clause in n.ifs:
        _comp_if(clause, g)
    if n.inner_for_in is not None:
        _comp_for(n.inner_for_in, g)


@_fast(cst.CompIf)
def _comp_if(n: cst.CompIf, g: _State) -> None:
    _ws(n.whitespace_before, g)
    g.add("if")
    _ws(n.whitespace_before_test, g)
    _gen(n.test, g)


def _annotation(n: cst.Annotation, g: _State, indicator: str) -> None:
    before = n.whitespace_before_indicator
    if before is _DEFAULT:
        if indicator == "->":
            g.add(" ")
    else:
        _gen(before, g)
    g.add(indicator)
    _ws(n.whitespace_after_indicator, g)
    _gen(n.annotation, g)


# -- simple statements ---------------------------------------------------------------------
# Their parent line passes ``default_semicolon`` (a ``"; "`` unless last).

def _small(n: Any, g: _State, default_semicolon: bool) -> None:
    fast = _SMALL.get(type(n))
    if fast is None:
        n._codegen(g, default_semicolon=default_semicolon)
    else:
        fast(n, g, default_semicolon)


def _assign(n: cst.Assign, g: _State, default_semicolon: bool) -> None:
    first = len(g.tokens)
    for target in n.targets:
        _gen(target.target, g)
        _ws(target.whitespace_before_equal, g)
        g.add("=")
        _ws(target.whitespace_after_equal, g)
    value = n.value
    _FAST[type(value)](value, g)
    g.marks.append((id(n), first, len(g.tokens)))
    _semicolon(n.semicolon, g, default_semicolon)


def _ann_assign(n: cst.AnnAssign, g: _State, default_semicolon: bool) -> None:
    first = len(g.tokens)
    _gen(n.target, g)
    _annotation(n.annotation, g, ":")
    equal = n.equal
    if equal is _DEFAULT:
        if n.value is not None:
            g.add(" = ")
    else:
        _gen(equal, g)
    if n.value is not None:
        _gen(n.value, g)
    g.marks.append((id(n), first, len(g.tokens)))
    _semicolon(n.semicolon, g, default_semicolon)


def _aug_assign(n: cst.AugAssign, g: _State, default_semicolon: bool) -> None:
    first = len(g.tokens)
    _gen(n.target, g)
    _gen(n.operator, g)
    _gen(n.value, g)
    g.marks.append((id(n), first, len(g.tokens)))
    _semicolon(n.semicolon, g, default_semicolon)


def _expr(n: cst.Expr, g: _State, default_semicolon: bool) -> None:
    first = len(g.tokens)
    value = n.value
    _FAST[type(value)](value, g)
    g.marks.append((id(n), first, len(g.tokens)))
    _semicolon(n.semicolon, g, default_semicolon)


def _return(n: cst.Return, g: _State, default_semicolon: bool) -> None:
    first = len(g.tokens)
    g.add("return")
    value = n.value
    if n.whitespace_after_return is _DEFAULT:
        if value is not None:
            g.add(" ")
    else:
        _ws(n.whitespace_after_return, g)
    if value is not None:
        _gen(value, g)
    g.marks.append((id(n), first, len(g.tokens)))
    _semicolon(n.semicolon, g, default_semicolon)


def _raise(n: cst.Raise, g: _State, default_semicolon: bool) -> None:
    first = len(g.tokens)
    g.add("raise")
    if n.whitespace_after_raise is _DEFAULT:
        if n.exc is not None:
            g.add(" ")
    else:
        _ws(n.whitespace_after_raise, g)
    if n.exc is not None:
        _gen(n.exc, g)
    if n.cause is not None:
        n.cause._codegen(g, default_space=" ")
    g.marks.append((id(n), first, len(g.tokens)))
    _semicolon(n.semicolon, g, default_semicolon)


def _keyword_statement(keyword: str) -> Callable[[Any, _State, bool], None]:
    """``pass``, ``break``, ``continue``: a keyword (none of them is wanted)."""
    def gen(n: Any, g: _State, default_semicolon: bool) -> None:
        g.add(keyword)
        _semicolon(n.semicolon, g, default_semicolon)

    return gen


def _import(n: cst.Import, g: _State, default_semicolon: bool) -> None:
    first = len(g.tokens)
    g.add("import")
    _ws(n.whitespace_after_import, g)
    last = len(n.names) - 1
    for i, alias in enumerate(n.names):
        _import_alias(alias, g, i != last)
    g.marks.append((id(n), first, len(g.tokens)))
    _semicolon(n.semicolon, g, default_semicolon)


def _import_from(n: cst.ImportFrom, g: _State, default_semicolon: bool) -> None:
    first = len(g.tokens)
    g.add("from")
    _ws(n.whitespace_after_from, g)
    for dot in n.relative:
        _gen(dot, g)
    if n.module is not None:
        _gen(n.module, g)
    _ws(n.whitespace_before_import, g)
    g.add("import")
    _ws(n.whitespace_after_import, g)
    if n.lpar is not None:
        _gen(n.lpar, g)
    names = n.names
    if isinstance(names, cst.ImportStar):
        _gen(names, g)
    else:
        last = len(names) - 1
        for i, alias in enumerate(names):
            _import_alias(alias, g, i != last)
    if n.rpar is not None:
        _gen(n.rpar, g)
    g.marks.append((id(n), first, len(g.tokens)))
    _semicolon(n.semicolon, g, default_semicolon)


def _import_alias(n: cst.ImportAlias, g: _State, default_comma: bool) -> None:
    _gen(n.name, g)
    asname = n.asname
    if asname is not None:
        _as_name(asname, g)
    _comma(n.comma, g, default_comma)


@_fast(cst.AsName)
def _as_name(n: cst.AsName, g: _State) -> None:
    _ws(n.whitespace_before_as, g)
    g.add("as")
    _ws(n.whitespace_after_as, g)
    _gen(n.name, g)


_SMALL: dict[type, Callable[[Any, _State, bool], None]] = {
    cst.Assign: _assign, cst.AnnAssign: _ann_assign, cst.AugAssign: _aug_assign, cst.Expr: _expr,
    cst.Return: _return, cst.Raise: _raise, cst.Import: _import, cst.ImportFrom: _import_from,
    cst.Pass: _keyword_statement("pass"), cst.Break: _keyword_statement("break"),
    cst.Continue: _keyword_statement("continue"),
}


def _small_body(n: Any, g: _State) -> None:
    """The statements of a line or of a one-line suite, then its trailing whitespace."""
    body = n.body
    if len(body) == 1:  # nearly always: one statement, no semicolon by default
        stmt = body[0]
        fast = _SMALL.get(type(stmt))
        if fast is None:
            stmt._codegen(g, default_semicolon=False)
        else:
            fast(stmt, g, False)
    elif body:
        last = len(body) - 1
        for i, stmt in enumerate(body):
            _small(stmt, g, i != last)
    else:
        g.add("pass")
    _trailing(n.trailing_whitespace, g)


@_fast(cst.SimpleStatementLine)
def _simple_line(n: cst.SimpleStatementLine, g: _State) -> None:
    for line in n.leading_lines:
        _empty_line(line, g)
    g.tokens.extend(g.indent_tokens)
    _small_body(n, g)


@_fast(cst.SimpleStatementSuite)
def _simple_suite(n: cst.SimpleStatementSuite, g: _State) -> None:
    _ws(n.leading_whitespace, g)
    _small_body(n, g)


# -- compound statements -------------------------------------------------------------------

@_fast(cst.IndentedBlock)
def _block(n: cst.IndentedBlock, g: _State) -> None:
    _trailing(n.header, g)
    g.indent_tokens.append(g.default_indent if n.indent is None else n.indent)
    if n.body:
        for stmt in n.body:
            _FAST[type(stmt)](stmt, g)
    else:  # LibCST writes ``pass`` for an empty block
        g.tokens.extend(g.indent_tokens)
        g.add("pass")
        g.add(g.default_newline)
    for line in n.footer:
        _empty_line(line, g)
    g.indent_tokens.pop()


def _header(n: Any, g: _State) -> None:
    """Leading lines and indentation, before the position of a compound statement starts."""
    for line in n.leading_lines:
        _empty_line(line, g)
    g.tokens.extend(g.indent_tokens)


@_fast(cst.Decorator)
def _decorator(n: cst.Decorator, g: _State) -> None:
    _header(n, g)
    first = len(g.tokens)
    g.add("@")
    _ws(n.whitespace_after_at, g)
    _gen(n.decorator, g)
    g.marks.append((id(n), first, len(g.tokens)))
    _trailing(n.trailing_whitespace, g)


def _decorated_header(n: Any, g: _State) -> None:
    for line in n.leading_lines:
        _empty_line(line, g)
    for decorator in n.decorators:
        _decorator(decorator, g)
    for line in n.lines_after_decorators:
        _empty_line(line, g)
    g.tokens.extend(g.indent_tokens)


@_fast(cst.FunctionDef)
def _function(n: cst.FunctionDef, g: _State) -> None:
    _decorated_header(n, g)
    first = len(g.tokens)
    if n.asynchronous is not None:
        _gen(n.asynchronous, g)
    g.add("def")
    _ws(n.whitespace_after_def, g)
    _atom(n.name, g)
    _ws(n.whitespace_after_name, g)
    if n.type_parameters is not None:
        _gen(n.type_parameters, g)
    _ws(n.whitespace_after_type_parameters, g)
    g.add("(")
    _ws(n.whitespace_before_params, g)
    _parameters(n.params, g)
    g.add(")")
    if n.returns is not None:
        _annotation(n.returns, g, "->")
    _ws(n.whitespace_before_colon, g)
    g.add(":")
    _gen(n.body, g)
    g.marks.append((id(n), first, len(g.tokens)))


@_fast(cst.Asynchronous)
def _asynchronous(n: cst.Asynchronous, g: _State) -> None:
    g.add("async")
    _ws(n.whitespace_after, g)


def _parameters(n: cst.Parameters, g: _State) -> None:
    if type(n) is not cst.Parameters:
        _gen(n, g)
        return
    star_arg = n.star_arg
    if star_arg is _DEFAULT:
        star_included = len(n.kwonly_params) > 0
    else:
        star_included = isinstance(star_arg, (cst.Param, cst.ParamStar))
    for param in n.posonly_params:
        _param(param, g, "", True)
    more = star_included or len(n.params) > 0 or len(n.kwonly_params) > 0 or n.star_kwarg is not None
    slash = n.posonly_ind
    if isinstance(slash, cst.ParamSlash):
        slash._codegen(g, default_comma=more)
    elif len(n.posonly_params) > 0:
        g.add("/, " if more else "/")
    last = len(n.params) - 1
    more = star_included or len(n.kwonly_params) > 0 or n.star_kwarg is not None
    for i, param in enumerate(n.params):
        _param(param, g, "", i < last or more)
    if star_arg is _DEFAULT:
        if star_included:
            g.add("*, ")
    elif isinstance(star_arg, cst.Param):
        _param(star_arg, g, "*", len(n.kwonly_params) > 0 or n.star_kwarg is not None)
    elif isinstance(star_arg, cst.ParamStar):
        _gen(star_arg, g)
    last = len(n.kwonly_params) - 1
    more = n.star_kwarg is not None
    for i, param in enumerate(n.kwonly_params):
        _param(param, g, "", i < last or more)
    if n.star_kwarg is not None:
        _param(n.star_kwarg, g, "**", False)


_FAST[cst.Parameters] = _parameters


def _param(n: cst.Param, g: _State, default_star: str, default_comma: bool) -> None:
    first = len(g.tokens)
    star = n.star
    if star is _DEFAULT:
        star = default_star
    if isinstance(star, str):
        g.add(star)
    _ws(n.whitespace_after_star, g)
    _atom(n.name, g)
    g.marks.append((id(n), first, len(g.tokens)))
    if n.annotation is not None:
        _annotation(n.annotation, g, ":")
    equal = n.equal
    if equal is _DEFAULT:
        if n.default is not None:
            g.add(" = ")
    else:
        _gen(equal, g)
    if n.default is not None:
        _gen(n.default, g)
    _comma(n.comma, g, default_comma)
    _ws(n.whitespace_after_param, g)


@_fast(cst.ClassDef)
def _class(n: cst.ClassDef, g: _State) -> None:
    _decorated_header(n, g)
    first = len(g.tokens)
    g.add("class")
    _ws(n.whitespace_after_class, g)
    _atom(n.name, g)
    _ws(n.whitespace_after_name, g)
    if n.type_parameters is not None:
        _gen(n.type_parameters, g)
    _ws(n.whitespace_after_type_parameters, g)
    has_args = bool(n.bases or n.keywords)
    if n.lpar is _DEFAULT:
        if has_args:
            g.add("(")
    else:
        _gen(n.lpar, g)
    args = [*n.bases, *n.keywords]
    last = len(args) - 1
    for i, arg in enumerate(args):
        _arg(arg, g, i != last)
    if n.rpar is _DEFAULT:
        if has_args:
            g.add(")")
    else:
        _gen(n.rpar, g)
    _ws(n.whitespace_before_colon, g)
    g.add(":")
    _gen(n.body, g)
    g.marks.append((id(n), first, len(g.tokens)))


def _if(n: cst.If, g: _State, is_elif: bool = False) -> None:
    _header(n, g)
    g.add("elif" if is_elif else "if")
    _ws(n.whitespace_before_test, g)
    _gen(n.test, g)
    _ws(n.whitespace_after_test, g)
    g.add(":")
    _gen(n.body, g)
    orelse = n.orelse
    if orelse is not None:
        if type(orelse) is cst.If:
            _if(orelse, g, True)
        else:
            _gen(orelse, g)


_FAST[cst.If] = _if


def _keyword_clause(keyword: str) -> _Gen:
    """``else:``, ``finally:``: a keyword, a colon and a block."""
    def gen(n: Any, g: _State) -> None:
        _header(n, g)
        g.add(keyword)
        _ws(n.whitespace_before_colon, g)
        g.add(":")
        _gen(n.body, g)

    return gen


_FAST[cst.Else] = _keyword_clause("else")
_FAST[cst.Finally] = _keyword_clause("finally")


@_fast(cst.For)
def _for(n: cst.For, g: _State) -> None:
    _header(n, g)
    if n.asynchronous is not None:
        _gen(n.asynchronous, g)
    g.add("for")
    _ws(n.whitespace_after_for, g)
    _gen(n.target, g)
    _ws(n.whitespace_before_in, g)
    g.add("in")
    _ws(n.whitespace_after_in, g)
    _gen(n.iter, g)
    _ws(n.whitespace_before_colon, g)
    g.add(":")
    _gen(n.body, g)
    if n.orelse is not None:
        _gen(n.orelse, g)


@_fast(cst.While)
def _while(n: cst.While, g: _State) -> None:
    _header(n, g)
    g.add("while")
    _ws(n.whitespace_after_while, g)
    _gen(n.test, g)
    _ws(n.whitespace_before_colon, g)
    g.add(":")
    _gen(n.body, g)
    if n.orelse is not None:
        _gen(n.orelse, g)


@_fast(cst.Try)
def _try(n: cst.Try, g: _State) -> None:
    _header(n, g)
    g.add("try")
    _ws(n.whitespace_before_colon, g)
    g.add(":")
    _gen(n.body, g)
    for handler in n.handlers:
        _gen(handler, g)
    if n.orelse is not None:
        _gen(n.orelse, g)
    if n.finalbody is not None:
        _gen(n.finalbody, g)


@_fast(cst.ExceptHandler)
def _except(n: cst.ExceptHandler, g: _State) -> None:
    _header(n, g)
    g.add("except")
    _ws(n.whitespace_after_except, g)
    if n.type is not None:
        _gen(n.type, g)
    if n.name is not None:
        _as_name(n.name, g)
    _ws(n.whitespace_before_colon, g)
    g.add(":")
    _gen(n.body, g)
