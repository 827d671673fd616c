"""The extractor's fast paths against the slow, obviously right ways they replace.

* ``positions()`` (own code generation for the common node types) against a reference that
  runs LibCST's whole code generation and counts lines and columns token by token;
* ``walk()`` (hooks resolved once, fields and leaves that hold nothing skipped) against
  ``node.visit()``;
* ``string_value()`` against ``SimpleString.evaluated_value``;
* ``could_be_too_deep()`` (byte counts) against the guard it lets through, ``nesting()``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import libcst as cst
import pytest
from libcst._nodes.internal import CodegenState

from fastapi_arch_lint.extract.convert import string_value
from fastapi_arch_lint.extract.parse import _deep_call, could_be_too_deep, nesting
from fastapi_arch_lint.extract.positions import WANTED, positions
from fastapi_arch_lint.extract.walk import walk
from fastapi_arch_lint.model.facts import Pos


class _Reference(CodegenState):
    """LibCST's code generation, every token counted (the former implementation)."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.found: dict[int, Pos] = {}
        self.line, self.column = 1, 0

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        newlines = value.count("\n") + value.count("\r") - value.count("\r\n")
        if newlines:
            self.line += newlines
            self.column = len(value) - max(value.rfind("\n"), value.rfind("\r")) - 1
        else:
            self.column += len(value)

    def record_syntactic_position(self, node, *, start_node=None, end_node=None):  # type: ignore[no-untyped-def]
        return _Span(self, node) if type(node) in WANTED else _Span(None, node)


class _Span:
    def __init__(self, state: _Reference | None, node: cst.CSTNode) -> None:
        self.state, self.node = state, node
        if state is not None:
            self.line, self.col = state.line, state.column

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        st = self.state
        if st is not None:
            st.found[id(self.node)] = Pos(self.line, self.col + 1, st.line, st.column + 1)


def reference_positions(module: cst.Module) -> dict[int, Pos]:
    state = _Reference(module)
    module._codegen(state)
    return state.found


def same_positions(source: bytes | str) -> dict[int, Pos]:
    module = cst.parse_module(source)
    got = positions(module)
    assert got == reference_positions(module)
    return got


