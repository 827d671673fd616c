"""``fastapi-arch-lint inspect`` in a subprocess: text and JSON output, bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BIGGER_APP = REPO_ROOT / "tests" / "fixtures" / "bigger_app"
TIMEOUT = 120

ROUTE_KEYS = {
    "methods", "path", "kind", "function", "file", "line", "auth", "status_code", "response_model",
    "request_models", "tags", "dependencies",
}
ROUTE_LINE = re.compile(r"^  (?P<methods>[A-Z,]+|WS)\s+(?P<path>/\S*)\s+(?P<file>\S+):(?P<line>\d+) (?P<fn>\w+)")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastapi_arch_lint", "inspect", *args],
        cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT,
    )


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stdout, proc.stdout[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]


def route_lines(text: str) -> list[re.Match[str]]:
    return [m for m in (ROUTE_LINE.match(line) for line in text.splitlines()) if m]


@pytest.fixture(scope="module")
def bigger_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the fixture outside the repository, so no repository config applies."""
    dest = tmp_path_factory.mktemp("cli") / "bigger_app"
    shutil.copytree(BIGGER_APP, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture(scope="module")
def text_output(bigger_app: Path) -> str:
    proc = run(".", cwd=bigger_app)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def json_output(bigger_app: Path) -> dict:  # type: ignore[type-arg]
    proc = run(".", "--format", "json", cwd=bigger_app)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ---------------------------------------------------------------------------
# bigger_app


def test_text_lists_routes_with_location_and_auth(text_output: str) -> None:
    lines = text_output.splitlines()
    assert lines[0].startswith("App `app` at app/main.py:")
    [idx] = [i for i, line in enumerate(lines) if re.match(r"^  GET\s+/items/\{item_id\}\s", line)]
    assert "app/routers/items.py:" in lines[idx]
    assert "read_item" in lines[idx]
    auth_line = lines[idx + 1].strip()
    assert auth_line.startswith("auth: ")
    assert "OAuth2PasswordBearer" in auth_line
    # a public route says so
    [health] = [i for i, line in enumerate(lines) if re.match(r"^  GET\s+/health\s", line)]
    assert lines[health + 1].strip() == "auth: none"


def test_text_is_sorted_by_path(text_output: str) -> None:
    rows = route_lines(text_output)
    assert len(rows) >= 10
    paths = [m["path"] for m in rows]
    assert paths == sorted(paths)
    # every route row is followed by its auth line
    lines = text_output.splitlines()
    for i, line in enumerate(lines):
        if ROUTE_LINE.match(line):
            assert lines[i + 1].strip().startswith("auth: ")


def test_text_and_json_agree(text_output: str, json_output: dict) -> None:  # type: ignore[type-arg]
    text_rows = [(m["methods"], m["path"], m["file"], int(m["line"])) for m in route_lines(text_output)]
    json_rows = [
        (",".join(r["methods"]) or "WS", r["path"], r["file"], r["line"])
        for a in json_output["apps"] for r in a["routes"]
    ]
    assert text_rows == json_rows


def test_json_shape(json_output: dict) -> None:  # type: ignore[type-arg]
    doc = json_output
    assert doc["version"] == 1
    assert {"version", "apps", "models", "tables", "unresolved", "diagnostics"} <= set(doc)
    assert doc["diagnostics"] == []
    [app] = doc["apps"]
    assert app["name"] == "app"
    assert app["file"] == "app/main.py"
    assert isinstance(app["line"], int)
    assert app["routes"]
    for r in app["routes"]:
        assert ROUTE_KEYS <= set(r), ROUTE_KEYS - set(r)
        assert isinstance(r["methods"], list)
        assert r["kind"] in ("http", "websocket")
        assert set(r["auth"]) == {"required", "via"}
        assert isinstance(r["auth"]["required"], bool)
        assert isinstance(r["line"], int) and r["line"] > 0
        assert not Path(r["file"]).is_absolute()
        for key in ("request_models", "tags", "dependencies"):
            assert isinstance(r[key], list)
    paths = [r["path"] for r in app["routes"]]
    assert paths == sorted(paths)


def test_json_route_details(json_output: dict) -> None:  # type: ignore[type-arg]
    routes = {(tuple(r["methods"]), r["path"]): r for a in json_output["apps"] for r in a["routes"]}
    r = routes[(("GET",), "/items/{item_id}")]
    assert r["file"] == "app/routers/items.py"  # relative to the working directory
    assert r["function"] == "app.routers.items.read_item"
    assert r["kind"] == "http"
    assert r["status_code"] == 200
    assert r["auth"]["required"] is True
    [via] = r["auth"]["via"]
    assert via["scheme"] == "OAuth2PasswordBearer"
    assert via["chain"][-1] == "oauth2_scheme"
    assert via["file"] == "app/dependencies.py"  # where oauth2_scheme is defined
    assert set(via) >= {"kind", "name", "scheme", "level", "chain", "file", "line", "scopes", "optional"}
    public = routes[(("GET",), "/health")]
    assert public["auth"] == {"required": False, "via": []}
    created = routes[(("POST",), "/items/")]
    assert created["status_code"] == 201


def test_json_file_is_relative_to_cwd(bigger_app: Path) -> None:
    # run from the parent folder: paths gain the folder name
    proc = run("bigger_app", "--format", "json", cwd=bigger_app.parent)
    no_traceback(proc)
    doc = json.loads(proc.stdout)
    files = {r["file"] for a in doc["apps"] for r in a["routes"]}
    assert "bigger_app/app/routers/items.py" in files
    assert all(f.startswith("bigger_app/app/") for f in files)


@pytest.mark.parametrize("flag", ["-o", "--output"])
def test_output_file_instead_of_stdout(bigger_app: Path, tmp_path: Path, flag: str) -> None:
    for fmt in ("text", "json"):
        report = tmp_path / f"inspect.{fmt}"
        proc = run(".", "--format", fmt, flag, str(report), "--no-cache", cwd=bigger_app)
        no_traceback(proc)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == ""
        # the very bytes standard output would have carried
        assert report.read_text(encoding="utf-8") == run(".", "--format", fmt, "--no-cache", cwd=bigger_app).stdout


def test_output_to_a_folder_is_a_usage_error(bigger_app: Path, tmp_path: Path) -> None:
    proc = run(".", "-o", str(tmp_path), cwd=bigger_app)
    no_traceback(proc)
    assert proc.returncode == 2 and "is a directory" in proc.stderr


def test_inspect_in_repo_fixture_directory() -> None:
    # the way tests/test_oracle.py runs it: the fixture folder as working directory
    proc = run(".", "--format", "json", cwd=BIGGER_APP)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    paths = {r["path"] for a in doc["apps"] for r in a["routes"]}
    assert "/items/{item_id}" in paths


# ---------------------------------------------------------------------------
# bad input


GOOD_APP = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/ok")
def ok():
    return {"ok": True}


@app.post("/also-ok")
def also_ok():
    return {}
'''


@pytest.fixture
def broken_tree(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text(GOOD_APP.lstrip())
    (app / "broken.py").write_bytes(b"x = 1\ndef f(:\n    pass\n")
    (app / "binary.py").write_bytes(b"import os\n\x00\x01\x02\n")
    return tmp_path


def test_bad_files_text(broken_tree: Path) -> None:
    proc = run("app", cwd=broken_tree)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert [(m["methods"], m["path"]) for m in route_lines(out)] == [("POST", "/also-ok"), ("GET", "/ok")]
    assert "Files not analyzed (2):" in out
    section = out.split("Files not analyzed", 1)[1]
    assert "app/broken.py: syntax error" in section
    assert "app/binary.py:" in section and "NUL" in section


def test_bad_files_json(broken_tree: Path) -> None:
    proc = run("app", "--format", "json", cwd=broken_tree)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [r["path"] for a in doc["apps"] for r in a["routes"]] == ["/also-ok", "/ok"]
    diags = {d["path"]: d["message"] for d in doc["diagnostics"]}
    assert set(diags) == {"app/broken.py", "app/binary.py"}
    assert diags["app/broken.py"].startswith("syntax error")
    assert "NUL" in diags["app/binary.py"]


def test_nonexistent_path(tmp_path: Path) -> None:
    proc = run("no/such/dir", cwd=tmp_path)
    no_traceback(proc)
    assert "no/such/dir" in proc.stdout + proc.stderr
    assert "does not exist" in proc.stdout + proc.stderr


def test_nonexistent_path_next_to_a_real_one(broken_tree: Path) -> None:
    proc = run("app", "missing_dir", "--format", "json", cwd=broken_tree)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [r["path"] for a in doc["apps"] for r in a["routes"]] == ["/also-ok", "/ok"]
    assert any(d["path"] == "missing_dir" and "does not exist" in d["message"] for d in doc["diagnostics"])


def test_deeply_nested_file_does_not_crash(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text(GOOD_APP.lstrip())
    (app / "deep.py").write_bytes(b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n")
    proc = run("app", "--format", "json", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-500:]}"
    doc = json.loads(proc.stdout)
    assert [r["path"] for a in doc["apps"] for r in a["routes"]] == ["/also-ok", "/ok"]
    assert [d["path"] for d in doc["diagnostics"]] == ["app/deep.py"]


def test_package_init_importing_its_submodule_does_not_crash(tmp_path: Path) -> None:
    # ``from . import items`` in a package __init__.py (a common layout)
    routers = tmp_path / "app" / "routers"
    routers.mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (routers / "__init__.py").write_text("from . import items\n")
    (routers / "items.py").write_text(
        'from fastapi import APIRouter\nrouter = APIRouter()\n\n@router.get("/items")\ndef items():\n    return []\n'
    )
    (tmp_path / "app" / "main.py").write_text(
        "from fastapi import FastAPI\nfrom app.routers import items\napp = FastAPI()\napp.include_router(items.router)\n"
    )
    proc = run("app", "--format", "json", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-500:]
    doc = json.loads(proc.stdout)
    assert [r["path"] for a in doc["apps"] for r in a["routes"]] == ["/items"]
