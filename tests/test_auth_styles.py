"""Issue 9: auth wherever it lives (decorators, hand-written dependencies, middleware).

Each ``tests/fixtures/auth_styles_*`` app authenticates in one style without (or besides) a
``fastapi.security`` scheme. FastAPI's OpenAPI cannot see decorators or middleware, so the runtime
oracle does not apply: the truth is stated here, route by route, and checked two ways:

* statically: ``Route.auth`` of every route equals the table (kind and name of each ``AuthVia``);
* at runtime (one subprocess, FastAPI's ``TestClient``, no network): a route counted as authenticated
  answers 401/403 (a websocket closes) without credentials and 2xx with them; an open route does not
  reject a request without credentials.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from click.testing import CliRunner

from fastapi_arch_lint.cli import cli
from fastapi_arch_lint.config import Config, load_config
from fastapi_arch_lint.engine import analyze, review
from fastapi_arch_lint.extract.collect import Collector
from fastapi_arch_lint.model.app import AppModel, Route
from fastapi_arch_lint.model.expr import Call
from fastapi_arch_lint.model.facts import CompareFact
from fastapi_arch_lint.report.inspect import render_text, to_json

FIXTURES = Path(__file__).resolve().parent / "fixtures"
Via = tuple[tuple[str, str], ...]  # ((kind, name), ...) sorted; () for an open route


@dataclass(frozen=True)
class Style:
    name: str  # directory under tests/fixtures/
    target: str  # MODULE:ATTR
    expected: dict[tuple[str, str], Via]  # (method or "WS", full path) -> auth
    headers: dict[str, str]  # credentials that pass every check of the app
    config_only: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # need auth-* names
    paths: tuple[str, ...] = ()  # more import roots for the runtime check (stand-ins of libraries)


DECORATORS = Style("auth_styles_decorators", "notes_api.main:app", {
    ("GET", "/health"): (),
    ("GET", "/notes"): (),  # @log_calls only logs
    ("POST", "/notes"): (("decorator", "login_required"),),  # functools.wraps wrapper, Authorization header
    ("PUT", "/notes/{note_id}"): (("decorator", "require_roles"),),  # decorator factory, 401/403
    ("PATCH", "/notes/{note_id}/title"): (),  # @timed("...") only times
    ("GET", "/notes/drafts"): (("decorator", "session_required"),),  # cookie, returns a 401 JSONResponse
    ("DELETE", "/notes"): (),  # @login_required sits above @router.delete: never wraps the endpoint
    ("POST", "/admin/reindex"): (("decorator", "require_roles"),),
    ("DELETE", "/admin/cache"): (("decorator", "Guard"),),  # @Guard("admin"): an instance decorates
    ("POST", "/admin/export"): (("decorator", "enforce_policy"),),  # auth-decorators in pyproject.toml
    ("GET", "/admin/stats"): (),
}, {"Authorization": "Bearer alice-token", "Cookie": "session_id=alice-session"},
    frozenset({("POST", "/admin/export")}))

DEPENDENCIES = Style("auth_styles_dependencies", "inventory_api.main:app", {
    ("GET", "/items"): (("dependency", "require_api_key"),),  # router dependencies=, X-API-Key header
    ("POST", "/items"): (("dependency", "require_api_key"),),
    ("GET", "/orders/mine"): (("dependency", "current_user"),),  # session cookie via request.cookies
    ("POST", "/orders/{order_id}/cancel"): (("dependency", "bearer_claims"),),  # Authorization + jwt.decode
    # include_router(dependencies=[Depends(RoleChecker("admin"))]): 403 in __call__, current_user below
    ("POST", "/admin/restock"): (("dependency", "current_user"),),
    ("DELETE", "/admin/items/{item_id}"): (("dependency", "current_user"),),
    ("POST", "/partners/shipments"): (("dependency", "get_partner"),),  # auth-dependencies in pyproject.toml
    ("GET", "/health"): (),  # X-Request-Id header: not a credential
    ("GET", "/catalog"): (),  # Accept-Language header
    ("POST", "/feedback"): (),  # X-Session-Hint is read but never rejected
}, {"X-API-Key": "key-1", "Cookie": "session=sess-1", "X-Partner-Token": "p-1"},  # + a JWT, added below
    frozenset({("POST", "/partners/shipments")}))

MIDDLEWARE = Style("auth_styles_middleware", "billing_api.main:app", {
    ("GET", "/invoices"): (("middleware", "TokenAuthMiddleware"),),
    ("POST", "/invoices"): (("middleware", "TokenAuthMiddleware"),),
    ("DELETE", "/invoices/{invoice_id}"): (("middleware", "TokenAuthMiddleware"),),
    ("POST", "/auth/login"): (),  # in PUBLIC_PATHS
    ("GET", "/health"): (),  # in PUBLIC_PATHS
    ("GET", "/public/plans"): (),  # startswith(PUBLIC_PREFIXES)
    ("WS", "/ws/events"): (),  # BaseHTTPMiddleware lets websockets through
    ("GET", "/partners/reports"): (("middleware", "TokenAuthMiddleware"),),  # mounted app, parent middleware
    ("POST", "/partners/refunds"): (("middleware", "TokenAuthMiddleware"),),
}, {"Authorization": "Bearer t-123"})

HTTP_MIDDLEWARE = Style("auth_styles_http_middleware", "ops_api.main:app", {
    ("GET", "/admin/users"): (("middleware", "require_admin_key"),),  # startswith(settings.ADMIN_PREFIX)
    ("POST", "/admin/flags/{flag}"): (("middleware", "require_admin_key"),),
    ("GET", "/status"): (),  # the middleware guards /admin only
    ("POST", "/reports"): (),
}, {"X-Admin-Key": "admin-key"})

STARLETTE = Style("auth_styles_starlette", "forum_api.main:app", {
    ("GET", "/threads"): (),  # reads request.user, rejects nobody: AuthenticationMiddleware alone is not enough
    ("GET", "/me"): (),
    ("POST", "/threads"): (("decorator", "requires"),),
    ("DELETE", "/threads/{thread_id}"): (("decorator", "requires"),),
    ("PATCH", "/threads/{thread_id}"): (("middleware", "AuthenticationMiddleware"),),  # handler checks request.user
    ("POST", "/threads/{thread_id}/replies"): (("dependency", "signed_in_user"),),
    ("WS", "/threads/{thread_id}/live"): (("decorator", "requires"),),
}, {"Authorization": "Bearer tok-mod"})

# issue 16: auth recognised by what the code does, without a name to go by
COMPONENTS = Style("auth_styles_components", "clinic_api.main:app", {
    # include_router(dependencies=[Depends(current_member)]): asks the identity provider (a plugin looked up at
    # runtime) for the caller, raises a module-level HTTPException(401) instance when it answers nothing
    ("GET", "/visits"): (("dependency", "current_member"),),
    ("POST", "/visits"): (("dependency", "current_member"),),
    # staff_member: Forbidden() (403 by its constructor's default) on the member that current_member requires already
    ("POST", "/visits/rota"): (("dependency", "current_member"),),
    ("POST", "/partners/sync"): (("dependency", "partner_client"),),  # NotSignedIn: `status_code = 401` in its class
    ("GET", "/records"): (("dependency", "session_member"),),  # SessionExpired: its exception handler answers 401
    ("POST", "/labs/results"): (("dependency", "lab_signature"),),  # BadSignature: an exception of the identity package
    # a signature synthesised with Security(HTTPBearer(auto_error=False)); the guard rejects without a token
    ("POST", "/wards/{ward_id}/notes"): (("dependency", "guard"), ("scheme", "ward_bearer")),
    ("GET", "/clinics/{clinic_id}"): (),  # NotFound: 404
    ("POST", "/suggestions"): (),  # asks the analytics client who is browsing, turns nobody away
    ("GET", "/health"): (),
}, {"X-Member-Token": "member-token-1", "X-API-Key": "partner-key-1", "X-Lab-Signature": "lab-signature-ok",
    "Cookie": "clinic_session=session-42", "Authorization": "Bearer ward-token-7"},
    paths=(str(Path(__file__).resolve().parent / "stubs"),))

STYLES = [DECORATORS, DEPENDENCIES, MIDDLEWARE, HTTP_MIDDLEWARE, STARLETTE, COMPONENTS]
PARAMS = [pytest.param(s, id=s.name) for s in STYLES]


def _model(style: Style, monkeypatch: pytest.MonkeyPatch, configured: bool = True) -> AppModel:
    root = FIXTURES / style.name
    monkeypatch.chdir(root)
    cfg = load_config(root / "pyproject.toml") if configured else Config(root=root)
    return analyze(["."], base=root, auth_names=cfg.auth_names, jobs=1).model


def static_table(model: AppModel) -> dict[tuple[str, str], tuple[bool, Via]]:
    """(method, full path) -> (required, vias) of every route, mounted apps under their mount path."""
    prefix = {m.app: m.path.rstrip("/") for a in model.apps for m in a.mounts if m.app}
    out: dict[tuple[str, str], tuple[bool, Via]] = {}
    for a in model.apps:
        for r in a.routes:
            vias = tuple(sorted({(v.kind, v.name) for v in r.auth.via}))
            for method in r.methods or ("WS",):
                out[(method, prefix.get(a.id, "") + r.path)] = (r.auth.required, vias)
    return out


# -- the model ---------------------------------------------------------------------------


@pytest.mark.parametrize("style", PARAMS)
def test_every_route_has_the_stated_auth(style: Style, monkeypatch: pytest.MonkeyPatch) -> None:
    table = static_table(_model(style, monkeypatch))
    assert set(table) == set(style.expected)
    wrong = {k: table[k] for k in style.expected if table[k] != (bool(style.expected[k]), style.expected[k])}
    assert not wrong, wrong
    # every style has both kinds of route
    assert any(style.expected.values()) and not all(style.expected.values())


@pytest.mark.parametrize("style", [s for s in PARAMS if s.values[0].config_only])
def test_configuration_only_names_need_the_config(style: Style, monkeypatch: pytest.MonkeyPatch) -> None:
    table = static_table(_model(style, monkeypatch, configured=False))
    for key, via in style.expected.items():
        want = () if key in style.config_only else via
        assert table[key] == (bool(want), want), key
    with_config = _model(style, monkeypatch)
    [configured] = [v for r in with_config.routes for v in r.auth.via if v.evidence.startswith("configured")]
    assert configured.evidence.startswith("configured in auth-")
    assert configured.scheme.startswith("configured")


def test_logging_decorators_are_not_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(DECORATORS, monkeypatch)
    routes = {r.handler.qualname.rsplit(".", 1)[-1]: r for r in model.routes}
    # ``log_calls`` even reads ``request.headers`` ("authorization" in ...), but never rejects
    for name in ("list_notes", "rename_note", "purge_notes", "stats"):
        assert routes[name].auth.required is False and routes[name].auth.via == (), name
    login = routes["create_note"].auth.via
    assert [(v.kind, v.name, v.level) for v in login] == [("decorator", "login_required", "route")]
    [via] = login
    assert via.chain == ("login_required", "wrapper")
    assert (via.path, via.line) == ("notes_api/auth/decorators.py", 16)  # the decorator's def
    assert "request.headers.get('Authorization')" in via.evidence and "HTTPException(401)" in via.evidence
    [roles] = routes["update_note"].auth.via
    assert roles.chain == ("require_roles('editor')", "wrapper") and roles.scopes == ("editor",)


def test_via_details_of_dependencies_and_middleware(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(DEPENDENCIES, monkeypatch)
    by = {(r.methods, r.path): r for r in model.routes}
    [items] = by[(("POST",), "/items")].auth.via
    assert (items.level, items.chain, items.path) == ("router", ("require_api_key",),
                                                     "inventory_api/security/api_keys.py")
    assert "the `x_api_key` header" in items.evidence and "find_client()" in items.evidence
    [admin] = by[(("POST",), "/admin/restock")].auth.via
    assert (admin.level, admin.chain) == ("include", ("require_admin", "current_user"))
    [cancel] = by[(("POST",), "/orders/{order_id}/cancel")].auth.via
    assert cancel.level == "param" and "decode()" in cancel.evidence  # raises a module-level HTTPException(401)
    assert "HTTPException(401)" in cancel.evidence

    model = _model(MIDDLEWARE, monkeypatch)
    [via] = next(r for r in model.routes if r.path == "/reports").auth.via
    assert (via.kind, via.level, via.chain) == ("middleware", "app", ("TokenAuthMiddleware", "dispatch"))
    assert via.path == "billing_api/middleware/auth.py"
    assert "exempts /auth/login, /docs, /health, /openapi.json, /public/*" in via.evidence
    assert "reaches the app mounted at /partners" in via.evidence

    model = _model(HTTP_MIDDLEWARE, monkeypatch)
    [via] = next(r for r in model.routes if r.path == "/admin/users").auth.via
    assert "only guards /admin*" in via.evidence and "JSONResponse(403)" in via.evidence

    model = _model(STARLETTE, monkeypatch)
    [via] = next(r for r in model.routes if r.methods == ("PATCH",)).auth.via
    assert (via.level, via.chain) == ("route", ("AuthenticationMiddleware", "TokenBackend", "edit_thread"))
    [req] = next(r for r in model.routes if r.methods == ("DELETE",)).auth.via
    assert req.scopes == ("authenticated", "moderator")


def test_inspect_shows_how_auth_is_provided(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(DECORATORS, monkeypatch)
    text = render_text(model)
    assert "auth: decorator login_required [route: login_required > wrapper] (reads " in text
    doc = to_json(model)
    routes = {(tuple(r["methods"]), r["path"]): r for a in doc["apps"] for r in a["routes"]}  # type: ignore[index]
    via = routes[(("POST",), "/notes")]["auth"]["via"][0]
    assert {k: via[k] for k in ("kind", "name", "level", "chain", "file", "line")} == {
        "kind": "decorator", "name": "login_required", "level": "route", "chain": ["login_required", "wrapper"],
        "file": "notes_api/auth/decorators.py", "line": 16}
    assert via["evidence"]
    assert routes[(("DELETE",), "/notes")]["auth"] == {"required": False, "via": []}


# -- at runtime -------------------------------------------------------------------------

PROBE = r"""
import importlib, json, re, sys
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