SNIPPETS = {
    "plain": "import os\nfrom . import a as b, c\nx = os.path.join('a', b=1)\n",
    "decorated": "@app.get(\n    '/x',\n)\n@cache\nasync def f(a: int, /, b=2, *args, c, d: str = 'x', **kw) -> None:\n"
                 "    return await g(a)[0]\n\n\nclass C(Base, metaclass=M):\n    x: int = 1\n    def m(self): pass\n",
    "crlf": "def f():\r\n    x = g(1,\r\n          2)\r\n    return x\r\n",
    "lone_cr": "def f():\r    x = g(1,\r          2)\r    return x\r",
    "mixed_newlines": "a = f()\r\nb = g()\nc = h()\rd = i()\n",
    "crlf_continuations": "x = 1 + \\\r\n    f(2)\r\ny = g(\r\n    '''a\r\nb''',  # c\r\n\r\n    3)\r\n"
                          "if a and \\\r\n   b(): pass\r\n",
    "cr_continuations": "x = 1 + \\\r    f(2)\ry = g(\r    '''a\rb''',  # c\r\r    3)\r",
    "tabs_and_formfeed": "if x:\n\ty = f(1)\n\f\ndef g():\n\treturn h(\t2)\n",
    "non_ascii": "café = 'héllo'\nx = f('日本語', ü=1)  # коммент\ny = g(café)\n",
    "multiline_strings": 'x = f("""a\nb\n""", \'\'\'c\r\nd\'\'\')\ny = g()\n',
    "continuations": "x = 1 + \\\n    f(2) \\\n    + 3\nif a and \\\n        b(1):\n    pass\n",
    "fstrings": "x = f'{a!r:>{w}} {b(1)=} {{no}}'\ny = rf\"\\d{c[0]}\"\nz = f'''{\n  d(2)\n}'''\n",
    "comments_and_footers": "def f():\n    x = 1\n    # trailing comment\n\n# module comment\ndef g(): return h()\n",
    "semicolons_and_suites": "a = f(); b = g()\nif x: y = h(); z = 1\nwhile w: break\nfor i in r: continue\n",
    "no_trailing_newline": "def f():\n    return g()",
    "empty": "",
    "only_comments": "# a\n\n# b\n",
    "compound": "try:\n    x = f()\nexcept (A, B) as e:\n    raise C() from e\nelse:\n    pass\nfinally:\n    g()\n"
                "with a() as b, c():\n    d[1:2, ::3] = e\nwhile x < 3 <= y:\n    x += 1\nelse:\n    del x\n",
    "expressions": "x = [a, *b, (c)]\ny = {1: 2, **d}\nz = {e, f}\nw = (g,)\nv = -h ** ~i if not j else k\n"
                   "u = lambda p, *q: p\nt = [m for m in n if m]\ns = {o: p for o in q}\nr = (yield)\n"
                   "q = a if b else c\np = x is not y and z not in w or v != u\nassert f(), 'msg'\n"
                   "print(*args, **kwargs)\nglobal gg\nn = ...\nm = 1.5j + 0x1f + 1_000\nl = 'a' 'b' f'c'\n",
    "walrus_and_match": "if (n := len(a)) > 10:\n    pass\nmatch cmd:\n    case [x, y]:\n        f(x)\n"
                        "    case {'k': v} if v:\n        g(v)\n    case _:\n        pass\n",
    "type_alias_and_generics": "type X[T] = list[T]\ndef f[T](x: T) -> T:\n    return x\nclass B[T]: pass\n",
    "parenthesized": "x = (f(1))\ny = ((a).b)(c)\nz = (\n    g(\n        1,  # one\n    )\n)\n",
    "deep_elif": "if a:\n    pass\n" + "elif b(1):\n    pass\n" * 300,
    "long_concat": "x = (\n" + "    'a'\n" * 500 + ")\n",
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_positions_match_the_full_code_generation(name: str) -> None:
    _deep_call(same_positions, SNIPPETS[name])


def test_positions_of_a_call_in_a_crlf_file_count_characters() -> None:
    module = cst.parse_module("x = 'é'\r\ny = f(1)\r\n")
    call = module.body[1].body[0].value  # type: ignore[attr-defined]
    assert positions(module)[id(call)] == Pos(2, 5, 2, 9)


def standard_library_sample() -> list[Path]:
    root = Path(sys.modules["json"].__file__).parent.parent  # type: ignore[arg-type]
    return [root / p for p in ("textwrap.py", "argparse.py", "dataclasses.py", "asyncio/base_events.py",
                                 "email/_header_value_parser.py", "pydoc_data/topics.py") if (root / p).exists()]


@pytest.mark.parametrize("path", standard_library_sample(), ids=lambda p: p.name)
def test_positions_on_standard_library_modules(path: Path) -> None:
    _deep_call(same_positions, path.read_bytes())


def test_an_unverified_libcst_gets_its_own_code_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_arch_lint.extract import positions as positions_module

    assert positions_module.USE_FAST_PATHS  # the LibCST the tests run with is a verified one
    monkeypatch.setattr(positions_module, "USE_FAST_PATHS", False)
    for name in ("decorated", "crlf", "non_ascii", "fstrings", "no_trailing_newline", "compound"):
        _deep_call(same_positions, SNIPPETS[name])
    _deep_call(same_positions, standard_library_sample()[0].read_bytes())


# ---------------------------------------------------------------------------
# walk() against node.visit()

class Recorder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.seen.append(("Name", node.value))

    def visit_Call(self, node: cst.Call) -> None:
        self.seen.append(("Call", type(node.func).__name__))

    def leave_Call(self, original_node: cst.Call) -> None:
        self.seen.append(("/Call", ""))

    def visit_If_body(self, node: cst.If) -> None:
        self.seen.append(("If.body", ""))

    def leave_If_orelse(self, node: cst.If) -> None:
        self.seen.append(("/If.orelse", ""))

    def visit_FormattedStringExpression_format_spec(self, node: cst.FormattedStringExpression) -> None:
        self.seen.append(("format_spec", ""))

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.seen.append(("Lambda", ""))
        return False  # not entered

    def visit_Comma(self, node: cst.Comma) -> None:  # a token type: walked because hooked
        self.seen.append((",", ""))

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.seen.append(("str", node.value))


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_walk_calls_the_hooks_node_visit_calls(name: str) -> None:
    module = cst.parse_module(SNIPPETS[name])
    expected, got = Recorder(), Recorder()
    _deep_call(module.visit, expected)
    _deep_call(walk, module, got)
    assert got.seen == expected.seen


# ---------------------------------------------------------------------------
# string_value() against evaluated_value

@pytest.mark.parametrize("literal", [
    "'a'", '"a"', "''", '""', "'''a\nb'''", '"""a"\n"""', '""""a"""', "r'\\d'", "u'x'", "R'x'", "b'x'",
    "'\\n'", "'''a\r\nb'''", "rb'\\x'", "'é'", "'a\"b'", "\"a'b\"",
])
def test_string_value_is_evaluated_value(literal: str) -> None:
    node = cst.parse_expression(literal)
    assert isinstance(node, cst.SimpleString)
    assert string_value(node) == node.evaluated_value
    assert type(string_value(node)) is type(node.evaluated_value)


# ---------------------------------------------------------------------------
# could_be_too_deep() never clears a file nesting() would stop

@pytest.mark.parametrize("source", [
    b"x = " + b"(" * 150 + b"1" + b")" * 150 + b"\n",
    b"x = a" + b".b" * 999 + b"\n",
    b"x = " + b"not " * 999 + b"1\n",
    b"x = f'{" + b"a." * 600 + b"b}' + f'{(((1)))}'\n",
    b"y = " + b"a[0]" * 300 + b"\n",
    b"z = " + b" << ".join([b"a"] * 700) + b"\n",
    b"w = 1 if a else " * 400 + b"2\n",
    b"# " + b"(" * 300 + b"\n",
])
def test_the_byte_count_bound_is_above_the_guard(source: bytes) -> None:
    depth, chain = nesting(source)
    opens = source.count(b"(") + source.count(b"[") + source.count(b"{")
    assert depth <= opens
    if depth > 200 or chain > 1000:
        assert could_be_too_deep(source)
    if not could_be_too_deep(source):
        assert depth <= 200 and chain <= 1000
