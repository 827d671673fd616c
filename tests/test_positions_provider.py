"""``extract/positions.py`` against LibCST's own ``PositionProvider``.

``positions(module)`` returns ``{id(node): Pos}`` for every node of a ``WANTED`` type; the
collector reads it by node identity (``Collector.p``). ``Pos`` is 1-based for lines and
columns with an exclusive end, so a ``CodeRange`` from ``PositionProvider`` (1-based lines,
0-based columns, exclusive end) corresponds to ``Pos(start.line, start.column + 1, end.line,
end.column + 1)``.

``tests/test_positions.py`` holds the fast paths to a token-counting run of LibCST's code
generation (the former implementation). This file compares with what LibCST itself
publishes, resolved through ``MetadataWrapper``, on a varied corpus: the test fixtures, the
bundled example, tricky snippets and a fixed sample of standard library modules (the whole
standard library with ``FAL_POSITIONS_WHOLE_STDLIB=1`` and ``-m slow``).

Every node our positions record must have exactly ``PositionProvider``'s span, except for
the differences listed in ``DELIBERATE`` below; each of those states what our span is
instead, and that is asserted too, so a difference nobody decided on fails.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider, WhitespaceInclusivePositionProvider

from fastapi_arch_lint.extract.parse import _deep_call
from fastapi_arch_lint.extract.positions import WANTED, positions
from fastapi_arch_lint.model.facts import Pos

from test_positions import SNIPPETS as CODEGEN_SNIPPETS

REPO = Path(__file__).resolve().parent.parent


def _pos(r: cst.metadata.CodeRange) -> Pos:
    return Pos(r.start.line, r.start.column + 1, r.end.line, r.end.column + 1)


# ---------------------------------------------------------------------------
# Deliberate differences: node type -> (why, the span we record instead)
#
# ``PositionProvider`` hoists the end of a function or class to the end of its body's last
# statement (``record_syntactic_position(self, end_node=self.body)``, and the block's own
# position ends at its last statement, ``end_node=self.body[-1]``), so ``def f():\n
# return 1\n`` ends after ``1``. Ours ignore ``start_node``/``end_node`` and end where the
# definition's code generation ends: after the body's last line, its newline and the
# block's footer comments included (so the end is usually column 1 of the line after the
# body). That is what the extractor has recorded since its first version (a sparse
# ``CodegenState`` that records around the ``with`` block and ignores the hoisting), what
# positions.py's docstring states, and what LibCST's ``WhitespaceInclusivePositionProvider``
# gives for the definition. It is part of the facts (``FunctionFact.pos``, ``ClassFact.pos``);
# no rule or report reads a definition's end today (only its line and column), so changing it
# would be a decision, not a fix. The start is ``PositionProvider``'s: the ``def`` (or
# ``async``) / ``class`` keyword, after the decorators (which have spans of their own).

def _definition_span(node: cst.CSTNode, provider: dict, inclusive: dict) -> Pos:
    start = provider[node].start
    end = inclusive[node].end  # the end of the body's code generation (= ``inclusive[node.body].end``)
    assert end == inclusive[node.body].end
    return _pos(cst.metadata.CodeRange(start, end))


DELIBERATE: dict[type, tuple[str, Callable[[cst.CSTNode, dict, dict], Pos]]] = {
    cst.FunctionDef: ("starts at `def`/`async` as PositionProvider's; ends after the body's last line "
                      "(newline and footer comments included), not at its last statement", _definition_span),
    cst.ClassDef: ("starts at `class` as PositionProvider's; ends after the body's last line "
                   "(newline and footer comments included), not at its last statement", _definition_span),
}


def compare(module: cst.Module) -> dict[type, int]:
    """Hold ``positions(module)`` to ``PositionProvider``; how many nodes of each deliberately
    different type were checked against their own rule instead."""
    ours = positions(module)
    # ``unsafe_skip_copy``: the metadata is keyed by this very tree's nodes, as ours are by id
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    provider = wrapper.resolve(PositionProvider)  # every node of the tree has a span
    inclusive = wrapper.resolve(WhitespaceInclusivePositionProvider)
    wanted = {id(n): n for n in provider if type(n) in WANTED}
    assert set(ours) == set(wanted), "positions() must record every node of a WANTED type, and only those"
    deliberate: dict[type, int] = {}
    mismatches = []
    for key, got in ours.items():
        node = wanted[key]
        rule = DELIBERATE.get(type(node))
        if rule is None:
            expected = _pos(provider[node])
        else:
            expected = rule[1](node, provider, inclusive)
            deliberate[type(node)] = deliberate.get(type(node), 0) + 1
        if got != expected:
            mismatches.append((type(node).__name__, got, expected, _pos(provider[node])))
    assert not mismatches, f"{len(mismatches)} spans differ (type, ours, expected, PositionProvider's): {mismatches[:10]}"
    return deliberate


def check(source: bytes | str) -> dict[type, int]:
    """``compare`` on ``source``, on the big-stack thread as in the extractor (deep snippets)."""
    return _deep_call(lambda: compare(cst.parse_module(source)))


def check_if_parsed(source: bytes) -> None:
    """``check``, or a skip for a file LibCST does not parse (a deliberately broken fixture)."""
    try:
        module = _deep_call(cst.parse_module, source)
    except Exception:
        pytest.skip("LibCST does not parse it")
    _deep_call(compare, module)


# ---------------------------------------------------------------------------
# Corpus

def _py_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py"))


PROJECT_FILES = _py_files(REPO / "tests" / "fixtures", REPO / "examples")


@pytest.mark.parametrize("path", PROJECT_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_fixture_and_example_files(path: Path) -> None:
    check_if_parsed(path.read_bytes())


SNIPPETS: dict[str, str] = {
    **{f"codegen_{name}": text for name, text in CODEGEN_SNIPPETS.items()},
    "decorators": (
        "@a\n@b.c(1, x=2)\n@ d [0] (e)\n  # between\n@(lambda f: f)\n"
        "def f(): ...\n\n@dataclass(frozen=True)\nclass K:\n    @property\n    def p(self): return 1\n"
        "    @staticmethod\n    # c\n    async def q(): pass\n"
    ),
    "comments": (
        "# head\n\nx = f(  # a\n    1,  # b\n    # c\n)  # d\n\ndef g():  # e\n    # f\n    return h()  # g\n"
        "    # footer of g\n\n# footer of the module\n"
    ),
    "nested_fstrings": (
        "a = f\"{x!r:>{width}} {f'{y:{z}}'} {g(f'{h(1)}')}\"\n"
        "b = f'''{\n    k(\n        2)\n}''' + rf\"{m}\\n\"\n"
        "c = f'{d[\"k\"]}' f\"{e=}\" f'{n:%Y-%m-%d}'\n"
    ),
    "async": (
        "async def f(a):\n    async with g() as h, i():\n        await h.j(1)\n"
        "    async for k in l(a):\n        yield await k\n"
        "    return [m async for m in n() if await o(m)]\n"
    ),
    "match": (
        "match command.split():\n    case [action]:\n        f(action)\n"
        "    case [\"go\", direction] | [\"move\", direction]:\n        g(direction)\n"
        "    case Point(x=0, y=0) as p if p.ok():\n        h(p)\n"
        "    case {\"k\": v, **rest}:\n        i(v, rest)\n"
        "    case [1, 2, *others]:\n        pass\n    case str() | bytes():\n        pass\n"
        "    case _:\n        raise ValueError(command)\n"
    ),
    "walrus": (
        "if (n := len(a)) > 10 and (m := f(n)):\n    print(f\"{(o := 1)}\")\n"
        "while chunk := read(1024):\n    process(chunk)\n[y for x in data if (y := g(x)) is not None]\n"
    ),
    "lambdas": (
        "f = lambda: 0\ng = lambda a, /, b=1, *c, d, e=2, **h: a(b)\n"
        "k = sorted(xs, key=lambda x: (x.a, -x.b))\nm = lambda *, n: (lambda o: o + n)(1)\n"
    ),
    "comprehensions": (
        "a = [x * y for x in range(3) for y in range(x) if x if y]\n"
        "b = {k: v for k, v in d.items()}\nc = {f(z) for z in zs}\nd = (g(w) for w in ws)\n"
        "e = [[i for i in row] for row in m]\nf = sum(x for x in y)\n"
    ),
    "line_continuations": (
        "x = 1 + \\\n    f(2)\nassert a, \\\n    b\nimport os, \\\n    sys\n"
        "from a import (b,\n    c as d,\n)\nwith open(p) as f, \\\n     open(q) as g:\n    pass\n"
    ),
    "semicolons": "import a; import b as c; from d import e\nx = 1; y: int = f(); z += g(); h(); return_ = 2;\n"
                  "def k(): return 1; pass\nclass L: m = 1; n = o()\n",
    "unicode": (
        "π = 3.14\nnaïve = f('日本語', ключ='значение')\ndef größe(ä: int) -> 'ö': return ä\n"
        "s = '🙂' + \"\\u00e9\" + '''é\nè'''\nclass Ünïcode: ñ = 'ñ'\n"
    ),
    "tabs": "if a:\n\tb = f(1)\n\tif c:\n\t\td = g(\t2,\n\t\t\t3)\nclass E:\n\tdef f(self):\n\t\treturn h(\t)\n",
    "crlf": (
        "@app.get('/x')\r\nasync def f(a: int = 1,\r\n            b=g()):\r\n    # c\r\n"
        "    return {'x': h(a)}\r\n\r\nclass K(B):\r\n    x: int = 1\r\n\r\n"
    ),
    "mixed_indentation_styles": "def f():\n  x = 1\n  if x:\n        y = g()\n  return y\n",
    "statements": (
        "global a\nnonlocal_ = 1\ndel a[0], b.c\nassert f(), g()\nraise\nraise E from None\n"
        "try:\n    pass\nexcept* ValueError as e:\n    h(e)\n"
        "for i in range(3):\n    continue\nelse:\n    break_ = 1\n"
        "while True:\n    break\ntype Alias[T] = dict[str, T]\nx[1:2, ::3, ...] = y[z][w]\n"
        "a.b[c](d)[e] = f(g)(h)\nprint(*a, *b, **c, **d)\nx = yield_ = 1\n"
    ),
    "docstrings_and_empty_bodies": (
        "\"\"\"Module.\"\"\"\ndef f():\n    \"\"\"Doc.\"\"\"\nclass C:\n    \"\"\"Doc.\"\"\"\n    ...\n"
        "def g(): pass\nclass D: pass\n"
    ),
    "deeply_nested_definitions": (
        "class A:\n    class B:\n        def f(self):\n            def g():\n                return h()\n"
        "            # footer of f\n        # footer of B\n    x = 1\n"
    ),
    "trailing_whitespace_no_newline": "def f():\n    return g()   \n\n\n   ",
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_tricky_snippets(name: str) -> None:
    check(SNIPPETS[name])


@pytest.mark.parametrize("name", ["decorators", "comments", "nested_fstrings", "match", "crlf", "statements"])
def test_the_path_for_unverified_libcst_releases_too(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the fast paths (a LibCST release they were not checked against), LibCST's
    own ``_codegen`` runs on our state: the same spans, the same deliberate differences."""
    from fastapi_arch_lint.extract import positions as positions_module

    monkeypatch.setattr(positions_module, "USE_FAST_PATHS", False)
    check(SNIPPETS[name])


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_the_plain_path_gives_the_same_positions(name: str) -> None:
    """``provider_positions`` (``FASTAPI_ARCH_LINT_PLAIN_LIBCST``) is ``positions``."""
    from fastapi_arch_lint.extract.positions import provider_positions

    def both() -> None:
        module = cst.parse_module(SNIPPETS[name])
        assert provider_positions(module) == positions(module)

    _deep_call(both)


