"""`review` as a user runs it: exit codes, formats, config, suppression."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MAIN = textwrap.dedent(
    """\
    from fastapi import FastAPI

    from app.routers import users

    app = FastAPI()
    app.include_router(users.router, prefix="/api")
    """
)
USERS = textwrap.dedent(
    """\
    from fastapi import APIRouter

    router = APIRouter(prefix="/users")


    @router.get("/get-user/{user_id}")
    async def get_user(user_id: int) -> dict:
        return {"id": user_id}


    @router.get("/fetch-all")  # noqa: FAL101
    async def fetch_all() -> list[dict]:
        return []
    """
)


def make_app(root: Path, pyproject: str | None = None) -> Path:
    (root / "app" / "routers").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "routers" / "__init__.py").write_text("")
    (root / "app" / "main.py").write_text(MAIN)
    (root / "app" / "routers" / "users.py").write_text(USERS)
    if pyproject is not None:
        (root / "pyproject.toml").write_text(pyproject)
    return root


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fastapi_arch_lint", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_text_output_is_clickable_and_exit_1(tmp_path: Path) -> None:
    root = make_app(tmp_path)
    p = run(root, "review", ".", "--select", "FAL101")
    assert p.returncode == 1, p.stderr
    first = p.stdout.splitlines()[0]
    assert first.startswith("app/routers/users.py:6:1: FAL101 ")
    assert "`/api/users/get-user/{user_id}`" in first
    assert "  help: " in p.stdout
    assert "note: app/main.py:6: " in p.stdout  # the include that set the prefix
    assert "fetch-all" not in p.stdout  # suppressed by noqa
    assert "Found 1 finding (1 warning) in 4 files." in p.stdout


def test_json_document(tmp_path: Path) -> None:
    root = make_app(tmp_path)
    p = run(root, "review", ".", "--select", "FAL101", "--format", "json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert doc["version"] == 1
    (f,) = doc["findings"]
    assert set(f) == {"rule", "name", "severity", "confidence", "path", "line", "column", "end_line",
                      "end_column", "message", "help", "cwe", "owasp", "related", "fix"}
    assert f["fix"] is None  # FAL101 has no fix
    assert (f["rule"], f["name"], f["path"], f["line"]) == ("FAL101", "verb-in-path", "app/routers/users.py", 6)
    assert f["related"][0]["path"] == "app/main.py"
    assert doc["summary"]["by_severity"] == {"error": 0, "warning": 1, "info": 0}


def test_fail_on_and_exit_zero(tmp_path: Path) -> None:
    root = make_app(tmp_path)
    assert run(root, "review", ".", "--select", "FAL101", "--fail-on", "error").returncode == 0
    assert run(root, "review", ".", "--select", "FAL101", "--exit-zero").returncode == 0


def test_config_ignore_and_per_file_ignores(tmp_path: Path) -> None:
    root = make_app(tmp_path, '[tool.fastapi-arch-lint]\nselect = ["FAL101"]\n'
                              '[tool.fastapi-arch-lint.per-file-ignores]\n"app/routers/*.py" = ["FAL1"]\n')
    p = run(root, "review", "app")
    assert p.returncode == 0, p.stdout
    assert "No findings" in p.stdout
    # the command line wins over the file
    root2 = make_app(tmp_path / "b", '[tool.fastapi-arch-lint]\nignore = ["FAL101"]\n')
    assert run(root2, "review", ".").returncode == 0
    assert run(root2, "review", ".", "--select", "FAL101").returncode == 1


def test_rule_options_from_config(tmp_path: Path) -> None:
    root = make_app(tmp_path, '[tool.fastapi-arch-lint.rules.verb-in-path]\nallow = ["get-user"]\n')
    p = run(root, "review", ".", "--select", "FAL101")
    assert p.returncode == 0, p.stdout


@pytest.mark.parametrize(
    ("pyproject", "needle"),
    [
        ("[tool.fastapi-arch-lint\nselect = [", "invalid TOML"),
        ('[tool.fastapi-arch-lint]\nselect = ["FAL999"]\n', "unknown rule code or prefix `FAL999`"),
        ('[tool.fastapi-arch-lint]\nselect = "FAL101"\n', "must be a list of strings"),
        ('[tool.fastapi-arch-lint]\nfail-on = "fatal"\n', "must be one of error, warning, info"),
        ('[tool.fastapi-arch-lint]\nbogus = 1\n', "unknown key `bogus`"),
        ('[tool.fastapi-arch-lint.rules.FAL101]\nallow = "x"\n', "must be a list of strings"),
        ('[tool.fastapi-arch-lint.rules.FAL101]\nnope = 1\n', "has no option `nope`"),
        ('[tool.fastapi-arch-lint.rules.no-such-rule]\nx = 1\n', "unknown rule `no-such-rule`"),
    ],
)
def test_config_errors_exit_2_with_one_line(tmp_path: Path, pyproject: str, needle: str) -> None:
    root = make_app(tmp_path, pyproject)
    p = run(root, "review", ".")
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    assert needle in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    root = make_app(tmp_path)
    for args, needle in (
        (("review", "does-not-exist"), "path does not exist: does-not-exist"),
        (("review", ".", "--format", "yaml"), "Invalid value for '--format'"),
        (("review", ".", "--select", "XYZ1"), "unknown rule code or prefix `XYZ1`"),
        (("explain", "FAL999"), "unknown rule `FAL999`"),
    ):
        p = run(root, *args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr
        assert needle in p.stderr


def test_bad_files_are_diagnostics_and_do_not_hide_findings(tmp_path: Path) -> None:
    root = make_app(tmp_path)
    (root / "app" / "broken.py").write_text("def f(:\n    pass\n")
    (root / "app" / "latin1.py").write_bytes(b'name = "caf\xe9"\n')
    p = run(root, "review", ".", "--select", "FAL101", "--format", "json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert [f["rule"] for f in doc["findings"]] == ["FAL101"]
    paths = {d["path"]: d["message"] for d in doc["diagnostics"]}
    assert "syntax error" in paths["app/broken.py"]
    assert "app/latin1.py" in paths


def test_rules_and_explain(tmp_path: Path) -> None:
    p = run(tmp_path, "rules")
    assert p.returncode == 0
    assert "FAL101  verb-in-path" in p.stdout
    p = run(tmp_path, "explain", "verb-in-path")
    assert p.returncode == 0
    assert p.stdout.startswith("# FAL101 verb-in-path")
    assert "## Use instead" in p.stdout
    h = run(tmp_path, "review", "--help")
    assert h.returncode == 0 and "--fail-on" in h.stdout and "Examples:" in h.stdout


def test_the_quick_exit_flushes_everything_and_keeps_the_exit_code(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` ends with ``os._exit`` (no interpreter teardown): the whole report must still
    arrive, through a pipe and into a file, with the exit code the run chose."""
    from click.testing import CliRunner

    from fastapi_arch_lint.cli import cli

    example = Path(__file__).resolve().parents[1] / "examples" / "bookstore"
    args = ("review", str(example), "--format", "json", "--select", "ALL", "--no-cache")
    monkeypatch.chdir(tmp_path)  # paths are shown relative to the working folder
    in_process = CliRunner().invoke(cli, list(args))
    piped = run(tmp_path, *args)
    assert piped.returncode == in_process.exit_code == 1, piped.stderr
    assert len(piped.stdout) > 10_000 and json.loads(piped.stdout) == json.loads(in_process.output)
    with open(tmp_path / "report.json", "w") as out:
        to_file = subprocess.run([sys.executable, "-m", "fastapi_arch_lint", *args], cwd=tmp_path, stdout=out,
                                 stderr=subprocess.PIPE, text=True, timeout=120)
    assert to_file.returncode == 1 and json.loads((tmp_path / "report.json").read_text()) == json.loads(piped.stdout)
    assert run(tmp_path, *args, "--exit-zero").returncode == 0


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_an_output_that_cannot_be_written_is_an_error_not_a_success(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "bookstore"
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "review", str(example), "--no-cache",
                            "--exit-zero"], cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True,
                           timeout=120)
    assert p.returncode != 0
    assert "No space left on device" in p.stderr and "Traceback" not in p.stderr


