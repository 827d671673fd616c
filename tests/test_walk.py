"""``walk()`` compiles a walker per node type: every kind of hook against ``node.visit()``.

tests/test_positions.py checks the common hooks on snippets; this adds the hooks a compiled
walker writes out separately (``leave_X`` after a ``visit_X`` that returns ``False``, a leaf's
``leave_X``, ``visit_X_field`` / ``leave_X_field`` on a field LibCST skips when ``None``) on
standard library modules; and, with LibCST's source files missing (only ``.pyc``), the
generic walk the walkers fall back to.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from fastapi_arch_lint.extract.parse import _deep_call
from fastapi_arch_lint.extract.walk import walk

from test_positions import SNIPPETS, standard_library_sample


class AllKinds(cst.CSTVisitor):
    def __init__(self) -> None:
        self.seen: list[tuple[str, ...]] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.seen.append(("Name", node.value))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.seen.append(("Attribute",))

    def leave_Attribute(self, original_node: cst.Attribute) -> None:
        self.seen.append(("/Attribute",))

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.seen.append(("Lambda",))
        return False

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.seen.append(("/Lambda",))

    def leave_Integer(self, original_node: cst.Integer) -> None:
        self.seen.append(("/Integer", original_node.value))

    def visit_FunctionDef_returns(self, node: cst.FunctionDef) -> None:
        self.seen.append(("returns",))

    def leave_FunctionDef_returns(self, node: cst.FunctionDef) -> None:
        self.seen.append(("/returns",))

    def visit_FormattedStringExpression_format_spec(self, node: cst.FormattedStringExpression) -> None:
        self.seen.append(("format_spec",))

    def leave_FormattedStringExpression_format_spec(self, node: cst.FormattedStringExpression) -> None:
        self.seen.append(("/format_spec",))

    def visit_If_orelse(self, node: cst.If) -> None:
        self.seen.append(("orelse",))

    def leave_If_orelse(self, node: cst.If) -> None:
        self.seen.append(("/orelse",))

    def visit_Dot(self, node: cst.Dot) -> None:  # a token type, walked because hooked
        self.seen.append((".",))


@pytest.mark.parametrize("source", [*SNIPPETS.values(), *(p.read_bytes() for p in standard_library_sample())],
                         ids=[*SNIPPETS, *(p.name for p in standard_library_sample())])
def test_walk_calls_every_kind_of_hook_node_visit_calls(source: str | bytes) -> None:
    module = cst.parse_module(source)
    expected, got = AllKinds(), AllKinds()
    _deep_call(module.visit, expected)
    _deep_call(walk, module, got)
    assert got.seen == expected.seen


# ---------------------------------------------------------------------------
# A LibCST without its .py sources (only .pyc, or zipped): the generic walk, same hooks

def hide_libcst_source(monkeypatch: pytest.MonkeyPatch, error: type[Exception]) -> list[object]:
    """``inspect.getsource`` fails as it does without source files (``OSError: could not get
    source code``; ``TypeError`` for objects it cannot place) and the walk's caches start
    empty. Returns the objects whose source was asked for."""
    import inspect

    from fastapi_arch_lint.extract import walk as walk_module

    asked: list[object] = []

    def no_source(obj: object) -> str:
        asked.append(obj)
        raise error("could not get source code")

    monkeypatch.setattr(inspect, "getsource", no_source)
    monkeypatch.setattr(walk_module, "_FIELDS", {})
    monkeypatch.setattr(walk_module, "_BY_VISITOR", {})
    monkeypatch.setattr(walk_module, "PLAIN", False)  # the walkers, even under FASTAPI_ARCH_LINT_PLAIN_LIBCST
    return asked


@pytest.mark.parametrize("error", [OSError, TypeError])
@pytest.mark.parametrize("source", [*SNIPPETS.values(), standard_library_sample()[0].read_bytes()],
                         ids=[*SNIPPETS, standard_library_sample()[0].name])
def test_without_libcst_sources_walk_calls_the_hooks_node_visit_calls(
        source: str | bytes, error: type[Exception], monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_arch_lint.extract import walk as walk_module

    asked = hide_libcst_source(monkeypatch, error)
    module = cst.parse_module(source)
    expected, got = AllKinds(), AllKinds()
    _deep_call(module.visit, expected)
    _deep_call(walk, module, got)
    assert got.seen == expected.seen
    # the fallback was taken: every type that needed its fields walks generically
    assert asked
    walkers = walk_module._BY_VISITOR[AllKinds].walkers
    assert walkers[cst.Module] is walk_module._generic
    assert all(w is None or w is walk_module._generic for w in walkers.values())


def test_without_libcst_sources_the_facts_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector's body visitor goes through ``walk``: the facts of fixture files are the
    same with the compiled walkers and with the generic walk."""
    from fastapi_arch_lint.extract import walk as walk_module
    from fastapi_arch_lint.extract.parse import extract_sources

    root = Path(__file__).resolve().parent / "fixtures"
    work = [(p.read_bytes(), str(p)) for p in sorted(root.rglob("*.py")) if p.stat().st_size]
    monkeypatch.setattr(walk_module, "PLAIN", False)  # the walkers, even under FASTAPI_ARCH_LINT_PLAIN_LIBCST
    compiled = extract_sources(work)
    assert None not in walk_module._FIELDS.values()
    asked = hide_libcst_source(monkeypatch, OSError)
    generic = extract_sources(work)
    assert asked and set(walk_module._FIELDS.values()) == {None}
    assert all(e.facts is not None for e in compiled)
    assert [e.facts for e in generic] == [e.facts for e in compiled]
    assert any(f.calls for e in compiled for f in e.facts.scope.functions)  # something to compare


@pytest.mark.slow
def test_with_a_libcst_installed_without_sources(tmp_path: Path) -> None:
    """The real thing, in a subprocess: a copy of LibCST compiled to ``.pyc`` files next to
    where its modules were, its ``.py`` files deleted, extracts the fixtures' facts as the
    LibCST with sources does (before the fallback, every file with a function body became
    "cannot parse: could not get source code")."""
    import compileall
    import pickle
    import shutil
    import subprocess
    import sys

    from fastapi_arch_lint.extract.parse import extract_sources

    copy = tmp_path / "libcst"
    shutil.copytree(Path(cst.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert compileall.compile_dir(copy, quiet=1, legacy=True)
    for py in copy.rglob("*.py"):
        py.unlink()
    root = Path(__file__).resolve().parent / "fixtures"
    files = sorted(root.rglob("*.py"))
    script = (
        "import inspect, pickle, sys, libcst\n"
        "from pathlib import Path\n"
        "from fastapi_arch_lint.extract.parse import extract_sources\n"
        "assert libcst.__file__.endswith('.pyc'), libcst.__file__\n"
        "try:\n    inspect.getsource(libcst.Name._visit_and_replace_children)\nexcept OSError:\n    pass\n"
        "else:\n    raise SystemExit('LibCST source found')\n"
        "files = [Path(p) for p in sys.argv[1:]]\n"
        "facts = [e.facts for e in extract_sources([(p.read_bytes(), str(p)) for p in files])]\n"
        "sys.stdout.buffer.write(pickle.dumps(facts))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", script, *map(str, files)], env=env, capture_output=True, check=True)
    without = pickle.loads(out.stdout)
    expected = [e.facts for e in extract_sources([(p.read_bytes(), str(p)) for p in files])]
    assert all(f is not None for f in expected)
    assert without == expected
