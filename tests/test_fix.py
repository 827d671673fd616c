"""`review --fix`, `--diff` and `--unsafe-fixes` as a user runs them, and the LibCST applier behind them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fastapi_arch_lint.extract.fix import apply_fixes, replacements, unified_diff
from fastapi_arch_lint.findings import Edit, Fix

REPO = Path(__file__).resolve().parents[1]
SCHEMA = Path(__file__).resolve().parent / "schemas" / "sarif-schema-2.1.0.json"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fastapi_arch_lint", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def findings(root: Path, *args: str) -> list[dict]:
    p = run(root, "review", ".", "--no-cache", "--format", "json", "--exit-zero", *args)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["findings"]


# ---------------------------------------------------------------------------
# the bundled example app


def test_fix_on_the_example_app(tmp_path: Path) -> None:
    root = tmp_path / "examples"
    shutil.copytree(REPO / "examples", root)
    before = findings(root)
    fixable = [f for f in before if f["fix"] is not None]
    assert {f["rule"] for f in fixable} >= {"FAL201", "FAL510"}
    assert all(f["fix"]["applicability"] == "unsafe" and f["fix"]["edits"] for f in fixable)

    # without --unsafe-fixes nothing changes: every fix of the example changes behaviour
    untouched = snapshot(root)
    p = run(root, "review", ".", "--no-cache", "--fix")
    assert p.returncode == 1 and snapshot(root) == untouched
    assert f"Fixed 0 findings in 0 files; {len(before)} remain ({len(fixable)} more fixable with --unsafe-fixes)." \
        in p.stdout

    p = run(root, "review", ".", "--no-cache", "--fix", "--unsafe-fixes")
    assert p.returncode == 1, p.stderr  # errors remain (a hardcoded secret, CORS...)
    assert f"Fixed {len(fixable)} findings in {len({f['path'] for f in fixable})} files; " \
           f"{len(before) - len(fixable)} remain." in p.stdout
    after = findings(root)
    # the fixable findings are gone; the others are the same (rule, place and message)
    assert not [f for f in after if f["fix"] is not None]
    rest = [f for f in before if f["fix"] is None]
    assert sorted((f["rule"], f["path"], f["message"]) for f in after) == \
           sorted((f["rule"], f["path"], f["message"]) for f in rest)
    books = (root / "bookstore/app/routers/books.py").read_text(encoding="utf-8")
    assert "status_code=status.HTTP_201_CREATED" in books and "from fastapi import APIRouter, Depends, status\n" in books
    assert "timeout=10" in (root / "bookstore/app/services/catalog.py").read_text(encoding="utf-8")
    for path in root.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")

    # the second run is a no-op
    fixed = snapshot(root)
    p = run(root, "review", ".", "--no-cache", "--fix", "--unsafe-fixes")
    assert "Fixed 0 findings in 0 files" in p.stdout
    assert snapshot(root) == fixed


def test_diff_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "examples"
    shutil.copytree(REPO / "examples", root)
    untouched = snapshot(root)
    p = run(root, "review", ".", "--cache-dir", str(tmp_path / "cache"), "--diff", "--unsafe-fixes")
    assert p.returncode == 1, p.stderr  # like ruff: exit 1 when there is a diff
    # the same again, answered from the stored result: the findings' fixes are kept in the cache
    assert run(root, "review", ".", "--cache-dir", str(tmp_path / "cache"), "--diff", "--unsafe-fixes").stdout == p.stdout
    assert "--- a/bookstore/app/routers/books.py\n+++ b/bookstore/app/routers/books.py\n" in p.stdout
    assert "+@router.post(\"/\", response_model=BookOut, status_code=status.HTTP_201_CREATED)" in p.stdout
    assert "would fix 2 findings in 2 files; nothing written" in p.stderr
    assert snapshot(root) == untouched
    # the safe fixes only: there are none, so no diff and exit 0
    p = run(root, "review", ".", "--no-cache", "--diff")
    assert (p.returncode, p.stdout) == (0, ""), p.stderr
    assert "would fix 0 findings in 0 files (2 more with --unsafe-fixes)" in p.stderr
    assert snapshot(root) == untouched


CLIENT = textwrap.dedent(
    """\
    import requests


    def rates() -> dict:
        return requests.get("https://rates.example.com").json()


    def audit() -> None:
        requests.post("https://audit.example.com", json={})  # noqa: FAL510
    """
)


def test_noqa_and_syntax_errors_are_left_untouched(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "client.py").write_text(CLIENT)
    (app / "quiet.py").write_text("import requests\n\n\ndef ping():\n    return requests.get('https://x')  # noqa: FAL510\n")
    broken = "import requests\n\n\ndef ping(:\n    return requests.get('https://x')\n"
    (app / "broken.py").write_text(broken)
    quiet = (app / "quiet.py").read_bytes()
    p = run(tmp_path, "review", ".", "--no-cache", "--select", "FAL510", "--fix", "--unsafe-fixes")
    assert "Fixed 1 finding in 1 file; 0 remain." in p.stdout, p.stdout + p.stderr
    assert "app/broken.py: not analyzed" in p.stdout  # as in any review
    fixed = (app / "client.py").read_text()
    assert 'requests.get("https://rates.example.com", timeout=10).json()' in fixed
    assert 'requests.post("https://audit.example.com", json={})  # noqa: FAL510' in fixed  # suppressed: not fixed
    assert (app / "quiet.py").read_bytes() == quiet
    assert (app / "broken.py").read_text() == broken
    # a suppressed finding is no reported finding, and a file that does not parse has none: the exit code is 0
    assert p.returncode == 0


def test_applier_refuses_a_file_that_does_not_parse() -> None:
    fix = Fix("add timeout", (Edit("keyword", "x.py", 4, 12, "timeout", "10"),))
    done = apply_fixes("import requests\n\ndef f(:\n    return requests.get(u)\n", [fix])
    assert done.fixed is None and done.applied == [] and "does not parse" in (done.problem or "")


def test_fix_combined_with_write_baseline_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    p = run(tmp_path, "review", ".", "--fix", "--write-baseline", "b.json")
    assert p.returncode == 2 and "--fix and --diff cannot be combined with --write-baseline" in p.stderr


def test_sarif_fixes_validate(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    root = tmp_path / "examples"
    shutil.copytree(REPO / "examples", root)
    p = run(root, "review", ".", "--no-cache", "--format", "sarif", "--exit-zero")
    doc = json.loads(p.stdout)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))
    fixed = [r for r in doc["runs"][0]["results"] if "fixes" in r]
    assert {r["ruleId"] for r in fixed} == {"FAL201", "FAL510"}
    (change,) = [r for r in fixed if r["ruleId"] == "FAL510"][0]["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "bookstore/app/services/catalog.py"
    assert "timeout=10" in change["replacements"][0]["insertedContent"]["text"]


# ---------------------------------------------------------------------------
# the applier


def keyword(line: int, col: int, name: str, value: str, callee: str = "", imports=()) -> Fix:  # type: ignore[no-untyped-def]
    return Fix(f"{name}={value}", (Edit("keyword", "m.py", line, col, name, value, callee=callee),),
               imports=tuple(imports))


def test_keyword_in_a_call_written_one_argument_a_line_keeps_comments() -> None:
    src = textwrap.dedent(
        """\
        x = post(
            "/items",  # the path
            response_model=Item,  # what it answers
        )
        """
    )
    done = apply_fixes(src, [keyword(1, 5, "status_code", "201")])
    assert done.fixed == textwrap.dedent(
        """\
        x = post(
            "/items",  # the path
            response_model=Item,  # what it answers
            status_code=201,
        )
        """
    )
    again = apply_fixes(done.fixed, [keyword(1, 5, "status_code", "201")])
    assert again.fixed is None and again.applied  # applied, and nothing to change: idempotent


def test_keyword_replaces_a_literal_none_and_picks_the_call_by_its_callee() -> None:
    src = "r = requests.get(url, timeout=None).json()\n"
    done = apply_fixes(src, [keyword(1, 5, "timeout", "10", callee="requests.get")])
    assert done.fixed == "r = requests.get(url, timeout=10).json()\n"
    # without the callee the two calls starting at 1:5 (``.json()`` and ``requests.get``) are ambiguous
    assert apply_fixes(src, [keyword(1, 5, "timeout", "10")]).skipped


def test_imports_are_added_or_refused_when_the_name_is_taken() -> None:
    fix = keyword(4, 1, "status_code", "status.HTTP_201_CREATED", callee="app.post", imports=[("fastapi", "status")])
    src = '"""Doc."""\nimport os\n\n@app.post("/x")\ndef f():\n    pass\n'
    done = apply_fixes(src, [fix])
    assert done.fixed == ('"""Doc."""\nimport os\nfrom fastapi import status\n\n'
                          '@app.post("/x", status_code=status.HTTP_201_CREATED)\ndef f():\n    pass\n')
    taken = 'from http import status\n\n\n@app.post("/x")\ndef f():\n    pass\n'
    refused = apply_fixes(taken, [keyword(4, 1, "status_code", "status.HTTP_201_CREATED", callee="app.post",
                                          imports=[("fastapi", "status")])])
    assert refused.fixed is None and "already bound" in refused.skipped[0][1]
    present = 'from starlette import status\n\n\n@app.post("/x")\ndef f():\n    pass\n'
    done = apply_fixes(present, [keyword(4, 1, "status_code", "status.HTTP_201_CREATED", callee="app.post",
                                         imports=[("fastapi", "status")])])
    assert done.fixed is not None and done.fixed.count("import") == 1


def test_diff_and_replacements() -> None:
    before, after = "a = 1\nb = 2\n", "a = 1\nb = 3\nc = 4\n"
    assert unified_diff("m.py", before, after).startswith("--- a/m.py\n+++ b/m.py\n")
    assert [(r.start_line, r.end_line, r.text) for r in replacements(before, after)] == [(2, 2, "b = 3\nc = 4\n")]
    assert unified_diff("m.py", "a = 1", "a = 2").endswith("\\ No newline at end of file\n")


def test_a_file_for_a_newer_python_is_fixed() -> None:
    """``type Ids = ...`` (3.12) parses with LibCST whatever Python runs the tool: such a file is fixed;
    only what compiled before must compile after."""
    src = "type Ids = list[int]\nr = requests.get(u)\n"
    done = apply_fixes(src, [keyword(2, 5, "timeout", "10", callee="requests.get")])
    assert done.fixed == "type Ids = list[int]\nr = requests.get(u, timeout=10)\n", done.problem


def test_page_size_fix_knows_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAL109's bound is written only where the default's value is known and within it."""
    from fastapi_arch_lint.config import Config
    from fastapi_arch_lint.engine import review

    (tmp_path / "main.py").write_text(textwrap.dedent(
        """\
        from fastapi import FastAPI, Query

        app = FastAPI()
        SMALL = 20
        LARGE = 500


        @app.get("/a")
        def a(limit: int = Query(SMALL, ge=1)) -> list[dict]:
            return []


        @app.get("/b")
        def b(limit: int = Query(LARGE, ge=1)) -> list[dict]:
            return []


        @app.get("/c")
        def c(limit: int = Query(..., ge=1)) -> list[dict]:
            return []


        @app.get("/d")
        def d(limit: int = Query(settings.page_size)) -> list[dict]:
            return []
        """
    ))
    monkeypatch.chdir(tmp_path)
    got = {f.line: f.fix is not None for f in review(["."], Config(root=tmp_path), select=["FAL109"]).findings}
    assert got == {9: True, 14: False, 19: True, 24: False}


