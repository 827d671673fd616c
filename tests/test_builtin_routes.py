"""Routes no project function serves: FastAPI's OpenAPI and docs pages, a library router's endpoints.

They are ``App.builtin_routes`` (not ``App.routes``: rules do not lint FastAPI's or a library's
routes), listed by ``inspect``. The docs pages are checked against FastAPI's runtime table
(``tests/oracle_dump.py`` dumps them as kind "docs", found by their endpoint, not their path).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fastapi_arch_lint.engine import analyze

REPO = Path(__file__).resolve().parents[1]
GRAPHQL = REPO / "tests" / "fixtures" / "graphql_app"


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def docs_of(tmp_path: Path, constructor: str) -> tuple[set[str], set[str], list[str]]:
    """(the docs routes the model sees, those FastAPI serves, the unresolved notes)."""
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "__init__.py").write_text("")
    (tmp_path / "svc" / "main.py").write_text(textwrap.dedent(f"""
        import os

        from fastapi import FastAPI

        options = {{"title": "Svc"}}
        app = {constructor}


        @app.get("/ping")
        async def ping():
            return {{}}
    """).lstrip())
    a = analyze([tmp_path])
    [app] = a.model.apps
    seen = {f"{','.join(r.methods)} {r.path}" for r in app.builtin_routes if r.source == "docs"}
    assert all(r.source == "docs" for r in app.builtin_routes)
    assert [r.path for r in app.routes] == ["/ping"]  # never among the linted routes
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "oracle_dump.py"), str(tmp_path), "svc.main:app"],
                          capture_output=True, text=True, timeout=120, env={"DOCS": "/manual", "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    served = {f"{','.join(r['methods'])} {r['path']}" for r in json.loads(proc.stdout) if r["kind"] == "docs"}
    return seen, served, [f"{u.what}: {u.reason}" for u in a.model.unresolved]


@pytest.mark.parametrize(("constructor", "expected"), [
    ("FastAPI()", {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}),
    ('FastAPI(openapi_url="/api/v1/openapi.json", docs_url="/api/docs", redoc_url="/api/redoc")',
     {"/api/v1/openapi.json", "/api/docs", "/docs/oauth2-redirect", "/api/redoc"}),
    ('FastAPI(swagger_ui_oauth2_redirect_url="/oauth2/callback")',
     {"/openapi.json", "/docs", "/oauth2/callback", "/redoc"}),
    ("FastAPI(docs_url=None)", {"/openapi.json", "/redoc"}),  # no Swagger UI, so no redirect page
    ("FastAPI(redoc_url=None, swagger_ui_oauth2_redirect_url=None)", {"/openapi.json", "/docs"}),
    ('FastAPI(openapi_url=None, docs_url="/docs")', set()),  # no document, no docs pages
    ('FastAPI(docs_url="")', {"/openapi.json", "/redoc"}),  # an empty string turns a page off too
])
def test_docs_routes_follow_the_constructor_as_fastapi_does(tmp_path: Path, constructor: str,
                                                            expected: set[str]) -> None:
    seen, served, notes = docs_of(tmp_path, constructor)
    assert seen == served == {f"GET,HEAD {p}" for p in expected}
    assert notes == []


def test_a_docs_url_known_only_at_runtime_is_noted_not_guessed(tmp_path: Path) -> None:
    seen, served, notes = docs_of(tmp_path, 'FastAPI(docs_url=os.environ["DOCS"])')
    assert seen == {"GET,HEAD /openapi.json", "GET,HEAD /redoc"}  # what does not depend on it
    assert served == seen | {"GET,HEAD /manual", "GET,HEAD /docs/oauth2-redirect"}
    assert notes == ["docs route `docs_url=os.environ['DOCS']`: not a constant"]


def test_options_passed_with_double_star_make_the_docs_routes_unknown(tmp_path: Path) -> None:
    seen, served, notes = docs_of(tmp_path, "FastAPI(**options)")
    assert seen == set() and len(served) == 4
    assert notes == ["`FastAPI(**...)` arguments: passed with * or **: not all options are known"]


def test_graphql_router_serves_get_post_and_a_websocket_at_its_path() -> None:
    a = analyze([GRAPHQL])
    [app] = a.model.apps
    assert [r.path for r in app.routes] == ["/api/products"]
    library = {(",".join(r.methods) or "WS", r.path, r.kind): r for r in app.builtin_routes if r.source == "library"}
    assert set(library) == {
        ("GET", "/graphql", "http"), ("POST", "/graphql", "http"), ("WS", "/graphql", "websocket"),
        ("GET", "/staff/graphql", "http"), ("POST", "/staff/graphql", "http"), ("WS", "/staff/graphql", "websocket"),
    }
    assert {r.provider for r in library.values()} == {"strawberry.fastapi.GraphQLRouter"}
    staff = library[("POST", "/staff/graphql", "http")]
    assert staff.dependencies == ("app.security.require_staff",)
    assert [s.prefix for s in staff.include_chain] == ["/staff"]
    assert library[("GET", "/graphql", "http")].dependencies == ()
    docs = {r.path for r in app.builtin_routes if r.source == "docs"}
    assert docs == {"/api/openapi.json", "/docs", "/docs/oauth2-redirect"}
    assert a.model.unresolved == ()


def test_inspect_lists_builtin_routes_and_review_does_not_lint_them() -> None:
    proc = subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "inspect", ".", "--no-cache", "--format", "json"],
                          cwd=GRAPHQL, capture_output=True, text=True, timeout=120)
    [app] = json.loads(proc.stdout)["apps"]
    rows = {(",".join(r["methods"]) or "WS", r["path"], r["source"]) for r in app["builtin_routes"]}
    assert ("POST", "/graphql", "library") in rows and ("GET,HEAD", "/docs", "docs") in rows
    assert [r["path"] for r in app["routes"]] == ["/api/products"]
    text = subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "inspect", ".", "--no-cache"], cwd=GRAPHQL,
                          capture_output=True, text=True, timeout=120).stdout
    assert "POST  /graphql  [library: strawberry.fastapi.GraphQLRouter]" in text
    assert "1 routes (and 9 served by FastAPI or a library)" in text
    review = subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "review", ".", "--no-cache", "--format", "json"],
                            cwd=GRAPHQL, capture_output=True, text=True, timeout=120)
    doc = json.loads(review.stdout)
    assert not any("graphql" in f["message"] or "/docs" in f["message"] for f in doc["findings"]), doc["findings"]
    assert doc["diagnostics"] == []
