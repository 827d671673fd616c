"""Registration forms besides the plain decorator, registrations in loops and under conditions.

The route tables of ``registration_forms_app`` are compared with FastAPI's in ``test_oracle.py``
(its conditions hold at import); here: what only the static model says (which routes are
conditional, and on what), and the loop and condition cases the oracle cannot see. Every
expected table of a project FastAPI can import was checked against what it builds at runtime
(with the conditions' environment variables set); the others fail at import or run code the
model does not see, which is why they are unresolved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fastapi_arch_lint.engine import Analysis
from fastapi_arch_lint.extract.parse import extract_source
from fastapi_arch_lint.model.unresolved import kind_of
from projects import project

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "registration_forms_app"


def table(analysis: Analysis) -> dict[tuple[str, str], str]:
    """(methods, path) -> the route's condition."""
    out = {}
    for r in analysis.model.routes:
        key = (",".join(r.methods) or "WS", r.path)
        assert key not in out, f"duplicate route {key}"
        out[key] = r.conditional
    return out


def unresolved(analysis: Analysis) -> list[str]:
    return [f"{u.what}: {u.reason}" for u in analysis.model.unresolved]


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _inspect(fmt: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "src"), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "inspect", ".", "--no-cache", "--format", fmt],
                          cwd=FIXTURE, capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# ---------------------------------------------------------------------------
# the fixture through ``inspect``


def test_fixture_json_marks_conditional_routes() -> None:
    doc = json.loads(_inspect("json"))
    [app] = doc["apps"]
    by_path = {(",".join(r["methods"]) or "WS", r["path"]): r for r in app["routes"]}
    cond = 'settings.ENVIRONMENT == "local"'
    assert {k for k, r in by_path.items() if r["conditional"]} == {("GET", "/api/dev/emails"), ("POST", "/api/dev/seed")}
    seed = by_path[("POST", "/api/dev/seed")]
    assert seed["conditional"] == cond
    assert [s["condition"] for s in seed["include_chain"]] == ["", cond]
    # certain conditions are folded: a module-level True is no condition, a False branch and
    # ``TYPE_CHECKING`` register nothing
    assert by_path[("GET", "/api/metrics")]["conditional"] == ""
    assert by_path[("GET", "/api/status")]["function"].endswith("system.status_report")
    assert not any("typing-only" in p for _, p in by_path)
    # a loop over (prefix, module, guard) tuples: the guard authenticates each router's routes
    assert by_path[("DELETE", "/api/admin/cache")]["auth"]["required"] is True
    assert by_path[("GET", "/api/shelves/")]["tags"] == ["shelves"]
    # the include chain names the router as written, also when it came from another module's list
    v2 = by_path[("GET", "/v2/authors")]
    assert [s["child"] for s in v2["include_chain"]] == ["authors.router"]
    assert doc["unresolved"] == []


def test_fixture_text_marks_conditional_routes() -> None:
    text = _inspect("text")
    seed = [line for line in text.splitlines() if "/api/dev/seed" in line]
    assert len(seed) == 1 and seed[0].endswith('(only if settings.ENVIRONMENT == "local")'), seed
    metrics = [line for line in text.splitlines() if "/api/metrics" in line]
    assert len(metrics) == 1 and "only if" not in metrics[0]


# ---------------------------------------------------------------------------
# conditions