def test_the_deliberate_differences_are_real() -> None:
    """The listed exceptions are not stale: on a snippet with one function and one class,
    ``PositionProvider`` and ours differ exactly as documented."""
    source = "@d\ndef f():\n    return 1\n    # footer\n\nclass C:\n    x = 1\n"
    module = cst.parse_module(source)
    ours = positions(module)
    provider = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    f, c = module.body
    assert _pos(provider[f]) == Pos(2, 1, 3, 13)  # ``def`` .. after ``return 1``
    assert ours[id(f)] == Pos(2, 1, 5, 1)  # ``def`` .. after the footer comment's line
    assert _pos(provider[c]) == Pos(6, 1, 7, 10)
    assert ours[id(c)] == Pos(6, 1, 8, 1)
    assert check(source) == {cst.FunctionDef: 1, cst.ClassDef: 1}


# A fixed sample (~0.8 MB, some seconds; ``PositionProvider`` costs about three parses a file):
# typing, async, dataclasses, decorators, descriptors, match statements (traceback.py,
# libregrtest), f-strings of every kind (test_fstring.py), long tables (tokenize.py, dis.py).
# Missing files (a Python installed without its ``test`` package) are left out. The larger
# modules are compared against LibCST's code generation in test_positions.py.
STDLIB_SAMPLE = (
    "abc.py", "asyncio/locks.py", "asyncio/tasks.py", "bisect.py", "concurrent/futures/_base.py",
    "contextlib.py", "dataclasses.py", "dis.py", "fractions.py", "functools.py", "graphlib.py",
    "heapq.py", "json/decoder.py", "json/encoder.py", "pprint.py", "shlex.py", "statistics.py",
    "string.py", "textwrap.py", "tokenize.py", "tomllib/_parser.py", "traceback.py", "urllib/parse.py",
    "weakref.py", "zoneinfo/_zoneinfo.py", "test/test_fstring.py", "test/libregrtest/result.py",
)