BODY = {"title": "t", "text": "x", "name": "n", "quantity": 1, "amount_cents": 100}
out = {}
for spec in json.loads(sys.argv[1]):
    sys.path[:0] = [spec["root"], *spec["paths"]]
    module, _, attr = spec["target"].partition(":")
    app = getattr(importlib.import_module(module), attr)
    rows = {}
    for method, path in spec["routes"]:
        url = re.sub(r"{[^}]+}", "1", path)
        row = []
        for headers in ({}, spec["headers"]):
            client = TestClient(app, raise_server_exceptions=False)
            if method == "WS":
                try:
                    with client.websocket_connect(url, headers=headers) as ws:
                        ws.receive_json()
                    row.append("accepted")
                except WebSocketDisconnect:
                    row.append("closed")
            else:
                row.append(client.request(method, url, json=BODY, headers=headers).status_code)
        rows[method + " " + path] = row
    out[spec["name"]] = rows
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def runtime() -> dict[str, dict[str, list[Any]]]:
    pytest.importorskip("fastapi.testclient")
    jwt = pytest.importorskip("jwt")
    specs = []
    for s in STYLES:
        headers = dict(s.headers)
        if s is DEPENDENCIES:
            headers["Authorization"] = "Bearer " + jwt.encode({"sub": "alice"}, "change-me-inventory-signing-key-0001", algorithm="HS256")
        specs.append({"name": s.name, "root": str(FIXTURES / s.name), "target": s.target, "headers": headers,
                      "routes": sorted(s.expected), "paths": list(s.paths)})
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(specs)], capture_output=True, text=True,
                          timeout=120, env={"PATH": "", "PYTHONDONTWRITEBYTECODE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("style", PARAMS)
def test_the_stated_auth_is_what_the_app_does(style: Style, runtime: dict[str, dict[str, list[Any]]]) -> None:
    rows = runtime[style.name]
    for (method, path), via in style.expected.items():
        without, with_ = rows[f"{method} {path}"]
        rejected = without in (401, 403, "closed")
        assert rejected == bool(via), (method, path, without, via)
        if via:  # the rejection was about credentials: with them, the request succeeds
            assert with_ == "accepted" or (isinstance(with_, int) and 200 <= with_ < 300), (method, path, with_)


# -- the rules ---------------------------------------------------------------------------

STYLE_FINDINGS = {
    "auth_styles_components": {("FAL401", "clinic_api/routers/visits.py", 37)},  # POST /suggestions
    "auth_styles_decorators": {
        ("FAL401", "notes_api/routers/notes.py", 35),  # PATCH /notes/{note_id}/title: @timed only
        ("FAL401", "notes_api/routers/notes.py", 49),  # DELETE /notes: @login_required above the route decorator
    },
    "auth_styles_dependencies": {("FAL401", "inventory_api/routers/meta.py", 20)},  # /feedback, a mere reader
    "auth_styles_middleware": {("FAL402", "billing_api/routers/public.py", 16)},  # the websocket is not guarded
    "auth_styles_http_middleware": {("FAL401", "ops_api/routers/reports.py", 11)},  # outside /admin
    "auth_styles_starlette": set(),
}


def _review(root: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(root)
    cfg = load_config(root / "pyproject.toml") if (root / "pyproject.toml").is_file() else Config(root=root)
    return review(["."], cfg, select=["FAL4"])


@pytest.mark.parametrize("style", PARAMS)
def test_auth_rules_on_the_style_fixtures(style: Style, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _review(FIXTURES / style.name, monkeypatch)
    assert not result.diagnostics, result.diagnostics
    assert {(f.rule, f.path, f.line) for f in result.findings} == STYLE_FINDINGS[style.name]
    feedback = [f for f in result.findings if "/feedback" in f.message]
    for f in feedback:  # the reader that never rejects stays a medium-confidence warning
        assert f.severity.value == "warning" and "never rejects" in f.message


def _registered_at(model: AppModel) -> dict[tuple[str, int], Route]:
    return {(r.registered.path, r.registered.line): r for r in model.routes}


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_no_authenticated_route_is_reported_as_unauthenticated(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _review(FIXTURES / name, monkeypatch)
    routes = _registered_at(result.analysis.model)
    for f in result.findings:
        if f.rule in ("FAL401", "FAL402"):
            route = routes[(f.path, f.line)]
            # optional auth lets anonymous requests through: FAL401 may name it, never a required way
            assert not any(not v.optional for v in route.auth.via), (f.message, route.auth.via)


# -- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize("value, message", [
    ('"notes_api.auth.policy.enforce_policy"', "`auth-decorators` must be a list of strings"),
    ('["notes api"]', "`auth-decorators` entries must be qualified names or globs"),
    ("[1]", "`auth-decorators` must be a list of strings"),
])
def test_bad_auth_names_are_a_config_error(tmp_path: Path, value: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.fastapi-arch-lint]\nauth-decorators = {value}\n")
    (tmp_path / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    res = CliRunner().invoke(cli, ["review", str(tmp_path), "--config", str(tmp_path / "pyproject.toml")])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_auth_names_accept_globs_and_reach_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fastapi-arch-lint]\nauth-dependencies = ["app.deps.*"]\nauth-decorators = ["app.ext.guard.*"]\n')
    files = {
        "app/__init__.py": "",
        "app/deps.py": "def principal():\n    return BACKENDS['x']()\n",
        "app/ext.py": "class Guard:\n    pass\n\nguard = Guard()\n",
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from app.deps import principal
            from app.ext import guard

            app = FastAPI()


            @app.post("/a", dependencies=[Depends(principal)])
            def a() -> None: ...


            @app.post("/b")
            @guard.protect
            def b() -> None: ...


            @app.post("/c")
            def c() -> None: ...
        """,
    }
    for n, text in files.items():
        (tmp_path / n).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / n).write_text(textwrap.dedent(text))
    result = _review(tmp_path, monkeypatch)
    assert [(f.rule, f.line) for f in result.findings if f.rule == "FAL401"] == [("FAL401", 18)]
    kinds = {r.path: [(v.kind, v.evidence) for v in r.auth.via] for r in result.analysis.model.routes}
    assert kinds["/a"] == [("dependency", "configured in auth-dependencies (app.deps.*)")]
    assert kinds["/b"] == [("decorator", "configured in auth-decorators (app.ext.guard.*)")]


def test_a_library_dependency_is_configured_by_the_name_it_is_bound_to(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a library the model knows nothing of (fastapi-users is known: test_auth_components.py), whose
    # object the model cannot evaluate, but the binding has a name
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fastapi-arch-lint]\nauth-dependencies = ["app.users.current_active_user"]\n')
    (tmp_path / "app").mkdir()
    (tmp_path / "app/__init__.py").write_text("")
    (tmp_path / "app/users.py").write_text(
        "import uuid\nfrom gatekeeper_kit import Gatekeeper\n\n"
        "gatekeeper = Gatekeeper[object, uuid.UUID](None, [])\n"
        "current_active_user = gatekeeper.current_user(active=True)\n")
    (tmp_path / "app/main.py").write_text(
        "from fastapi import Depends, FastAPI\nfrom app.users import current_active_user\n\napp = FastAPI()\n\n\n"
        "@app.post('/items')\ndef create(user=Depends(current_active_user)) -> None: ...\n")
    result = _review(tmp_path, monkeypatch)
    assert result.findings == []
    [via] = result.analysis.model.routes[0].auth.via
    assert (via.kind, via.name, via.chain) == ("dependency", "current_active_user", ("current_active_user",))
    monkeypatch.chdir(tmp_path)
    # without the configuration the dependency is unresolved (an object of a library the model cannot
    # evaluate): the route's auth is unknown, so FAL401 stays quiet and review's line counts the route
    unconfigured = review(["."], Config(root=tmp_path), select=["FAL4"])
    assert unconfigured.findings == []
    assert any(d.kind == "unresolved" and d.routes == 1 for d in unconfigured.diagnostics)


# -- middleware edge cases -----------------------------------------------------------------


ROUTES = """

@app.get("/health")
def health() -> None: ...


@app.post("/orders")
def orders() -> None: ...


@app.get("/docs-extra")
def docs_extra() -> None: ...
"""


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main: str) -> AppModel:
    (tmp_path / "app").mkdir()
    (tmp_path / "app/__init__.py").write_text("")
    (tmp_path / "app/main.py").write_text(textwrap.dedent(main) + ROUTES)
    monkeypatch.chdir(tmp_path)
    return analyze(["."], jobs=1).model




def test_pure_asgi_middleware_with_an_exempt_list_passed_at_registration(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _project(tmp_path, monkeypatch, """
        from fastapi import FastAPI
        from starlette.datastructures import Headers
        from starlette.responses import PlainTextResponse


        class ApiKeyMiddleware:
            def __init__(self, app, exempt=()):
                self.app = app
                self.exempt = exempt

            async def __call__(self, scope, receive, send):
                if scope["type"] == "http" and scope["path"] not in self.exempt:
                    headers = Headers(scope=scope)
                    if headers.get("x-api-key") != "k":
                        response = PlainTextResponse("no", status_code=401)
                        await response(scope, receive, send)
                        return
                await self.app(scope, receive, send)


        app = FastAPI()
        app.add_middleware(ApiKeyMiddleware, exempt=("/health",))
    """)
    auth = {r.path: r.auth.required for r in model.routes}
    assert auth == {"/health": False, "/orders": True, "/docs-extra": True}
    [via] = next(r for r in model.routes if r.path == "/orders").auth.via
    assert via.chain == ("ApiKeyMiddleware", "__call__") and "exempts /health" in via.evidence


def test_unmodelled_exemptions_are_listed_as_unresolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _project(tmp_path, monkeypatch, """
        import os

        from fastapi import FastAPI, Request
        from fastapi.responses import JSONResponse

        app = FastAPI()
        PUBLIC = set(os.environ.get("PUBLIC_PATHS", "").split(","))


        @app.middleware("http")
        async def token_guard(request: Request, call_next):
            is_public = request.url.path == "/health"
            if request.url.path in PUBLIC or is_public:
                return await call_next(request)
            if request.headers.get("authorization") != "Bearer t":
                return JSONResponse({}, status_code=401)
            return await call_next(request)
    """)
    # which paths are exempt is unknown: the middleware is assumed to guard every route, and inspect says so
    assert {r.path: r.auth.required for r in model.routes} == {"/health": True, "/orders": True, "/docs-extra": True}
    whats = sorted(u.what for u in model.unresolved)
    assert whats == ["path test `request.url.path == '/health'` in middleware `token_guard`",
                     "path test `request.url.path in PUBLIC` in middleware `token_guard`"]
    [via] = next(r for r in model.routes if r.path == "/orders").auth.via
    assert "path tests not resolved" in via.evidence


REFRESH = """
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse
    from starlette.middleware.base import BaseHTTPMiddleware


    def load_user(token: str) -> dict:
        if token != "t":
            raise HTTPException(status_code=401, detail="expired")
        return {"id": 1}


    class RefreshMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next):
            token = request.cookies.get("session_token")
            renewed = request.state.user = None
            if token is not None:
                try:
                    request.state.user = load_user(token)
                    renewed = token
                except HTTPException:
                    renewed = ""
            {absent}
            response = await call_next(request)
            if renewed is not None:
                response.set_cookie("session_token", renewed)
            return response


    app = FastAPI()
    app.add_middleware(RefreshMiddleware)


    @app.get("/me")
    def me(request: Request) -> dict:
        if request.state.user is None:
            raise HTTPException(status_code=401)
        return request.state.user
"""


def test_a_middleware_that_checks_only_a_credential_it_is_given_is_no_gate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh middleware reads the session cookie and checks it only when there is one (failures
    swallowed), then always passes the request on: a request without the cookie gets through, so it
    guards only the handler that rejects a missing caller itself, as Starlette's AuthenticationMiddleware."""
    model = _project(tmp_path, monkeypatch, REFRESH.replace("{absent}", ""))
    vias = {r.path: [(v.kind, v.name) for v in r.auth.via] for r in model.routes}
    assert vias == {"/me": [("middleware", "RefreshMiddleware")], "/health": [], "/orders": [], "/docs-extra": []}
    [via] = next(r for r in model.routes if r.path == "/me").auth.via
    assert "a request without one is passed on" in via.evidence


def test_a_middleware_that_rejects_a_request_without_the_credential_is_a_gate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absent = """if token is None:
                return JSONResponse({"detail": "login"}, status_code=401)"""
    model = _project(tmp_path, monkeypatch, REFRESH.replace("{absent}", absent))
    assert {r.path: [(v.kind, v.name) for v in r.auth.via] for r in model.routes} == {
        p: [("middleware", "RefreshMiddleware")] for p in ("/me", "/health", "/orders", "/docs-extra")}


def test_a_middleware_that_passes_a_request_without_a_credential_on_first_is_no_gate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _project(tmp_path, monkeypatch, """
        from fastapi import FastAPI, HTTPException, Request

        app = FastAPI()


        def verify(token: str) -> dict:
            if token != "t":
                raise HTTPException(status_code=401)
            return {"id": 1}


        @app.middleware("http")
        async def optional_user(request: Request, call_next):
            if not (token := request.headers.get("authorization")):
                return await call_next(request)
            request.state.user = verify(token)
            return await call_next(request)


        @app.middleware("http")
        async def walrus_user(request: Request, call_next):
            if token := request.cookies.get("session"):
                request.state.user = verify(token)
            return await call_next(request)
    """)
    assert not any(r.auth.via for r in model.routes)


def test_a_middleware_that_passes_only_a_request_with_a_credential_on_stays_a_gate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a request without the credential gets (a library's answer) is not known, and nothing shows it
    passed on: the middleware is still read as rejecting it."""
    model = _project(tmp_path, monkeypatch, """
        from fastapi import FastAPI, HTTPException, Request
        from somelib import deny

        app = FastAPI()


        def verify(token: str) -> dict:
            if token != "t":
                raise HTTPException(status_code=401)
            return {"id": 1}


        @app.middleware("http")
        async def strict_user(request: Request, call_next):
            if token := request.headers.get("authorization"):
                request.state.user = verify(token)
                return await call_next(request)
            return deny(request)
    """)
    assert all([(v.kind, v.name) for v in r.auth.via] == [("middleware", "strict_user")] for r in model.routes)


def test_a_middleware_that_only_reads_is_not_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _project(tmp_path, monkeypatch, """
        from fastapi import FastAPI, Request

        app = FastAPI()


        @app.middleware("http")
        async def attach_user(request: Request, call_next):
            request.state.user = request.headers.get("authorization")
            return await call_next(request)
    """)
    assert not any(r.auth.via for r in model.routes)


def test_a_csrf_check_is_not_authentication(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _project(tmp_path, monkeypatch, """
        import secrets
        from typing import Annotated

        from fastapi import Cookie, Depends, FastAPI, Header, HTTPException


        def verify_csrf(x_csrf_token: Annotated[str, Header()], csrftoken: Annotated[str, Cookie()]) -> None:
            if not secrets.compare_digest(x_csrf_token, csrftoken):
                raise HTTPException(status_code=403)


        def verify_token(x_token: Annotated[str, Header()]) -> None:
            if not secrets.compare_digest(x_token, "t"):
                raise HTTPException(status_code=403)


        app = FastAPI()


        @app.post("/csrf-only", dependencies=[Depends(verify_csrf)])
        def csrf_only() -> None: ...


        @app.post("/token", dependencies=[Depends(verify_token)])
        def token() -> None: ...
    """)
    auth = {r.path: [v.name for v in r.auth.via] for r in model.routes}
    assert auth["/csrf-only"] == [] and auth["/token"] == ["verify_token"]


# -- the guard facts ---------------------------------------------------------------------


def test_function_facts_record_if_tests_and_branches() -> None:
    module = cst.parse_module(textwrap.dedent("""
        async def dispatch(request, call_next):
            if not request.url.path.startswith("/public") and request.url.path not in SKIP:
                if not token:
                    raise HTTPException(401)
                audit()
            else:
                return await call_next(request)
    """))
    _, scope, _ = Collector(module).collect()
    [fn] = scope.functions
    outer, inner = fn.guards
    (neg1, call), (neg2, cmp) = outer.tests
    assert neg1 is True and isinstance(call, Call) and re.search(r"startswith", repr(call.func))
    assert neg2 is False and isinstance(cmp, CompareFact) and cmp.op == "not in"
    called = [repr(fn.calls[i].call.func) for i in outer.body_calls]
    assert any("HTTPException" in c for c in called) and any("audit" in c for c in called)
    assert outer.body_raises == (0,) and inner.body_raises == (0,)
    assert [repr(fn.calls[i].call.func) for i in outer.orelse_calls] == ["Name(id='call_next', line=0)"]
    assert inner.tests == ((True, inner.tests[0][1]),) and outer.pos.line == 3


# -- FAL403 on decorator-authenticated routes ------------------------------------------------


def test_fal403_reads_the_principal_a_decorator_leaves_on_the_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_arch_lint.rules.auth.object_id_without_owner_check import ObjectIdWithoutOwnerCheck

    files = {
        "app/__init__.py": "",
        "app/models.py": """
            from sqlalchemy import ForeignKey
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class Document(Base):
                __tablename__ = "documents"

                id: Mapped[int] = mapped_column(primary_key=True)
                owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
        """,
        "app/auth.py": """
            import functools

            from fastapi import HTTPException, Request

            USERS = {"t": 1}


            def login_required(func):
                @functools.wraps(func)
                def wrapper(*args, **kwargs):
                    request: Request = kwargs["request"]
                    user_id = USERS.get(request.headers.get("authorization", ""))
                    if user_id is None:
                        raise HTTPException(status_code=401)
                    request.state.user_id = user_id
                    return func(*args, **kwargs)

                return wrapper
        """,
        "app/main.py": """
            from fastapi import FastAPI, HTTPException, Request
            from sqlalchemy.orm import Session

            from app.auth import login_required
            from app.models import Document

            app = FastAPI()
            db = Session()


            @app.get("/documents/{document_id}")
            @login_required
            def read_document(request: Request, document_id: int) -> dict:
                doc = db.get(Document, document_id)
                return {"id": doc.id}


            @app.get("/mine/{document_id}")
            @login_required
            def read_mine(request: Request, document_id: int) -> dict:
                doc = db.get(Document, document_id)
                if doc is None or doc.owner_id != request.state.user_id:
                    raise HTTPException(status_code=404)
                return {"id": doc.id}
        """,
    }
    for n, text in files.items():
        (tmp_path / n).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / n).write_text(textwrap.dedent(text))
    monkeypatch.chdir(tmp_path)
    model = analyze(["."], jobs=1).model
    assert all(r.auth.kinds == ("decorator",) for r in model.routes)
    [f] = ObjectIdWithoutOwnerCheck(None).check(model)
    assert "`GET /documents/{document_id}`" in f.message
    assert "the handler never reads who is calling (auth runs in a decorator)" in f.message


def test_a_middleware_registered_by_calling_the_decorator_is_the_decorators(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``app.middleware("http")(authenticate)``, the decorator applied by hand after the app is built: the
    same middleware as ``@app.middleware("http")``, so the routes it rejects unauthenticated callers on
    are authenticated."""
    model = _project(tmp_path, monkeypatch, """
        from fastapi import FastAPI, HTTPException, Request
        from fastapi.responses import JSONResponse


        async def authenticate(request: Request, call_next):
            token = request.headers.get("authorization")
            if not token or not token.startswith("Bearer "):
                return JSONResponse({"detail": "unauthorized"}, status_code=401)
            return await call_next(request)


        app = FastAPI()
        app.middleware("http")(authenticate)


        @app.delete("/items/{item_id}")
        def delete_item(item_id: int) -> None: ...
    """)
    route = next(r for r in model.routes if r.path == "/items/{item_id}")
    assert route.auth.required and [v.kind for v in route.auth.via] == ["middleware"], route.auth


CSRF = """
    import os

    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.middleware.base import BaseHTTPMiddleware

    SESSION_COOKIE_NAME = os.getenv("SESSION_COOKIE_NAME", "app_session")
    UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


    class OriginCheckMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next):
            if request.method not in UNSAFE:
                return await call_next(request)
            {skip}
            if request.headers.get("Origin") != "https://app.example":
                return JSONResponse({"detail": "CSRF origin check failed"}, status_code=403)
            return await call_next(request)


    app = FastAPI()
    app.add_middleware(OriginCheckMiddleware)
"""


def test_a_csrf_check_enforced_only_where_the_session_cookie_is_sent_is_no_gate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSRF origin check that lets through a request with a bearer header or without the session cookie
    (``if request.headers.get("Authorization") or SESSION_COOKIE_NAME not in request.cookies: return await
    call_next(request)``): a request with no credential at all passes, so the routes are not authenticated
    by it. Its twin skips only a request with a bearer header: one without any credential can be refused."""
    skip = """if request.headers.get("Authorization") or SESSION_COOKIE_NAME not in request.cookies:
                return await call_next(request)"""
    model = _project(tmp_path, monkeypatch, CSRF.replace("{skip}", skip))
    assert all(not r.auth.required for r in model.routes), [(r.path, r.auth.via) for r in model.routes]
    # the twin lets only a bearer header through unchecked: a request without one can still be refused
    bearer = """if request.headers.get("Authorization"):
                return await call_next(request)"""
    (tmp_path / "gate").mkdir()
    gate = _project(tmp_path / "gate", monkeypatch, CSRF.replace("{skip}", bearer))
    assert all(r.auth.required for r in gate.routes)
