"""``extract_source()``: facts of one file, or a diagnostic, never an exception."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_arch_lint.extract.parse import Extracted, extract_file, extract_source
from fastapi_arch_lint.model.expr import Name
from fastapi_arch_lint.model.facts import FunctionFact, ModuleFacts


def ok(source: bytes, path: str = "m.py") -> ModuleFacts:
    ex = extract_source(source, path)
    assert ex.diagnostic is None, ex.diagnostic
    assert ex.facts is not None
    return ex.facts


def bad(source: bytes, path: str = "m.py", **kw: int) -> str:
    ex = extract_source(source, path, **kw)
    assert isinstance(ex, Extracted)
    assert ex.facts is None
    assert ex.diagnostic is not None
    assert ex.diagnostic.path == path
    return ex.diagnostic.message


def func(facts: ModuleFacts, name: str) -> FunctionFact:
    [f] = [f for f in facts.scope.functions if f.name == name]
    return f


# ---------------------------------------------------------------------------
# modern syntax


def test_python_314_except_without_parentheses() -> None:
    src = b"import os\n\ndef handler():\n    try:\n        os.remove('x')\n    except ValueError, TypeError:\n        pass\n"
    facts = ok(src)
    assert [f.name for f in facts.scope.functions] == ["handler"]
    assert [(i.local, i.module, i.level) for i in facts.imports] == [("os", "os", 0)]
    assert [c.pos.line for c in func(facts, "handler").calls] == [5]


def test_pep_695_type_alias_and_generic_function() -> None:
    src = (
        b"from fastapi import Depends\n"
        b"type UserId = int\n"
        b"def first[T](items: list[T]) -> T:\n"
        b"    return items[0]\n"
        b"class Box[T]:\n"
        b"    def get(self) -> T: ...\n"
    )
    facts = ok(src)
    assert [f.name for f in facts.scope.functions] == ["first"]
    assert [c.name for c in facts.scope.classes] == ["Box"]
    assert [m.name for m in facts.scope.classes[0].methods] == ["get"]
    [alias] = [a for a in facts.scope.assigns if a.target == "UserId"]
    assert isinstance(alias.value, Name) and alias.value.id == "int"
    f = func(facts, "first")
    assert [p.name for p in f.params] == ["items"]
    assert f.pos.line == 3
    assert [(i.local, i.module, i.name, i.level) for i in facts.imports] == [("Depends", "fastapi", "Depends", 0)]


def test_type_alias_statement_has_a_position() -> None:
    facts = ok(b"import typing\n\ntype UserId = int\n")
    [alias] = [a for a in facts.scope.assigns if a.target == "UserId"]
    assert (alias.pos.line, alias.pos.col) == (3, 1)


def test_imports_keep_relative_levels() -> None:
    src = (
        b"from ..auth import get_current_user\n"
        b"from . import deps as d\n"
        b"from .routers.items import *\n"
        b"import fastapi.security as sec\n"
        b"import app.db\n"
    )
    facts = ok(src)
    assert [(i.local, i.module, i.name, i.level, i.line) for i in facts.imports] == [
        ("get_current_user", "auth", "get_current_user", 2, 1),
        ("d", "", "deps", 1, 2),
        ("*", "routers.items", "*", 1, 3),
        ("sec", "fastapi.security", None, 0, 4),
        ("app", "app", None, 0, 5),
        ("app.db", "app.db", None, 0, 5),
    ]


def test_async_functions_methods_and_nested_scopes() -> None:
    src = (
        b"async def outer():\n"
        b"    def inner():\n"
        b"        return 1\n"
        b"    return inner\n"
        b"class Service:\n"
        b"    async def run(self):\n"
        b"        await self.go()\n"
    )
    facts = ok(src)
    outer = func(facts, "outer")
    assert outer.is_async
    assert [f.qualname for f in outer.scope.functions] == ["outer.inner"]
    [svc] = facts.scope.classes
    [run] = svc.methods
    assert (run.qualname, run.is_async, run.is_method) == ("Service.run", True, True)
    [site] = run.calls
    assert site.awaited and site.pos.line == 7


def test_a_generator_is_one_whose_own_body_yields() -> None:
    src = (
        b"def outer():\n"
        b"    def chunks():\n"
        b"        x = yield 1\n"
        b"    return chunks()\n"
        b"def relay():\n"
        b"    yield from outer()\n"
    )
    facts = ok(src)
    outer = func(facts, "outer")
    assert not outer.is_generator  # only the nested function yields
    assert outer.scope.functions[0].is_generator
    assert func(facts, "relay").is_generator


def test_an_except_clause_knows_the_calls_of_its_try_body() -> None:
    src = (
        b"def handler():\n"
        b"    before()\n"
        b"    try:\n"
        b"        first()\n"
        b"        try:\n"
        b"            inner()\n"
        b"        except KeyError:\n"
        b"            log()\n"
        b"    except Exception as exc:\n"
        b"        report(exc)\n"
        b"    else:\n"
        b"        after()\n"
    )
    fn = func(ok(src), "handler")
    names = [c.call.func.id for c in fn.calls]
    inner, outer = fn.excepts
    assert [names[i] for i in outer.try_calls] == ["first", "inner", "log"]  # the nested try and its clause
    assert [names[i] for i in inner.try_calls] == ["inner"]
    assert [names[i] for i in outer.calls] == ["report"]


# ---------------------------------------------------------------------------
# bad input


def test_syntax_error_names_the_line() -> None:
    src = b"a = 1\nb = = 2\nc = 3\n"
    msg = bad(src, "app/broken.py")
    assert msg.startswith("syntax error")
    assert "line 2," in msg, msg


def test_syntax_error_on_last_line() -> None:
    msg = bad(b"x = 1\ny = 2\ndef f(:\n")
    assert msg.startswith("syntax error")
    assert "line 3" in msg, msg


def test_unterminated_string() -> None:
    msg = bad(b'x = "abc\n')
    assert "unterminated" in msg


def test_nul_bytes() -> None:
    msg = bad(b"x = 1\x00\ny = 2\n")
    assert "NUL" in msg


def test_latin1_without_coding_line() -> None:
    msg = bad(b'x = "caf\xe9"\n')
    assert msg  # names a decoding / encoding problem rather than crashing
    assert "encoding" in msg or "decode" in msg


def test_latin1_with_coding_line_parses() -> None:
    facts = ok(b'# -*- coding: latin-1 -*-\nx = "caf\xe9"\ndef f():\n    pass\n')
    assert [f.name for f in facts.scope.functions] == ["f"]


def test_file_over_max_bytes() -> None:
    src = b"x = 1\n" * 100
    msg = bad(src, max_bytes=100)
    assert "600" in msg and "100" in msg and "limit" in msg
    # at the limit it is fine
    assert extract_source(src, "m.py", max_bytes=600).facts is not None


def test_extract_file_over_max_bytes_and_missing(tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    big.write_bytes(b"x = 1\n" * 100)
    ex = extract_file(big, "big.py", max_bytes=10)
    assert ex.facts is None and ex.diagnostic is not None and "limit" in ex.diagnostic.message
    gone = extract_file(tmp_path / "gone.py", "gone.py")
    assert gone.facts is None and gone.diagnostic is not None and gone.diagnostic.path == "gone.py"


def test_empty_file() -> None:
    facts = ok(b"")
    assert facts.scope.functions == ()
    assert facts.imports == ()
    assert facts.line_count == 0


def test_bom_and_crlf() -> None:
    src = b"\xef\xbb\xbfimport os\r\n\r\ndef f():\r\n    return os.getcwd()\r\n"
    facts = ok(src)
    f = func(facts, "f")
    assert f.pos.line == 3
    assert [c.pos.line for c in f.calls] == [4]
    assert [(i.module, i.line) for i in facts.imports] == [("os", 1)]
    assert facts.line_count == 4


def test_python2_print_statement() -> None:
    msg = bad(b'print "x"\n')
    assert msg.startswith("syntax error")
    assert "line 1" in msg


@pytest.mark.parametrize("src", [
    b"x = " + b"[" * 100 + b"]" * 100 + b"\n",
    b"\xff\xfe\x00garbage",
    b"def f():\n\treturn 1\n        return 2\n",
    b"x = [1, 2\n",
])
def test_other_bad_input_never_raises(src: bytes) -> None:
    ex = extract_source(src, "m.py")
    assert (ex.facts is None) != (ex.diagnostic is None)


@pytest.mark.parametrize("depth", [5000])
def test_deep_nesting_is_a_diagnostic_not_a_crash(depth: int) -> None:
    # CPython itself rejects more than 200 nested parentheses; the analyzer must say
    # so for the file, not take the process down. Run in a child so a crash of the
    # parser cannot take the test session with it.
    code = (
        "from fastapi_arch_lint.extract.parse import extract_source\n"
        f"src = b'x = ' + b'(' * {depth} + b'1' + b')' * {depth} + b'\\n'\n"
        "ex = extract_source(src, 'deep.py')\n"
        "print('FACTS' if ex.facts is not None else 'DIAG ' + ex.diagnostic.message)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-500:]}"
    assert proc.stdout.startswith("DIAG "), proc.stdout


# ---------------------------------------------------------------------------
# noqa


def test_noqa_comments() -> None:
    src = (
        b"import os  # noqa\n"
        b"x = 1  # noqa: FAL101\n"
        b"y = 2  # noqa: FAL101, FAL203\n"
        b"z = 3\n"
        b"w = 4  # NOQA:fal102 because reasons\n"
    )
    facts = ok(src)
    assert facts.noqa == {
        1: frozenset(),
        2: frozenset({"FAL101"}),
        3: frozenset({"FAL101", "FAL203"}),
        5: frozenset({"FAL102"}),
    }
    assert facts.file_noqa is None


def test_no_noqa() -> None:
    facts = ok(b"x = 1  # a comment\n")
    assert facts.noqa == {}
    assert facts.file_noqa is None


def test_file_level_noqa() -> None:
    facts = ok(b'"""Doc."""\n# fastapi-arch-lint: noqa\nx = 1\n')
    assert facts.file_noqa == frozenset()
    assert facts.noqa == {}


def test_file_level_noqa_with_codes() -> None:
    facts = ok(b"# fastapi-arch-lint: noqa: FAL101, FAL2\nx = 1\n")
    assert facts.file_noqa == frozenset({"FAL101", "FAL2"})


def test_file_level_noqa_must_be_on_its_own_line() -> None:
    facts = ok(b"x = 1  # fastapi-arch-lint: noqa\n")
    assert facts.file_noqa is None


def test_file_level_noqa_on_first_line_of_bom_crlf_file() -> None:
    # editors on Windows write a UTF-8 BOM and CRLF; the directive is still on its own line
    facts = ok(b"\xef\xbb\xbf# fastapi-arch-lint: noqa\r\nx = 1\r\n")
    assert facts.file_noqa == frozenset()


def test_file_level_noqa_on_later_line_of_crlf_file() -> None:
    facts = ok(b"import os\r\n# fastapi-arch-lint: noqa: FAL101\r\nx = 1\r\n")
    assert facts.file_noqa == frozenset({"FAL101"})


def test_noqa_with_crlf() -> None:
    facts = ok(b"x = 1  # noqa: FAL101\r\ny = 2\r\nz = 3  # noqa\r\n")
    assert facts.noqa == {1: frozenset({"FAL101"}), 3: frozenset()}


# ---------------------------------------------------------------------------
# positions


DECORATED = b'''from fastapi import APIRouter

router = APIRouter()


@router.get(
    "/items/{item_id}",
)
@cache
async def read_item(item_id: int, q: str | None = None):
    item = load(item_id)
    if q:
        log(q)
    return await fetch(item)


class Repo:
    def get(self):
        return self.db.query()
'''


def test_function_position_is_the_def_line() -> None:
    facts = ok(DECORATED)
    f = func(facts, "read_item")
    assert f.pos.line == 10
    assert f.pos.col == 1
    [cls] = facts.scope.classes
    assert cls.pos.line == 17 and cls.pos.col == 1
    [method] = cls.methods
    assert method.pos.line == 18 and method.pos.col == 5


def test_decorator_positions_are_their_own_lines() -> None:
    f = func(ok(DECORATED), "read_item")
    assert [(d.pos.line, d.pos.col) for d in f.decorators] == [(6, 1), (9, 1)]
    assert f.decorators[0].pos.end_line == 8


def test_call_site_positions() -> None:
    f = func(ok(DECORATED), "read_item")
    sites = [(c.call.func, c.pos.line, c.pos.col, c.awaited, c.assigned_to) for c in f.calls]
    assert [(s[1], s[2], s[3], s[4]) for s in sites] == [
        (11, 12, False, "item"),  # ``    item = load(item_id)``
        (13, 9, False, None),  # ``        log(q)``
        (14, 18, True, None),  # ``    return await fetch(item)``
    ]
    assert [getattr(s[0], "id", None) for s in sites] == ["load", "log", "fetch"]


def test_parameter_positions() -> None:
    f = func(ok(DECORATED), "read_item")
    assert [(p.name, p.pos.line, p.pos.col) for p in f.params] == [("item_id", 10, 21), ("q", 10, 35)]


def test_statement_call_position() -> None:
    facts = ok(b"from fastapi import FastAPI\napp = FastAPI()\n\n\napp.include_router(r)\n")
    [sc] = facts.scope.calls
    assert (sc.pos.line, sc.pos.col) == (5, 1)
    [assign] = facts.scope.assigns
    assert (assign.target, assign.pos.line, assign.pos.col) == ("app", 2, 1)


def test_parsing_skips_node_validation_only_while_parsing() -> None:
    import threading

    import libcst as cst

    from fastapi_arch_lint.extract import unvalidated

    stdlib = Path(threading.__file__).parent
    sources = [(stdlib / name).read_bytes() for name in ("threading.py", "argparse.py", "dataclasses.py")]
    for source in sources:  # the same tree as LibCST's validating parse
        ours, theirs = unvalidated.parse_module(source), cst.parse_module(source)
        assert ours.deep_equals(theirs) and ours.code == theirs.code
    # overlapping parses on several threads: LibCST is restored only when the last one ends
    errors: list[BaseException] = []

    def many() -> None:
        try:
            for source in sources * 2:
                unvalidated.parse_module(source)
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert unvalidated._DEPTH == 0
    assert cst.CSTNode.__post_init__ is unvalidated._POST_INIT
    assert all(cls.__dict__["__init__"] is theirs for cls, (_, theirs) in unvalidated._fast_inits().items())
    with pytest.raises(cst.CSTValidationError):  # nodes built by hand are validated again
        cst.Name("")


def test_unvalidated_constructors_match_libcsts() -> None:
    import dataclasses
    import inspect

    import libcst as cst

    from fastapi_arch_lint.extract import unvalidated

    table = unvalidated._fast_inits()
    assert {cst.Name, cst.Call, cst.FunctionDef, cst.Module, cst.SimpleString} <= set(table)
    for cls, (ours, theirs) in table.items():  # same parameters, same defaults (the very objects)
        shape = [(p.name, p.kind, p.default) for p in inspect.signature(ours).parameters.values()]
        assert shape == [(p.name, p.kind, p.default) for p in inspect.signature(theirs).parameters.values()], cls

    def fields(node: cst.CSTNode) -> list[object]:
        return [getattr(node, f.name) for f in dataclasses.fields(node)]

    def build() -> list[cst.CSTNode]:  # defaults and default factories filled in by the constructor
        return [cst.Name("x"), cst.Call(cst.Name("f")), cst.Param(cst.Name("a")),
                cst.FunctionDef(cst.Name("f"), cst.Parameters(), cst.IndentedBlock([cst.SimpleStatementLine([cst.Pass()])]))]

    with unvalidated.unvalidated():
        assert cst.Name.__init__ is table[cst.Name][0]
        ours = build()
        unchecked = cst.Name("")  # not validated in here
    theirs = build()
    for a, b in zip(ours, theirs):
        assert type(a) is type(b) and a.deep_equals(b) and len(fields(a)) == len(fields(b))
        for x, y in zip(fields(a), fields(b)):  # the same values, fresh mutable defaults each time
            assert x == y or (isinstance(x, cst.CSTNode) and x.deep_equals(y))
    assert unchecked.value == ""
    with pytest.raises(dataclasses.FrozenInstanceError):  # still frozen
        ours[0].value = "y"  # type: ignore[misc]


def test_extract_sources_gives_what_one_call_per_file_gives() -> None:
    import threading

    from fastapi_arch_lint.extract import parse

    fixtures = Path(__file__).parent / "fixtures" / "bigger_app"
    files = sorted(fixtures.rglob("*.py"))
    work = [(p.read_bytes(), p.name) for p in files]
    work.insert(3, (b"def broken(:\n", "broken.py"))  # a bad file in the middle of the batch
    work.insert(5, (b"x = " + b"[" * 300 + b"]" * 300 + b"\n", "deep.py"))
    seen: list[tuple[int, str]] = []
    threads: set[str] = set()

    def each(i: int, ex: Extracted) -> None:
        seen.append((i, ex.path))
        threads.add(threading.current_thread().name)

    batch = parse.extract_sources(work, each=each)
    single = [extract_source(source, path) for source, path in work]
    assert [ex.path for ex in batch] == [path for _, path in work]
    assert batch == single  # facts and diagnostics alike
    assert batch[3].diagnostic is not None and batch[5].diagnostic is not None
    assert sum(ex.facts is not None for ex in batch) == len(files) >= 10
    assert seen == [(i, path) for i, (_, path) in enumerate(work)]
    assert threads == {"fastapi-arch-lint-parse"}  # the big-stack thread, handed the batch once

    def failing(i: int, ex: Extracted) -> None:
        if i == 2:
            raise RuntimeError("boom")
        seen.append((i, ex.path))

    seen.clear()
    with pytest.raises(RuntimeError, match="boom"):  # raised to the caller, the batch stops there
        parse.extract_sources(work, each=failing)
    assert [i for i, _ in seen] == [0, 1]
    assert parse.extract_sources(work[:2]) == single[:2]  # and the thread is still usable


# ---------------------------------------------------------------------------
# FASTAPI_ARCH_LINT_PLAIN_LIBCST: LibCST's own ways everywhere, the same facts

def _plain_corpus() -> list[Path]:
    """A few fixture files with routes, dependencies, models and f-strings, the bundled
    example, and snippets that reach the rarer paths (escaped strings, deep nesting)."""
    repo = Path(__file__).resolve().parent.parent
    return sorted(p for root in (repo / "tests" / "fixtures" / "bigger_app", repo / "tests" / "fixtures" / "vuln_app",
                                 repo / "tests" / "fixtures" / "auth_styles_decorators", repo / "examples")
                  for p in root.rglob("*.py") if p.stat().st_size)


_PLAIN_SNIPPETS = [
    b"x = 'a\\nb' + b'\\x00' + r'\\d' + '''q\r\nr'''\n@app.get(\"/i/{id}\")\ndef f(id: int = Depends(g)):\n"
    b"    if a and not b(1) or c == 'k':\n        raise HTTPException(401)\n    return d['key']\n",
    b"y = " + b"(" * 150 + b"1" + b")" * 150 + b"\n",  # the nesting guard's side of the bound
    b"x = " + b"(" * 250 + b"1" + b")" * 250 + b"\n",  # too deep: a diagnostic both ways
]


def _extract_all_ways() -> list[tuple[object, object]]:
    from fastapi_arch_lint.extract.parse import extract_sources

    work = [(p.read_bytes(), str(p)) for p in _plain_corpus()] + [(s, f"snippet{i}.py") for i, s in enumerate(_PLAIN_SNIPPETS)]
    return [(e.facts, e.diagnostic) for e in extract_sources(work)]


def test_plain_libcst_switches_in_this_process_give_the_same_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each switch ``plain.PLAIN`` turns (read at import, so set here module by module; the
    constructor aliases, bound at import, are covered by the subprocess test below)."""
    import libcst as cst

    from fastapi_arch_lint.extract import convert, parse, positions, unvalidated, walk

    fast = _extract_all_ways()
    visited: list[str] = []
    real_visit = cst.CSTNode.visit
    real_provider = positions.provider_positions

    def counting_visit(self, visitor):  # type: ignore[no-untyped-def]
        visited.append(type(self).__name__)
        return real_visit(self, visitor)

    def counting_provider(module):  # type: ignore[no-untyped-def]
        visited.append("provider")
        return real_provider(module)

    for module in (convert, parse, positions, unvalidated, walk):
        monkeypatch.setattr(module, "PLAIN", True)
    monkeypatch.setattr(cst.CSTNode, "visit", counting_visit)
    monkeypatch.setattr(positions, "provider_positions", counting_provider)
    plain = _extract_all_ways()
    assert "provider" in visited and "IndentedBlock" in visited  # the plain paths did run
    assert plain == fast
    assert sum(f is not None for f, _ in fast) == len(fast) - 1  # one deliberate diagnostic


def test_plain_libcst_environment_variable_gives_the_same_facts(tmp_path: Path) -> None:
    """The real switch: the variable set in a fresh interpreter, facts pickled back."""
    import os
    import pickle

    from fastapi_arch_lint.extract.plain import ENV_PLAIN_LIBCST

    script = (
        "import pickle, sys\n"
        "from fastapi_arch_lint.extract import collect, convert, plain, unvalidated\n"
        "from fastapi_arch_lint.model.facts import FunctionFact, Pos\n"
        "from fastapi_arch_lint.model.expr import Call\n"
        "assert plain.PLAIN and collect._Pos is Pos and collect._FunctionFact is FunctionFact\n"
        "assert convert._Call is Call\n"
        "import test_extract\n"
        "with unvalidated.unvalidated():\n"
        "    assert unvalidated._DEPTH == 0  # nothing swapped\n"
        "sys.stdout.buffer.write(pickle.dumps(test_extract._extract_all_ways()))\n"
    )
    env = dict(os.environ, **{ENV_PLAIN_LIBCST: "1"})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, check=False)
    assert out.returncode == 0, out.stderr.decode()
    plain = pickle.loads(out.stdout)
    assert plain == _extract_all_ways()
