"""Whole-product checks with every rule on: the tutorial JWT app and the bundled example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def review_json(cwd: Path, *args: str) -> tuple[int, dict]:
    p = subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "review", ".", "--format", "json", *args],
                       cwd=cwd, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in p.stderr, p.stderr
    return p.returncode, json.loads(p.stdout)


def test_fastapi_oauth2_jwt_tutorial_draws_only_what_is_really_wrong() -> None:
    """The tutorial's hard-coded SECRET_KEY is an error; its pwdlib hashing, `exp` claim and
    `jwt.decode(..., algorithms=[ALGORITHM])` are right; its /token login has no rate limit (info)."""
    root = REPO / "tests" / "fixtures" / "tutorial_jwt_app"
    code, doc = review_json(root)
    lines = (root / "app" / "main.py").read_text(encoding="utf-8").splitlines()
    secret_line = next(i for i, t in enumerate(lines, 1) if t.startswith("SECRET_KEY = "))
    blocking = {(f["rule"], f["path"], f["line"]) for f in doc["findings"] if f["severity"] in ("error", "warning")}
    assert blocking == {("FAL504", "app/main.py", secret_line)}
    infos = {f["rule"] for f in doc["findings"] if f["severity"] == "info"}
    assert infos <= {"FAL528"}
    assert code == 1
    assert not doc["diagnostics"]


def test_bundled_example_shows_cross_file_findings() -> None:
    root = REPO / "examples" / "bookstore"
    code, doc = review_json(root)
    assert code == 1
    got = {(f["rule"], f["path"]) for f in doc["findings"]}
    # the admin router lost its auth in main.py: visible only across files
    delete = next(f for f in doc["findings"] if f["rule"] == "FAL401")
    assert delete["path"] == "app/routers/admin.py"
    assert "app.include_router(admin.router" in delete["message"]
    assert any(r["path"] == "app/main.py" for r in delete["related"])
    # a blocking call two modules away from the async handler
    blocking = next(f for f in doc["findings"] if f["rule"] == "FAL601")
    assert "catalog.cover_url -> requests.get" in blocking["message"]
    for expected in (("FAL504", "app/config.py"), ("FAL507", "app/main.py"), ("FAL701", "app/db.py"),
                     ("FAL702", "app/db.py"), ("FAL206", "app/routers/books.py"), ("FAL201", "app/routers/books.py"),
                     ("FAL101", "app/routers/admin.py"), ("FAL510", "app/services/catalog.py")):
        assert expected in got, expected
    # the secret's value never appears in the report
    assert "dev-secret-please-change" not in json.dumps(doc)
    assert "hunter2" not in json.dumps(doc)