def test_if_else_on_runtime_settings_marks_both_branches(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/config.py": """
            import os

            class Settings:
                DEBUG: bool = os.environ.get("DEBUG") == "1"
                MODE: str = "prod"

            settings = Settings()
        """,
        "app/main.py": """
            from fastapi import APIRouter, FastAPI
            from app.config import settings

            app = FastAPI()
            debug = APIRouter()
            plain = APIRouter()

            @debug.get("/state")
            def state(): return {}

            @plain.get("/hello")
            def hello(): return {}

            if settings.DEBUG:
                app.include_router(debug, prefix="/debug")
            elif settings.MODE != "prod":
                app.include_router(plain, prefix="/staging")
            else:
                app.include_router(plain, prefix="/prod")
                if not settings.DEBUG:
                    app.include_router(debug, prefix="/quiet")
        """,
    })
    assert table(a) == {
        ("GET", "/debug/state"): "settings.DEBUG",
        ("GET", "/staging/hello"): 'not settings.DEBUG and settings.MODE != "prod"',
        ("GET", "/prod/hello"): 'not settings.DEBUG and not (settings.MODE != "prod")',
        ("GET", "/quiet/state"): 'not settings.DEBUG and not (settings.MODE != "prod")',
    }


def test_conditions_join_along_the_include_chain(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            import os
            from fastapi import APIRouter, FastAPI

            FEATURES = os.environ.get("FEATURES", "")
            app = FastAPI()
            outer = APIRouter()
            inner = APIRouter()

            if "beta" in FEATURES:
                @inner.get("/beta")
                def beta(): return {}

            @inner.get("/always")
            def always(): return {}

            outer.include_router(inner)
            if os.environ.get("ENABLE_OUTER"):
                app.include_router(outer, prefix="/o")
        """,
    })
    # the include's condition first, then the decorator's
    assert table(a) == {
        ("GET", "/o/beta"): 'os.environ.get("ENABLE_OUTER") and "beta" in FEATURES',
        ("GET", "/o/always"): 'os.environ.get("ENABLE_OUTER")',
    }


def test_certain_conditions_are_folded(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/flags.py": """
            ENABLE_ADMIN = False
            ENABLE_DOCS = True
            TOGGLED = False
            TOGGLED = True
        """,
        "app/main.py": """
            import typing
            from fastapi import FastAPI
            from app import flags
            from app.flags import ENABLE_ADMIN, TOGGLED

            app = FastAPI()

            def h(): return {}

            if ENABLE_ADMIN:
                app.add_api_route("/admin", h)
            if not ENABLE_ADMIN:
                app.add_api_route("/no-admin", h)
            if flags.ENABLE_DOCS:
                app.add_api_route("/docs-extra", h)
            if typing.TYPE_CHECKING:
                app.add_api_route("/typing", h)
            if False:
                app.add_api_route("/dead", h)
            if TOGGLED:
                app.add_api_route("/toggled", h)
        """,
    })
    # a name bound twice is not a constant: the route stays, conditional
    assert table(a) == {("GET", "/no-admin"): "", ("GET", "/docs-extra"): "", ("GET", "/toggled"): "TOGGLED"}


# ---------------------------------------------------------------------------
# loops


def test_loop_target_read_by_a_condition_inside_the_loop(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import APIRouter, FastAPI

            app = FastAPI()
            reports = APIRouter()
            exports = APIRouter()

            @reports.get("/r")
            def r(): return {}

            @exports.get("/e")
            def e(): return {}

            for router, enabled in [(reports, True), (exports, False)]:
                if enabled:
                    app.include_router(router, prefix="/on")
        """,
    })
    assert table(a) == {("GET", "/on/r"): ""}


def test_loop_over_runtime_data_is_unresolved(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import APIRouter, FastAPI

            app = FastAPI()
            fixed = APIRouter()

            @fixed.get("/fixed")
            def fixed_route(): return {}

            def discover():
                return []

            for plugin in discover():
                app.include_router(plugin.router)
            for _ in range(2):
                app.include_router(fixed)
        """,
    })
    # the statement that does not read the loop target runs if the loop runs at all
    assert table(a) == {("GET", "/fixed"): "for _ in range(2)"}
    assert unresolved(a) == [
        "included router `plugin.router` in loop `for plugin in discover()`: iterates `discover()`: not a literal list or tuple"]


def test_loop_target_that_cannot_be_unpacked_is_unresolved(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import APIRouter, FastAPI

            app = FastAPI()
            r = APIRouter()
            PAIRS = [("/a", r), r]

            for prefix, router in PAIRS:
                app.include_router(router, prefix=prefix)
        """,
    })
    assert table(a) == {}
    assert unresolved(a) == ["included router `router` in loop `for prefix, router in PAIRS`: cannot unpack `r` into its target"]