def test_exit_now_flushes_buffered_output_and_runs_exit_handlers(tmp_path: Path) -> None:
    code = (
        "import atexit, sys\n"
        "from fastapi_arch_lint.cli import _exit_now\n"
        "atexit.register(lambda: open('handler-ran', 'w').close())\n"
        "for _ in range(1000): sys.stdout.write('x' * 100)\n"  # buffered, never flushed by the caller
        "sys.stderr.write('note')\n"
        "_exit_now(3)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as for most users
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                       env=env)
    assert (p.returncode, len(p.stdout), p.stderr) == (3, 100_000, "note")
    assert (tmp_path / "handler-ran").exists()


def test_only_the_command_line_leaves_the_run_frozen(tmp_path: Path) -> None:
    """A library caller gets every object back under the collector's care; the command line
    (which exits right after) leaves them frozen instead of having them all rescanned."""
    code = (
        "import gc, sys\n"
        "from pathlib import Path\n"
        "from fastapi_arch_lint import engine\n"
        "from fastapi_arch_lint.config import load_config\n"
        "target = Path(sys.argv[1])\n"
        "result = engine.review([target], load_config(start=target), jobs=1)\n"
        "print(len(result.findings), gc.get_freeze_count())\n"
        "engine.frozen_until_exit()\n"
        "result = engine.review([target], load_config(start=target), jobs=1)\n"
        "print(len(result.findings), gc.get_freeze_count())\n"
    )
    example = Path(__file__).resolve().parents[1] / "examples" / "bookstore"
    p = subprocess.run([sys.executable, "-c", code, str(example)], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    (found, frozen_after_library_run), (found_again, frozen_after_cli_like_run) = (
        map(int, line.split()) for line in p.stdout.splitlines())
    assert found == found_again > 0, p.stderr
    assert frozen_after_library_run == 0
    assert frozen_after_cli_like_run > 10_000


def test_min_confidence_filters_the_report_and_the_exit_code(tmp_path: Path) -> None:
    """`--min-confidence` (and `min-confidence` in the config) drop findings the rule is less sure
    of; the text report shows a confidence that is not high."""
    root = tmp_path / "p"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "main.py").write_text(textwrap.dedent("""\
        from fastapi import FastAPI

        DEBUG = True

        app = FastAPI(debug=True)
        admin = FastAPI(debug=DEBUG)
        """))
    p = run(root, "review", ".", "--select", "FAL508")
    assert p.returncode == 1, p.stdout
    lines = [ln for ln in p.stdout.splitlines() if "FAL508" in ln]
    assert len(lines) == 2
    assert lines[0].startswith("app/main.py:5:") and lines[0].endswith("[warning]")
    assert lines[1].startswith("app/main.py:6:") and lines[1].endswith("[warning, medium confidence]")
    p = run(root, "review", ".", "--select", "FAL508", "--min-confidence", "high", "--format", "json")
    assert [f["line"] for f in json.loads(p.stdout)["findings"]] == [5]
    (root / "pyproject.toml").write_text('[tool.fastapi-arch-lint]\nmin-confidence = "high"\n')
    p = run(root, "review", ".", "--select", "FAL508", "--format", "json")
    assert [f["line"] for f in json.loads(p.stdout)["findings"]] == [5]
    assert run(root, "review", ".", "--select", "FAL508", "--min-confidence", "medium").returncode == 1
    (root / "app" / "main.py").write_text("from fastapi import FastAPI\n\nDEBUG = True\napp = FastAPI(debug=DEBUG)\n")
    assert run(root, "review", ".", "--select", "FAL508").returncode == 0  # the config's `high` hides it
    (root / "pyproject.toml").write_text('[tool.fastapi-arch-lint]\nmin-confidence = "sure"\n')
    p = run(root, "review", ".")
    assert p.returncode == 2 and "must be one of high, medium, low" in p.stderr and "Traceback" not in p.stderr


def test_rules_lists_every_severity_a_rule_reports(tmp_path: Path) -> None:
    p = run(tmp_path, "rules")
    row = next(ln for ln in p.stdout.splitlines() if "FAL203" in ln)
    assert "warning/info" in row
    doc = json.loads(run(tmp_path, "rules", "--format", "json").stdout)
    fal203 = next(r for r in doc if r["code"] == "FAL203")
    assert fal203["severity"] == "warning" and set(fal203["other_severities"]) == {"info"}