def _stdlib_root() -> Path:
    return Path(sys.modules["json"].__file__).resolve().parent.parent  # type: ignore[arg-type]


def stdlib_sample() -> list[Path]:
    root = _stdlib_root()
    return [root / p for p in STDLIB_SAMPLE if (root / p).is_file()]


@pytest.mark.parametrize("path", stdlib_sample(), ids=lambda p: str(p.relative_to(_stdlib_root())))
def test_standard_library_sample(path: Path) -> None:
    check_if_parsed(path.read_bytes())


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("FAL_POSITIONS_WHOLE_STDLIB"),
                    reason="set FAL_POSITIONS_WHOLE_STDLIB=1 (and -m slow) to compare on the whole standard library")
def test_whole_standard_library() -> None:  # pragma: no cover - opt-in, minutes
    root = _stdlib_root()
    checked = failed = 0
    problems: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if "site-packages" in path.parts:
            continue
        try:
            module = _deep_call(cst.parse_module, path.read_bytes())
        except Exception:
            continue  # Python 2 test data, deliberate syntax errors, too deep
        try:
            _deep_call(compare, module)
        except AssertionError as exc:
            failed += 1
            problems.append(f"{path.relative_to(root)}: {str(exc)[:300]}")
        checked += 1
    assert not problems, f"{failed} of {checked} files differ:\n" + "\n".join(problems[:20])