def test_routes_added_in_a_loop_inside_a_factory(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/handlers.py": """
            def ping(): return {}
            def version(): return {}

            PROBES = (("/ping", ping), ("/version", version))
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from app.handlers import PROBES

            def create_app() -> FastAPI:
                application = FastAPI()
                for path, handler in PROBES:
                    application.add_api_route(path, handler, methods=["GET", "HEAD"])
                return application

            app = create_app()
        """,
    })
    assert table(a) == {("GET,HEAD", "/ping"): "", ("GET,HEAD", "/version"): ""}


def test_loop_over_a_factory_parameter_iterates_what_each_call_passes(tmp_path: Path) -> None:
    # ``def create_app(routers=ROUTERS): for r in routers: app.include_router(r)``: the loop runs over the
    # default where a call leaves it out and over the argument where a call passes one; a test's call
    # (which would add its own router to the same app) is not one of the app's
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/routers.py": """
            from fastapi import APIRouter

            items = APIRouter(prefix="/items")
            users = APIRouter(prefix="/users")
            extra = APIRouter(prefix="/extra")

            @items.get("/")
            def list_items(): return []

            @users.get("/")
            def list_users(): return []

            @extra.get("/")
            def list_extra(): return []

            ROUTERS = [items, users]
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from app.routers import ROUTERS

            def create_app(title: str = "api", routers: list = ROUTERS) -> FastAPI:
                application = FastAPI(title=title)
                for router in routers:
                    application.include_router(router)
                return application

            app = create_app(title="prod")
        """,
        "tests/test_app.py": """
            from app.main import create_app
            from app.routers import extra

            def test_extra():
                create_app(routers=[extra])
        """,
    })
    assert table(a) == {("GET", "/items/"): "", ("GET", "/users/"): ""}
    assert unresolved(a) == []


def test_loop_over_a_parameter_no_call_decides_stays_unresolved(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI

            def create_app(routers) -> FastAPI:
                application = FastAPI()
                for router in routers:
                    application.include_router(router)
                return application

            app = create_app(load_plugins())
        """,
    })
    assert table(a) == {}
    assert unresolved(a) == [
        "included router `router` in loop `for router in routers`: iterates `routers`: "
        "parameter `routers` is passed `load_plugins()`"]


# ---------------------------------------------------------------------------
# decorators applied by hand


def test_decorator_applied_to_something_not_a_function_is_unresolved(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI

            app = FastAPI()
            handlers = {}

            def ok(): return {}

            app.get("/ok")(ok)
            app.post("/dyn")(handlers["create"])
        """,
    })
    assert table(a) == {("GET", "/ok"): ""}
    assert any(u.startswith("handler of `app.post(...)`") for u in unresolved(a)), unresolved(a)


# ---------------------------------------------------------------------------
# the facts


def test_blocks_facts() -> None:
    source = textwrap.dedent("""
        if settings.ENV == "local" and not DEBUG:
            app.include_router(a.router)
        elif TYPE_CHECKING:
            pass
        else:
            app.include_router(b.router)
        for prefix, r in [("/a", a), ("/b", b)]:
            app.include_router(r, prefix=prefix)
        for x in y:
            log.info(x)
        else:
            app.include_router(c)
        for z in y:
            print(z)  # nothing the linker reads: not recorded
            total = z
        while True:
            pass
    """).encode()
    result = extract_source(source, "m.py")
    assert result.diagnostic is None and result.facts is not None
    blocks = result.facts.scope.blocks
    assert [(b.kind, b.text, b.negated, b.parent, b.calls) for b in blocks] == [
        ("if", 'settings.ENV == "local" and not DEBUG', False, -1, (0, 1)),
        ("if", 'not (settings.ENV == "local" and not DEBUG)', True, -1, (1, 2)),
        ("if", "not TYPE_CHECKING", True, 1, (1, 2)),  # the elif's else; its empty body is not recorded
        ("for", 'for prefix, r in [("/a", a), ("/b", b)]', False, -1, (2, 3)),
        ("for", "for x in y", False, -1, (3, 4)),  # the loop's ``else`` runs after it: not in it
    ]


def test_decorator_applied_by_hand_rebinding_the_handler_under_a_condition(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/config.py": """
            import os

            SIGNUP_ENABLED = os.environ.get("SIGNUP_ENABLED", "1") == "1"
        """,
        "app/main.py": """
            from fastapi import APIRouter, FastAPI
            from app.config import SIGNUP_ENABLED

            router = APIRouter()

            def signup(email: str) -> dict:
                return {"email": email}

            if SIGNUP_ENABLED:
                signup = router.post("/signup", status_code=201)(signup)

            app = FastAPI()
            app.include_router(router, prefix="/auth")
        """,
    })
    assert table(a) == {("POST", "/auth/signup"): "SIGNUP_ENABLED"}
    [route] = a.model.routes
    assert route.status_code == 201 and route.handler.qualname == "app.main.signup"
    assert unresolved(a) == []


def test_statements_in_loops_that_register_nothing_are_not_noted(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/items")
            def items(cache: dict) -> list:
                for key in list(cache):
                    cache.get(key)
                    cache.pop(key)
                return []
        """,
    })
    assert table(a) == {("GET", "/items"): ""}
    assert unresolved(a) == []


