"""`review` as a user runs it: exit codes, formats, config, suppression."""

from __future__ import annotations

import json
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
                      "end_column", "message", "help", "cwe", "owasp", "related"}
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