def test_a_sole_generator_argument_gets_its_parentheses() -> None:
    done = apply_fixes("ok = any(c == x for c in cs)\n", [keyword(1, 6, "strict", "True", callee="any")])
    assert done.fixed == "ok = any((c == x for c in cs), strict=True)\n"


@pytest.mark.parametrize("module", ["json/encoder.py", "textwrap.py", "shlex.py"])
def test_a_keyword_on_every_call_of_a_real_module(module: str) -> None:
    """Every call of a standard library module given a keyword in one pass: the result parses, each
    call got it once, the comments are all still there, and the same edits again change nothing."""
    import io
    import sysconfig
    import tokenize

    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    path = Path(sysconfig.get_paths()["stdlib"]) / module
    src = path.read_text(encoding="utf-8")
    positions = MetadataWrapper(cst.parse_module(src)).resolve(PositionProvider)
    fixes = [keyword(r.start.line, r.start.column + 1, "zz_fix", "1", callee=cst.Module([]).code_for_node(n.func))
             for n, r in positions.items() if isinstance(n, cst.Call)]
    done = apply_fixes(src, fixes, str(path))
    assert done.problem is None and done.fixed is not None and len(done.applied) > 20
    assert done.fixed.count("zz_fix=1") == len(done.applied)
    compile(done.fixed, str(path), "exec")

    def comments(code: str) -> list[str]:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.COMMENT]

    assert comments(done.fixed) == comments(src)
    again = apply_fixes(done.fixed, done.applied, str(path))
    assert again.fixed is None or again.fixed.count("zz_fix=1") == len(done.applied)