def test_function_decorated_in_a_loop_is_registered_per_element(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI, WebSocket

            app = FastAPI()

            for version in ("v1", "v2"):
                @app.get(f"/{version}/ping")
                def ping() -> dict:
                    return {}

            for path in ["/feed", "/events"]:
                async def stream(websocket: WebSocket) -> None:
                    await websocket.accept()

                app.add_api_websocket_route(path, stream)
        """,
    })
    assert table(a) == {("GET", "/v1/ping"): "", ("GET", "/v2/ping"): "", ("WS", "/feed"): "", ("WS", "/events"): ""}


def test_certain_comparisons_and_boolean_operators_are_folded(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            import os
            from fastapi import FastAPI

            STAGE = "production"
            FEATURES = ("search", "export")
            app = FastAPI()

            def h(): return {}

            if STAGE == "development":
                app.add_api_route("/dev", h)
            if STAGE != "development" and "export" in FEATURES:
                app.add_api_route("/export", h)
            if STAGE == "development" or os.environ.get("FORCE"):
                app.add_api_route("/forced", h)
            if not (STAGE == "production" or os.environ.get("X")):
                app.add_api_route("/never", h)
            for name, path in [("search", "/search"), ("upload", "/upload")]:
                if name in FEATURES:
                    app.add_api_route(path, h)
        """,
    })
    assert table(a) == {("GET", "/export"): "", ("GET", "/forced"): 'STAGE == "development" or os.environ.get("FORCE")',
                        ("GET", "/search"): ""}


def test_self_referencing_constant_does_not_hang(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI

            LOOP = (LOOP,)
            app = FastAPI()

            def h(): return {}

            if "x" in LOOP:
                app.add_api_route("/x", h)
        """,
    })
    assert table(a) == {("GET", "/x"): '"x" in LOOP'}


def test_include_in_a_loop_over_plugins_is_unresolved_whatever_its_receiver(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/plugins.py": """
            from importlib.metadata import entry_points

            def load_plugins():
                return [ep.load() for ep in entry_points().select(group="library.plugins")]

            def install_plugin_routes(api):
                for plugin in load_plugins():
                    if plugin.router is not None:
                        api.include_router(plugin.router, prefix="/plugins")
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from app.plugins import install_plugin_routes

            app = FastAPI()
            install_plugin_routes(app)
        """,
    })
    assert table(a) == {}
    assert unresolved(a) == ["included router `plugin.router` in loop `for plugin in load_plugins()`: iterates "
                             "`load_plugins()`: not a literal list or tuple"]
    # counted in the review's one line about what could not be resolved
    assert kind_of(a.model.unresolved[0]) == "include"


# ---------------------------------------------------------------------------
# unpacking


def test_an_unpacked_credential_compared_with_one_password_is_a_shared_secret(tmp_path: Path) -> None:
    # ``scheme, token = header.split(" ", 1)``: ``token`` is what the request carries (``header.split(...)[1]``),
    # so a middleware comparing it with one configured password identifies nobody; the twin looks the
    # token up in a table of callers
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            import os
            import secrets

            from fastapi import FastAPI, Request
            from fastapi.responses import JSONResponse

            PASSWORD = os.environ["APP_PASSWORD"]
            CALLERS = {"k1": "alice"}
            app = FastAPI()
            api = FastAPI()


            @app.middleware("http")
            async def gate(request: Request, call_next):
                header = request.headers.get("Authorization")
                if not header:
                    return JSONResponse({"detail": "missing"}, status_code=401)
                scheme, token = header.split(" ", 1)
                if not secrets.compare_digest(token.encode(), PASSWORD.encode()):
                    return JSONResponse({"detail": "bad"}, status_code=401)
                return await call_next(request)


            @api.middleware("http")
            async def lookup(request: Request, call_next):
                header = request.headers.get("Authorization")
                if not header:
                    return JSONResponse({"detail": "missing"}, status_code=401)
                scheme, token = header.split(" ", 1)
                if CALLERS.get(token) is None:
                    return JSONResponse({"detail": "bad"}, status_code=401)
                return await call_next(request)


            @app.get("/notes")
            def notes(): return []


            @api.get("/notes")
            def api_notes(): return []
        """,
    })
    via = {r.app: [(v.kind, v.shared_secret) for v in r.auth.via] for r in a.model.routes}
    assert via == {"app.main:app": [("middleware", True)], "app.main:api": [("middleware", False)]}


# ---------------------------------------------------------------------------
# registration wrappers: a function or method that passes its caller's endpoint on

WRAPPERS = {
    "shop/__init__.py": "",
    "shop/server.py": """
        from fastapi import APIRouter, FastAPI


        def register(router: APIRouter, path: str, endpoint, **options):
            router.add_api_route(path, endpoint, **options)


        class Storefront:
            def __init__(self, app: FastAPI, name: str):
                self.app = app
                self.name = name
                self.app.add_api_route("/health", self.health, methods=["GET"])
                self.add_api_route("/basket", self.basket, methods=["POST"])
                self.add_api_route("/basket/{line}", self.drop_line, methods=["DELETE"], status_code=204)
                self.add_api_route("/catalogue", self.catalogue)

            def add_api_route(self, path: str, endpoint, **kwargs):
                return self.app.add_api_route(path, endpoint, **kwargs)

            def health(self):
                return {"ok": True}

            def basket(self):
                return {}

            def drop_line(self, line: int):
                return None

            def catalogue(self):
                return []
    """,
    "shop/main.py": """
        from fastapi import APIRouter, FastAPI

        from shop.server import Storefront, register


        def list_offers():
            return []


        def create_app() -> FastAPI:
            application = FastAPI()
            offers = APIRouter()
            register(offers, "/offers", list_offers, methods=["GET"])
            register(offers, "/offers/{offer_id}", list_offers, methods=["PUT"], tags=["offers"])
            application.include_router(offers, prefix="/v1")
            Storefront(application, "main")
            return application


        app = create_app()
    """,
}


def test_registration_wrappers_register_what_each_call_passes(tmp_path: Path) -> None:
    """A method that forwards its caller's path and endpoint to ``self.app.add_api_route`` (returning it),
    and a function that forwards them to the router it is given, with ``**kwargs``: every call registers
    the caller's endpoint, with the caller's options; the same table as FastAPI's at runtime."""
    a = project(tmp_path, WRAPPERS)
    expected = {("GET", "/health"): "", ("POST", "/basket"): "", ("DELETE", "/basket/{line}"): "",
                ("GET", "/catalogue"): "", ("GET", "/v1/offers"): "", ("PUT", "/v1/offers/{offer_id}"): ""}
    assert table(a) == expected
    assert unresolved(a) == []
    by_path = {r.path: r for r in a.model.routes}
    assert by_path["/basket/{line}"].status_code == 204
    assert by_path["/basket"].handler.qualname.endswith("Storefront.basket")
    assert by_path["/v1/offers/{offer_id}"].tags == ("offers",)
    # the registration is placed where the wrapper is called
    assert (by_path["/basket"].registered.path, by_path["/basket"].registered.line) == ("shop/server.py", 13)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "tests" / "oracle_dump.py"), str(tmp_path), "shop.main:app"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr
    runtime = {(",".join(r["methods"]), r["path"]) for r in json.loads(proc.stdout) if r["kind"] == "http"}
    assert runtime == set(expected)


def test_a_wrapper_called_with_unpacked_arguments_is_unresolved(tmp_path: Path) -> None:
    files = dict(WRAPPERS)
    files["shop/main.py"] = """
        from fastapi import APIRouter, FastAPI

        from shop.server import register

        ROUTES = [("/offers", print)]

        app = FastAPI()
        offers = APIRouter()
        for spec in ROUTES:
            register(offers, *spec)
        app.include_router(offers)
    """
    a = project(tmp_path, files)
    assert table(a) == {}
    assert any(u.startswith("call of registration wrapper `register`") for u in unresolved(a)), unresolved(a)


def test_an_app_rebound_after_its_registrations_keeps_them(tmp_path: Path) -> None:
    """``app = mount_ui(app, ...)`` (a library call the analysis cannot read) further down a factory, or at
    module level: the registrations before it were made on the ``FastAPI()`` instance, as the code runs them
    (each statement is read in the env of its line), so the app and its routes are seen."""
    a = project(tmp_path, {
        "shop/__init__.py": "",
        "shop/routes.py": """
            from fastapi import APIRouter

            router = APIRouter()


            @router.get("/items")
            def items():
                return []
        """,
        "shop/main.py": """
            from fastapi import FastAPI
            from uikit import mount_ui

            from shop.routes import router


            def create_app(with_ui: bool = True) -> FastAPI:
                app = FastAPI()
                app.include_router(router, prefix="/v1")
                if with_ui:
                    app = mount_ui(app, path="")
                return app
        """,
        "shop/plain.py": """
            from fastapi import FastAPI
            from uikit import mount_ui

            from shop.routes import router

            app = FastAPI()
            app.include_router(router, prefix="/v2")
            app = mount_ui(app, path="")
        """,
    })
    assert sorted(table(a)) == [("GET", "/v1/items"), ("GET", "/v2/items")]


FACTORY_ROUTERS = {
    "shop/__init__.py": "",
    "shop/base.py": """
        from fastapi import APIRouter, Depends, Header, HTTPException


        def staff(x_staff_token: str = Header(default="")):
            if x_staff_token != "let-me-in":
                raise HTTPException(status_code=401)
            return x_staff_token


        def make_routers(prefix: str = ""):
            public = APIRouter(prefix=prefix)
            private = APIRouter(prefix=prefix, dependencies=[Depends(staff)])
            return public, private


        def make_router(prefix: str = ""):
            return APIRouter(prefix=prefix)
    """,
    "shop/books.py": """
        from shop.base import make_router, make_routers

        public, private = make_routers("/books")
        extra = make_router()


        @public.get("")
        def list_books():
            return []


        @private.delete("/{book_id}")
        def drop_book(book_id: int):
            return None


        @extra.get("/book-of-the-day")
        def book_of_the_day():
            return {}
    """,
    "shop/maps.py": """
        from shop.base import make_router, make_routers

        public, private = make_routers("/maps")
        extra = make_router()


        @public.get("")
        def list_maps():
            return []


        @private.post("")
        def add_map():
            return {}


        @extra.get("/map-of-the-day")
        def map_of_the_day():
            return {}
    """,
    "shop/main.py": """
        from fastapi import FastAPI

        from shop import books, maps

        app = FastAPI()
        for module in (books, maps):
            app.include_router(module.public)
            app.include_router(module.private)
            app.include_router(module.extra)
    """,
}


def test_routers_a_factory_allocates_on_each_call_are_told_apart(tmp_path: Path) -> None:
    """``public, private = make_routers("/books")`` and ``extra = make_router()`` in two modules: each call
    returns new routers, so each module's routes are on its own (no route twice, no FAL105), with the
    options its call passed (the prefix, the private router's auth dependency); FastAPI's runtime table."""
    a = project(tmp_path, FACTORY_ROUTERS)
    expected = {("GET", "/books"), ("DELETE", "/books/{book_id}"), ("GET", "/book-of-the-day"),
                ("GET", "/maps"), ("POST", "/maps"), ("GET", "/map-of-the-day")}
    assert set(table(a)) == expected  # ``table`` asserts no route is there twice
    auth = {r.path + " " + ",".join(r.methods): r.auth.required for r in a.model.routes}
    assert auth == {"/books GET": False, "/books/{book_id} DELETE": True, "/book-of-the-day GET": False,
                    "/maps GET": False, "/maps POST": True, "/map-of-the-day GET": False}
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "tests" / "oracle_dump.py"), str(tmp_path), "shop.main:app"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr
    assert {(",".join(r["methods"]), r["path"]) for r in json.loads(proc.stdout) if r["kind"] == "http"} == expected
