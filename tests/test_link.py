"""The linker, end to end: tiny multi-module projects through ``engine.analyze``.

Every expectation here was checked against what FastAPI itself builds at runtime
for the same code (``app.openapi()["paths"]`` and its ``security`` entries).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_arch_lint.engine import Analysis, analyze
from fastapi_arch_lint.model.app import Route
from projects import project


def routes(analysis: Analysis) -> dict[tuple[str, str], Route]:
    out = {}
    for r in analysis.model.routes:
        key = (",".join(r.methods), r.path)
        assert key not in out, f"duplicate route {key}"
        out[key] = r
    return out


def only_route(analysis: Analysis, path: str) -> Route:
    found = [r for r in analysis.model.routes if r.path == path]
    assert len(found) == 1, [r.path for r in analysis.model.routes]
    return found[0]


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # display paths relative to the project


# ---------------------------------------------------------------------------
# recognising FastAPI


def test_aliased_imports(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI as F, APIRouter as R

            app = F()
            r = R(prefix="/r")

            @r.get("/x")
            def x(): ...

            @app.post("/y")
            def y(): ...

            app.include_router(r)
        """,
    })
    [app] = a.model.apps
    assert app.name == "app" and app.loc.path == "app/main.py" and app.loc.line == 3
    assert sorted(routes(a)) == [("GET", "/r/x"), ("POST", "/y")]
    assert routes(a)[("GET", "/r/x")].handler.qualname == "app.main.x"


def test_module_import_of_fastapi(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "main.py": """
            import fastapi

            app = fastapi.FastAPI()
            router = fastapi.APIRouter()

            @app.get("/a")
            def a(): ...

            @router.delete("/b/{id}")
            def b(id: int): ...

            app.include_router(router, prefix="/p")
        """,
    })
    assert sorted(routes(a)) == [("DELETE", "/p/b/{id}"), ("GET", "/a")]


def test_no_app(tmp_path: Path) -> None:
    a = project(tmp_path, {"lib.py": "def f():\n    return 1\n"})
    assert a.model.apps == ()
    assert [m.name for m in a.model.modules] == ["lib"]


# ---------------------------------------------------------------------------
# prefixes


def test_prefix_from_settings_in_another_module(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/core/__init__.py": "",
        "app/core/config.py": """
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                API_V1_STR: str = "/api/v1"
                PROJECT_NAME: str = "demo"

            settings = Settings()
        """,
        "app/main.py": """
            from fastapi import FastAPI, APIRouter
            from app.core.config import settings

            app = FastAPI(title=settings.PROJECT_NAME)
            api_router = APIRouter()

            @api_router.get("/users/")
            def users(): ...

            app.include_router(api_router, prefix=settings.API_V1_STR)
        """,
    })
    r = only_route(a, "/api/v1/users/")
    assert r.path_unresolved is False
    assert r.include_chain[0].prefix == "/api/v1"
    assert a.model.unresolved == ()


def test_prefix_from_fstring_of_module_constants(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/consts.py": """
            BASE = "/api"
            VERSION = 2
        """,
        "app/main.py": """
            from fastapi import FastAPI, APIRouter
            from app import consts
            from app.consts import BASE

            NAME = "items"
            app = FastAPI()
            router = APIRouter(prefix=f"/{NAME}")

            @router.get("/{item_id}")
            def item(item_id: int): ...

            app.include_router(router, prefix=f"{BASE}/v{consts.VERSION}")
        """,
    })
    r = only_route(a, "/api/v2/items/{item_id}")
    assert r.path_unresolved is False
    assert r.router_prefix == "/items"
    assert a.model.unresolved == ()


def test_prefix_from_environment_is_unresolved(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "main.py": """
            import os
            from fastapi import FastAPI, APIRouter

            app = FastAPI()
            router = APIRouter()

            @router.get("/ping")
            def ping(): ...

            @app.get("/static")
            def static(): ...

            app.include_router(router, prefix=os.environ["API_PREFIX"])
        """,
    })
    rs = {r.handler.qualname: r for r in a.model.routes}
    assert rs["main.ping"].path_unresolved is True
    assert rs["main.static"].path_unresolved is False
    assert rs["main.static"].path == "/static"
    prefix_notes = [u for u in a.model.unresolved if "API_PREFIX" in u.what]
    assert len(prefix_notes) == 1
    note = prefix_notes[0]
    assert note.reason and note.path == "main.py" and note.line == 13
    assert "include prefix" in note.what
    # and the route whose path depends on it is named too
    assert any("main.ping" in u.what for u in a.model.unresolved)


def test_router_included_twice(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/users.py": """
            from fastapi import APIRouter

            router = APIRouter(prefix="/users")

            @router.get("/{id}")
            async def get_user(id: int): ...
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from app.users import router

            app = FastAPI()
            app.include_router(router, prefix="/v1")
            app.include_router(router, prefix="/v2")
        """,
    })
    assert sorted(routes(a)) == [("GET", "/v1/users/{id}"), ("GET", "/v2/users/{id}")]
    assert {r.handler.qualname for r in a.model.routes} == {"app.users.get_user"}


def test_nested_include_chain_joins_like_fastapi(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/users.py": """
            from fastapi import APIRouter

            router = APIRouter(prefix="/users")

            @router.get("/{id}")
            async def get_user(id: int): ...

            @router.get("")
            async def list_users(): ...
        """,
        "app/api.py": """
            from fastapi import APIRouter
            from app import users

            v1 = APIRouter()
            v1.include_router(users.router)
            api_router = APIRouter()
            api_router.include_router(v1, prefix="/v1")
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from app.api import api_router

            app = FastAPI()
            app.include_router(api_router, prefix="/api")
        """,
    })
    assert sorted(routes(a)) == [("GET", "/api/v1/users"), ("GET", "/api/v1/users/{id}")]
    r = routes(a)[("GET", "/api/v1/users/{id}")]
    assert [s.prefix for s in r.include_chain] == ["/api", "/v1", ""]
    assert [(s.path, s.line) for s in r.include_chain] == [("app/main.py", 5), ("app/api.py", 7), ("app/api.py", 5)]
    assert r.router_prefix == "/users"
    assert r.path_params == ("id",)


def test_router_prefix_on_router_and_include(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "main.py": """
            from fastapi import FastAPI, APIRouter

            app = FastAPI()
            outer = APIRouter(prefix="/outer")
            inner = APIRouter(prefix="/inner")

            @inner.put("/leaf")
            def leaf(): ...

            outer.include_router(inner, prefix="/mid")
            app.include_router(outer, prefix="/top")
        """,
    })
    assert sorted(routes(a)) == [("PUT", "/top/outer/mid/inner/leaf")]


def test_router_built_in_a_factory(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/routes.py": """
            from fastapi import APIRouter

            def make_router() -> APIRouter:
                router = APIRouter(prefix="/things")

                @router.get("/{tid}")
                def get_thing(tid: int): ...

                return router
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from app.routes import make_router

            def create_app() -> FastAPI:
                application = FastAPI()
                application.include_router(make_router(), prefix="/v1")
                return application

            app = create_app()
        """,
    })
    [app] = a.model.apps
    assert app.factory == "app.main.create_app"
    assert app.name == "app"
    r = only_route(a, "/v1/things/{tid}")
    assert r.handler.qualname == "app.routes.make_router.get_thing"
    assert r.handler.path == "app/routes.py" and r.handler.line == 7


# ---------------------------------------------------------------------------
# auth


SECURITY = """
    from fastapi import Depends, HTTPException
    from fastapi.security import HTTPBearer, OAuth2PasswordBearer

    oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")
    optional_bearer = HTTPBearer(auto_error=False)


    async def get_current_user(token: str = Depends(oauth2_scheme)):
        return token


    def require_role(role: str):
        def role_checker(token: str = Depends(oauth2_scheme)):
            if role != "admin":
                raise HTTPException(status_code=403)
            return token
        return role_checker


    async def maybe_user(creds=Depends(optional_bearer)):
        return creds


    def verify():
        return True
"""


def test_app_factory_including_the_router_it_is_given(tmp_path: Path) -> None:
    """``create_application(router=api_router)``: the factory includes its parameter; each call's argument is
    the router included (with the auth its routes carry), not an unresolved include."""
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/api.py": """
            from fastapi import APIRouter, Depends

            from app.deps import current_user

            router = APIRouter(prefix="/api", dependencies=[Depends(current_user)])


            @router.get("/things/{tid}")
            def get_thing(tid: int): ...
        """,
        "app/deps.py": """
            from fastapi import Depends
            from fastapi.security import OAuth2PasswordBearer

            scheme = OAuth2PasswordBearer(tokenUrl="/token")


            def current_user(token: str = Depends(scheme)) -> str:
                return token
        """,
        "app/setup.py": """
            from fastapi import APIRouter, FastAPI


            def create_application(router: APIRouter, **kwargs) -> FastAPI:
                application = FastAPI(**kwargs)
                application.include_router(router, prefix="/v1")
                return application
        """,
        "app/main.py": """
            from app.api import router
            from app.setup import create_application

            app = create_application(router=router)
        """,
    })
    [app] = a.model.apps
    assert app.factory == "app.setup.create_application"
    r = only_route(a, "/v1/api/things/{tid}")
    assert r.auth.required and r.auth.scheme
    assert not [u for u in a.model.unresolved if "included router" in u.what], a.model.unresolved


def test_dependency_factory_returning_inner_function(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from app.security import require_role

            app = FastAPI()

            @app.delete("/admin/{id}", dependencies=[Depends(require_role("admin"))])
            def delete(id: int): ...
        """,
    })
    r = only_route(a, "/admin/{id}")
    assert r.auth.required is True
    via = r.auth.via[0]
    assert via.kind == "scheme"
    assert via.scheme == "OAuth2PasswordBearer"
    assert via.level == "route"
    assert "role_checker" in via.chain
    assert via.chain[-1] == "oauth2_scheme"
    assert via.optional is False


def test_annotated_alias_defined_in_another_module(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/deps.py": """
            from typing import Annotated

            from fastapi import Depends
            from pydantic import BaseModel

            from app.security import get_current_user


            class User(BaseModel):
                name: str


            CurrentUser = Annotated[User, Depends(get_current_user)]
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from app.deps import CurrentUser

            app = FastAPI()

            @app.get("/me")
            def me(user: CurrentUser): ...
        """,
    })
    r = only_route(a, "/me")
    assert r.auth.required is True
    [via] = r.auth.via
    assert via.level == "param"
    assert via.chain == ("get_current_user", "oauth2_scheme")
    [user] = [p for p in r.params if p.name == "user"]
    assert user.source == "dependency"
    assert user.dependency == "app.security.get_current_user"
    assert r.request_models == ()  # a dependency is not a request body


def test_optional_scheme(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from app.security import maybe_user

            app = FastAPI()

            @app.get("/maybe")
            def maybe(user=Depends(maybe_user)): ...
        """,
    })
    [via] = only_route(a, "/maybe").auth.via
    assert via.scheme == "HTTPBearer"
    assert via.optional is True
    assert via.chain == ("maybe_user", "optional_bearer")


@pytest.mark.parametrize(("status", "required"), [
    ("http_status_code=HTTPStatus.FORBIDDEN", True),
    ("status_code=401", True),
    ("http_status_code=HTTPStatus.BAD_REQUEST", False),  # a malformed request, not "who are you"
    ("code=403", False),  # ``code`` is as often the project's own error number
])
def test_an_unread_exception_built_with_a_401_or_403_status_rejects(tmp_path: Path, status: str,
                                                                    required: bool) -> None:
    # the exception class lives in a package the analysis does not read; the status it is built with says
    # what the client gets
    a = project(tmp_path, {
        "svc/__init__.py": "",
        "svc/deps.py": f"""
            from http import HTTPStatus

            from fastapi import Depends, Security
            from fastapi.security import APIKeyHeader

            from shared_errors import ServiceError

            key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


            def lookup_client(api_key):
                if api_key and api_key in {{"k1", "k2"}}:
                    return api_key
                raise ServiceError("Could not validate credentials", {status})


            def get_client(api_key: str | None = Security(key_header)):
                return lookup_client(api_key)
        """,
        "svc/main.py": """
            from fastapi import Depends, FastAPI

            from svc.deps import get_client

            app = FastAPI()


            @app.post("/tasks")
            def create_task(client=Depends(get_client)): ...
        """,
    })
    via = only_route(a, "/tasks").auth.via
    enforced = [(v.kind, v.name) for v in via if not v.optional]
    assert enforced == ([("dependency", "get_client")] if required else []), via


def test_a_handler_that_refuses_without_what_its_optional_auth_gives_is_authenticated(tmp_path: Path) -> None:
    # the key comes from optional schemes; the handler hands it to a project function that refuses a
    # missing or unknown key with 403 (``/keyed``); handing it to one that only logs it (``/logged``), or
    # refusing on a value that no auth dependency gave (``/body-check``), changes nothing
    a = project(tmp_path, {
        "svc/__init__.py": "",
        "svc/main.py": """
            from fastapi import Depends, FastAPI, HTTPException, Security
            from fastapi.security import APIKeyHeader

            key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
            KEYS = {"k1", "k2"}
            app = FastAPI()


            def get_api_key(key: str | None = Security(key_header)) -> str | None:
                return key


            def check_key(api_key: str | None) -> str:
                if api_key and api_key in KEYS:
                    return api_key
                raise HTTPException(status_code=403, detail="Could not validate credentials")


            def note_key(api_key: str | None) -> None:
                print("called with", api_key)


            @app.post("/keyed")
            def keyed(titles: list[str], api_key: str | None = Depends(get_api_key)):
                check_key(api_key)
                return {"n": len(titles)}


            @app.post("/logged")
            def logged(titles: list[str], api_key: str | None = Depends(get_api_key)):
                note_key(api_key)
                return {"n": len(titles)}


            @app.post("/body-check")
            def body_check(titles: list[str], api_key: str | None = Depends(get_api_key)):
                if not titles:
                    raise HTTPException(status_code=403)
                return {"n": len(titles)}
        """,
    })
    def enforced(path: str) -> list[tuple[str, str]]:
        return [(v.kind, v.name) for v in only_route(a, path).auth.via if not v.optional]

    assert enforced("/keyed") == [("handler", "keyed")]
    assert enforced("/logged") == []
    assert enforced("/body-check") == []


def test_routes_registered_on_a_router_that_a_helper_finds_inside_the_object_it_is_given(tmp_path: Path) -> None:
    # the API class hands itself to per-area registrars; each takes the router out of it
    a = project(tmp_path, {
        "svc/__init__.py": "",
        "svc/api.py": """
            from fastapi import APIRouter, FastAPI


            class RestAPI:
                def __init__(self):
                    self._router = APIRouter()
                    self._app = FastAPI()

                def serve(self):
                    from .routers import wire_all

                    wire_all(self)
                    self._app.include_router(self._router, prefix="/v1")
                    return self._app
        """,
        "svc/routers/__init__.py": """
            from . import items, users


            def wire_all(api) -> None:
                items.wire(api)
                users.wire(api)
        """,
        "svc/routers/items.py": """
            async def list_items():
                return []


            def wire(api) -> None:
                router = api._router
                router.add_api_route("/items", list_items, methods=["GET"])
        """,
        "svc/routers/users.py": """
            async def list_users():
                return []


            def wire(api) -> None:
                api._router.add_api_route("/users", list_users, methods=["GET"])
        """,
    })
    assert sorted(routes(a)) == [("GET", "/v1/items"), ("GET", "/v1/users")]
    assert a.model.unresolved == ()


def test_a_handler_that_refuses_without_a_login_in_the_session_is_authenticated(tmp_path: Path) -> None:
    # Starlette's SessionMiddleware decodes the signed cookie and rejects nothing: the handler's own check is
    # the login; reading the session without refusing (``/visits``) is none
    a = project(tmp_path, {
        "web/__init__.py": "",
        "web/main.py": """
            from fastapi import FastAPI, HTTPException, Request
            from starlette.middleware.sessions import SessionMiddleware

            app = FastAPI()
            app.add_middleware(SessionMiddleware, secret_key="change-me")


            @app.post("/drafts")
            async def save_draft(request: Request, text: str):
                if request.session.get("user_id") is None:
                    raise HTTPException(status_code=401, detail="Login required")
                return {"owner": request.session["user_id"], "text": text}


            @app.post("/visits")
            async def count_visit(request: Request):
                request.session["visits"] = request.session.get("visits", 0) + 1
                return {"visits": request.session["visits"]}
        """,
    })
    drafts = [(v.kind, v.name) for v in only_route(a, "/drafts").auth.via if not v.optional]
    assert drafts == [("handler", "save_draft")]
    assert only_route(a, "/visits").auth.via == ()


def test_a_router_bound_in_each_branch_of_an_if_is_two_routers(tmp_path: Path) -> None:
    # ``router = APIRouter()`` in both branches of a module-level ``if``/``elif``, each handed to a helper that
    # registers on it: the helper's calls see the binding made before them, so each branch's router gets its
    # routes once (and nothing is registered twice on the last one)
    a = project(tmp_path, {
        "svc/__init__.py": "",
        "svc/conf.py": "import os\n\nWEB = os.environ.get('MODE') == 'web'\nAPI = not WEB\n",
        "svc/auto.py": """
            def add_item_routes(router) -> None:
                @router.get("/items/{item_id}")
                def get_item(item_id: int):
                    return {}
        """,
        "svc/main.py": """
            from fastapi import APIRouter, FastAPI

            from svc.auto import add_item_routes
            from svc.conf import API, WEB

            app = FastAPI()

            if WEB:
                router = APIRouter()
                add_item_routes(router)
                app.include_router(router, prefix="/web")
            elif API:
                router = APIRouter()
                add_item_routes(router)
                app.include_router(router, prefix="/api")
        """,
    })
    found = sorted((r.path, r.conditional) for r in a.model.routes)
    assert [p for p, _ in found] == ["/api/items/{item_id}", "/web/items/{item_id}"], found
    assert all(c for _, c in found), found


def test_route_without_dependencies_is_public(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from app.security import get_current_user, verify

            app = FastAPI()

            @app.get("/open")
            def open_(q: str | None = None): ...

            @app.get("/checked", dependencies=[Depends(verify)])
            def checked(): ...

            @app.get("/closed")
            def closed(user=Depends(get_current_user)): ...
        """,
    })
    rs = routes(a)
    assert rs[("GET", "/open")].auth.required is False
    assert rs[("GET", "/open")].auth.via == ()
    assert rs[("GET", "/open")].dependencies == ()
    # a dependency that reaches no security scheme does not make a route authenticated
    assert rs[("GET", "/checked")].auth.required is False
    assert [d.name for d in rs[("GET", "/checked")].dependencies] == ["app.security.verify"]
    assert rs[("GET", "/closed")].auth.required is True


def test_include_level_dependencies(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/items.py": """
            from fastapi import APIRouter

            router = APIRouter()

            @router.get("/items")
            def items(): ...
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from app.items import router
            from app.security import get_current_user, verify

            app = FastAPI()
            app.include_router(router, prefix="/plain", dependencies=[Depends(verify)])
            app.include_router(router, prefix="/secure", dependencies=[Depends(get_current_user)])
        """,
    })
    rs = routes(a)
    plain = rs[("GET", "/plain/items")]
    assert [(d.name, d.level) for d in plain.dependencies] == [("app.security.verify", "include")]
    assert plain.auth.required is False
    secure = rs[("GET", "/secure/items")]
    assert secure.auth.required is True
    [via] = secure.auth.via
    assert via.level == "include"
    assert via.chain == ("get_current_user", "oauth2_scheme")
    assert {d.level for d in secure.dependencies} == {"include"}


def test_include_step_names_its_dependencies(tmp_path: Path) -> None:
    # IncludeStep.dependencies should name the dependency callables, like DependencyUse.name
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from app.security import verify

            app = FastAPI()
            router = APIRouter(dependencies=[Depends(verify)])

            @router.get("/x")
            def x(): ...

            app.include_router(router, dependencies=[Depends(verify)])
        """,
    })
    r = only_route(a, "/x")
    assert r.include_chain[0].dependencies == ("app.security.verify",)
    [router] = [rt for rt in a.model.routers if not rt.is_app]
    assert router.dependencies == ("app.security.verify",)


def test_router_and_app_level_auth(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI, Security
            from app.security import get_current_user, oauth2_scheme

            app = FastAPI(dependencies=[Security(oauth2_scheme, scopes=["read"])])
            router = APIRouter(dependencies=[Depends(get_current_user)])

            @router.get("/r")
            def r(): ...

            app.include_router(router)
        """,
    })
    r = only_route(a, "/r")
    assert [v.level for v in r.auth.via] == ["app", "router"]
    assert r.auth.via[0].scopes == ("read",)


# ---------------------------------------------------------------------------
# imports


def test_relative_imports_and_init_reexports(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/auth.py": """
            from fastapi import Depends
            from fastapi.security import OAuth2PasswordBearer

            scheme = OAuth2PasswordBearer("token")

            def get_current_user(token: str = Depends(scheme)):
                return token
        """,
        "app/routers/__init__.py": """
            from .items import router as items_router
            from .orders import *
        """,
        "app/routers/items.py": """
            from fastapi import APIRouter, Depends
            from ..auth import get_current_user

            router = APIRouter(prefix="/items")

            @router.get("/")
            def list_items(user=Depends(get_current_user)): ...
        """,
        "app/routers/orders.py": """
            from fastapi import APIRouter, Depends
            from .. import auth

            __all__ = ["orders_router"]
            orders_router = APIRouter(prefix="/orders")

            @orders_router.get("/{order_id}")
            def get_order(order_id: int, user=Depends(auth.get_current_user)): ...
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from .routers import items_router, orders_router

            app = FastAPI()
            app.include_router(items_router)
            app.include_router(orders_router)
        """,
    })
    rs = routes(a)
    assert sorted(rs) == [("GET", "/items/"), ("GET", "/orders/{order_id}")]
    for r in rs.values():
        assert r.auth.required is True
        assert r.auth.via[0].chain == ("get_current_user", "scheme")
        assert r.auth.via[0].path == "app/auth.py"
    assert a.model.unresolved == ()


def test_unknown_include_is_unresolved_not_a_crash(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "main.py": """
            from fastapi import FastAPI
            from somewhere_else import router

            app = FastAPI()

            @app.get("/here")
            def here(): ...

            app.include_router(router)
            app.include_router(get_router())
        """,
    })
    assert sorted(routes(a)) == [("GET", "/here")]
    whats = [u.what for u in a.model.unresolved]
    assert any("get_router()" in w for w in whats), whats


@pytest.mark.parametrize("init_import", ["from . import items", "from app.routers import items"])
def test_package_init_importing_its_own_submodule(tmp_path: Path, init_import: str) -> None:
    # ``app/routers/__init__.py: from . import items`` is a common way to expose submodules
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/routers/__init__.py": init_import + "\n",
        "app/routers/items.py": """
            from fastapi import APIRouter

            router = APIRouter(prefix="/items")

            @router.get("/")
            def list_items(): ...
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from app.routers import items

            app = FastAPI()
            app.include_router(items.router)
        """,
    })
    assert sorted(routes(a)) == [("GET", "/items/")]


def test_package_reexports_reached_through_attributes(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/routers/__init__.py": "from .items import router as items_router\nfrom .users import *\n",
        "app/routers/items.py": """
            from fastapi import APIRouter

            router = APIRouter(prefix="/items")

            @router.get("/")
            def list_items(): ...
        """,
        "app/routers/users.py": """
            from fastapi import APIRouter

            users_router = APIRouter(prefix="/users")

            @users_router.get("/")
            def list_users(): ...
        """,
        "app/main.py": """
            import app.routers
            from fastapi import FastAPI
            from app import routers

            application = FastAPI()
            application.include_router(routers.items_router)
            application.include_router(app.routers.users_router)
        """,
    })
    assert sorted(routes(a)) == [("GET", "/items/"), ("GET", "/users/")]


def test_shared_dependency_classified_per_route_path_parameters(tmp_path: Path) -> None:
    """A dependency's classification is remembered by the path parameters that are its own
    parameters: the routes share it, and ``item_id`` is still a path parameter only where the
    route's path has it (another route's unrelated path parameter changes nothing)."""
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import Depends, FastAPI

            app = FastAPI()

            def get_item(item_id: int, verbose: bool = False):
                return item_id

            @app.get("/items/{item_id}")
            def read(item=Depends(get_item)): ...

            @app.get("/users/{user_id}")
            def user(user_id: int, item=Depends(get_item)): ...

            @app.get("/other")
            def other(item=Depends(get_item)): ...

            @app.get("/again/{item_id}")
            def again(item=Depends(get_item)): ...
        """,
    })
    sources = {path: {p.name: p.source for p in r.params} for (_, path), r in routes(a).items()}
    assert sources["/items/{item_id}"] == {"item": "dependency", "item_id": "path", "verbose": "query"}
    assert sources["/again/{item_id}"] == sources["/items/{item_id}"]
    assert sources["/users/{user_id}"] == {"user_id": "path", "item": "dependency", "item_id": "query",
                                           "verbose": "query"}
    assert sources["/other"] == {"item": "dependency", "item_id": "query", "verbose": "query"}


# ---------------------------------------------------------------------------
# the interpreter's memo: a reused result is the one computing it again would give

FIXTURE_ROOTS = sorted(p for p in (Path(__file__).parent / "fixtures").iterdir() if p.is_dir()) + [
    Path(__file__).resolve().parents[1] / "examples" / "bookstore"]


def _link_without_memo_hits(facts, monkeypatch: pytest.MonkeyPatch):
    from fastapi_arch_lint.link import Linker, interpreter

    with monkeypatch.context() as m:
        m.setattr(interpreter.Interpreter, "recall", lambda self, memo, key, depth: interpreter._MISS)
        return Linker(facts).link()


@pytest.mark.parametrize("root", FIXTURE_ROOTS, ids=lambda p: p.name)
def test_memo_hits_change_nothing(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_arch_lint.link import Linker

    facts = [m.facts for m in analyze([root], jobs=1).model.modules]
    with_memo = Linker(facts).link()
    assert _link_without_memo_hits(facts, monkeypatch) == with_memo
    assert with_memo.routes  # the comparison is about something


def test_memo_respects_the_depth_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name resolved shallowly is remembered (with the levels it needed); reached again from deep
    inside a longer chain of aliases it must hit the depth limit as it would without the memo."""
    from fastapi_arch_lint.link import Linker
    from fastapi_arch_lint.link.interpreter import MAX_EVAL_DEPTH

    n = MAX_EVAL_DEPTH + 6
    chain = "\n".join(f"P{i} = P{i - 1}" for i in range(1, n))
    files = {
        "app/__init__.py": "",
        "app/prefixes.py": f'P0 = "/deep"\n{chain}\n',
        # a use that needs most of the depth limit first (remembered), then a longer chain through it
        "app/main.py": """
            from fastapi import APIRouter, FastAPI
            from app import prefixes
            app = FastAPI()
            shallow = APIRouter(prefix=prefixes.P%d)
            deep = APIRouter(prefix=prefixes.P%d)

            @shallow.get("/a")
            def a(): ...

            @deep.get("/b")
            def b(): ...

            app.include_router(shallow)
            app.include_router(deep)
        """ % (MAX_EVAL_DEPTH - 4, n - 1),
    }
    analysis = project(tmp_path, files)
    facts = [m.facts for m in analysis.model.modules]
    with_memo = Linker(facts).link()
    without = _link_without_memo_hits(facts, monkeypatch)
    assert without == with_memo
    paths = sorted(r.path for r in with_memo.routes)
    assert "/deep/a" in paths
    assert not any(p == "/deep/b" for p in paths)  # too deep to resolve, with or without the memo


# ---------------------------------------------------------------------------
# what the linker records for the rules


def test_module_and_class_level_calls_are_resolved(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/config.py": """
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                DEBUG: bool = True

            settings = Settings()
        """,
        "app/main.py": """
            import httpx
            from fastapi.applications import FastAPI
            from passlib.context import CryptContext

            from .config import settings

            app = FastAPI(debug=settings.DEBUG)
            client = httpx.Client()
            client.get("https://example.com")

            class Hashing:
                ctx = CryptContext(schemes=["bcrypt"])
        """,
    })
    got = [(c.module, c.line, c.target) for c in a.model.values.module_calls()]
    assert got == [
        ("app.config", 6, "app.config.Settings"),
        ("app.main", 7, "fastapi.applications.FastAPI"),  # as imported: what the hardening rules match
        ("app.main", 8, "httpx.Client"),
        ("app.main", 9, "httpx.Client().get"),
        ("app.main", 12, "passlib.context.CryptContext"),
    ]
    call = a.model.values.module_calls()[1].call
    assert a.model.values.value(call.kwarg("debug"), "app.main") is True  # the settings field's default


def test_values_are_python_constants(tmp_path: Path) -> None:
    from fastapi_arch_lint.model.app import UNKNOWN
    from fastapi_arch_lint.model.expr import Name

    a = project(tmp_path, {
        "m.py": """
            import os
            from fastapi import FastAPI

            ORIGINS = ["https://a.example"] + ["https://b.example"]
            OPTIONS = dict(verify_signature=False, key=os.environ)
            HOST = "db"
            URL = f"postgresql://{HOST}/x"
            app = FastAPI()

            def f(token):
                algorithms = None
                algorithms = ("HS256",)
                return algorithms
        """,
    })
    values, f = a.model.values, a.model.functions["m.f"]
    assert values.value(Name("ORIGINS"), "m") == ("https://a.example", "https://b.example")
    assert values.value(Name("OPTIONS"), "m") == {"verify_signature": False, "key": UNKNOWN}
    assert values.value(Name("URL"), "m") == "postgresql://db/x"
    assert values.value(Name("app"), "m") is UNKNOWN and values.instance_of(Name("app"), "m") == "fastapi.FastAPI"
    assert values.value(Name("algorithms"), "m", f, 11) is None  # the binding closest before the line
    assert values.value(Name("algorithms"), "m", f, 13) == ("HS256",)
    assert values.value(Name("token"), "m", f, 13) is UNKNOWN  # a parameter
    assert values.value(Name("f"), "m") is UNKNOWN


def test_registrations_in_a_helper_that_receives_the_app(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/setup.py": """
            from fastapi import APIRouter, FastAPI

            def add_routers(app: FastAPI, api: APIRouter, prefix: str = "/v1") -> None:
                app.include_router(api, prefix=prefix)

            def add_health(app: FastAPI) -> None:
                @app.get("/health")
                def health() -> dict:
                    return {}

            def never_called(app: FastAPI) -> None:
                app.include_router(APIRouter())
        """,
        "app/main.py": """
            from fastapi import APIRouter, FastAPI
            from app.setup import add_health, add_routers

            api = APIRouter()

            @api.get("/items")
            def items() -> list:
                return []

            def create_app() -> FastAPI:
                app = FastAPI()
                add_routers(app, api)
                add_routers(app, api, prefix="/v2")
                add_health(app)
                return app

            app = create_app()
        """,
    })
    assert sorted(routes(a)) == [("GET", "/health"), ("GET", "/v1/items"), ("GET", "/v2/items")]
    notes = [(u.what, u.reason) for u in a.model.unresolved]
    assert any("never_called" in reason and "no call of it was found" in reason for _, reason in notes), notes


def test_a_helper_that_includes_many_routers_is_followed_at_each_call(tmp_path: Path) -> None:
    # an app factory that wires ninety routers through one helper: every one is served (fifty calls were followed)
    routers = "from fastapi import APIRouter\n" + "".join(
        f"r{i} = APIRouter(prefix='/r{i}')\n\n\n@r{i}.get('')\ndef read_{i}() -> dict:\n    return {{}}\n\n\n"
        for i in range(90))
    calls = "".join(f"    include_prefixed(application, routers.r{i})\n" for i in range(90))
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/setup.py": (
            "from fastapi import APIRouter, FastAPI\n\n\n"
            "def include_prefixed(application: FastAPI, router: APIRouter, **kwargs) -> None:\n"
            "    application.include_router(router, prefix='/api', **kwargs)\n"),
        "app/routers.py": routers,
        "app/main.py": (
            "from fastapi import FastAPI\nfrom app import routers\nfrom app.setup import include_prefixed\n\n\n"
            "def create_app() -> FastAPI:\n    application = FastAPI()\n" + calls +
            "    return application\n\n\napp = create_app()\n"),
    })
    assert len(routes(a)) == 90
    assert ("GET", "/api/r89") in routes(a)


def test_routers_included_at_startup_through_helpers(tmp_path: Path) -> None:
    # FastAPI calls `lifespan(app)` at startup; the lifespan hands the app to a startup helper, which hands
    # it to the function that includes the routers: three helpers, each passing on its own parameter
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/core.py": (
            "from http import HTTPStatus\n\n"
            "from fastapi import APIRouter, FastAPI\n\n"
            "wallets = APIRouter(prefix='/wallets')\n\n\n"
            "@wallets.post('', status_code=HTTPStatus.CREATED)\n"
            "def create_wallet() -> dict:\n    return {}\n\n\n"
            "def init_routers(app: FastAPI) -> None:\n    app.include_router(wallets, prefix='/api')\n"),
        "app/main.py": (
            "from contextlib import asynccontextmanager\n\n"
            "from fastapi import FastAPI\n\n"
            "from app.core import init_routers\n\n\n"
            "async def startup(app: FastAPI) -> None:\n    init_routers(app)\n\n\n"
            "@asynccontextmanager\n"
            "async def lifespan(app: FastAPI):\n    await startup(app)\n    yield\n\n\n"
            "def create_app() -> FastAPI:\n    app = FastAPI(lifespan=lifespan)\n    return app\n\n\n"
            "app = create_app()\n"),
    })
    assert sorted(routes(a)) == [("POST", "/api/wallets")]
    route = a.model.apps[0].routes[0]
    assert route.status_code == 201  # `HTTPStatus.CREATED`, the standard library's enum
    assert not [u for u in a.model.unresolved if "include" in u.what], a.model.unresolved
    # in the route order, the include runs where the helpers are called: at startup, after the imports
    assert [s[4].split("@")[0] for s in route.order_key] == ["<startup>", "lifespan", "startup", "init_routers", ""]


def test_table_columns_inherited_through_abstract_bases_in_declarative_order(tmp_path: Path) -> None:
    """Columns of mixins and abstract bases reach a table however deep they are declared; SQLAlchemy's
    declarative puts them after the class's own (checked with SQLAlchemy 2.1: ``['a', 'b', 'id',
    'created']`` below), SQLModel, a Pydantic model, before them (``['id', 'name', 'team_id']``). A
    mapped parent's columns stay in the parent's table under joined inheritance."""
    project(tmp_path, {
        "app/models.py": """
            import uuid
            from sqlalchemy import ForeignKey, Integer, Uuid
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
            from sqlmodel import Field, SQLModel

            class Base(DeclarativeBase):
                pass

            class IDModel(Base):
                __abstract__ = True
                id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)

            class Stamped(Base):
                __abstract__ = True
                created: Mapped[int] = mapped_column(Integer)

            class RecordModel(IDModel, Stamped):
                __abstract__ = True

            class Parent(RecordModel):
                __tablename__ = "parents"

            class Link(RecordModel):
                __tablename__ = "links"
                a: Mapped[int] = mapped_column(ForeignKey("parents.id"), primary_key=True)
                b: Mapped[int] = mapped_column(ForeignKey("parents.id"), primary_key=True)

            class Child(Parent):
                __tablename__ = "children"
                id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parents.id"), primary_key=True)
                extra: Mapped[int] = mapped_column(Integer)

            class IDBase(SQLModel):
                id: int | None = Field(default=None, primary_key=True)

            class Team(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)

            class Hero(IDBase, table=True):
                name: str
                team_id: int = Field(foreign_key="team.id", primary_key=True)
        """,
    })
    tables = {t.name: t for t in analyze([tmp_path / "app"], base=tmp_path).model.tables}
    assert [c.name for c in tables["Link"].columns] == ["a", "b", "id", "created"]
    assert [c.name for c in tables["Link"].columns if c.primary_key] == ["a", "b", "id"]
    assert [c.name for c in tables["Parent"].columns] == ["id", "created"]
    assert [c.name for c in tables["Child"].columns] == ["id", "extra"]
    assert [c.name for c in tables["Hero"].columns] == ["id", "name", "team_id"]


def test_names_rebound_later_in_the_module_as_the_import_sees_them(tmp_path: Path) -> None:
    """A handler named like the dependency it imports (``def get_current_user(user=Depends(get_current_user))``,
    the classic ``/me``): its own default names the imported function, bound before the ``def`` completes;
    routes further down depend on the handler, which still requires it. A module constant read before the
    name is rebound (``prefix = config.prefix`` above ``config = load(...)``) reads the earlier binding."""
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/auth.py": """
            from fastapi import Depends
            from fastapi.security import OAuth2PasswordBearer

            scheme = OAuth2PasswordBearer(tokenUrl="/token")


            def get_current_user(token: str = Depends(scheme)) -> str:
                return token
        """,
        "app/config.py": """
            class Settings:
                prefix = "/api"


            def get_settings() -> Settings:
                return Settings()
        """,
        "app/users.py": """
            from fastapi import APIRouter, Depends

            from app.auth import get_current_user

            router = APIRouter()


            @router.get("/users/me")
            def get_current_user(user: str = Depends(get_current_user)):
                return user


            @router.delete("/users/{uid}")
            def delete_user(uid: int, user: str = Depends(get_current_user)):
                return None
        """,
        "app/main.py": """
            from fastapi import FastAPI

            from app import users
            from app.config import get_settings

            config = get_settings()
            prefix = config.prefix
            app = FastAPI()
            app.include_router(users.router, prefix=prefix)
            config = dict(unused=True)
        """,
    })
    by = routes(a)
    me = by[("GET", "/api/users/me")]
    assert me.auth.required, me.auth
    assert [d.name for d in me.dependencies][:1] == ["app.auth.get_current_user"]
    assert by[("DELETE", "/api/users/{uid}")].auth.required


def test_app_rebound_to_what_a_helper_returns_inside_the_factory(tmp_path: Path) -> None:
    """``app = instrument(app)`` inside the app factory, after the includes: the helper's argument is the
    app made before (a statement's value is evaluated before its own binding), so the returned app is
    the one the routers were included into, not a recursive definition."""
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/items.py": """
            from fastapi import APIRouter

            router = APIRouter(prefix="/items")


            @router.get("/{item_id}")
            def read_item(item_id: int): ...
        """,
        "app/main.py": """
            from fastapi import FastAPI

            from app import items


            def instrument(app):
                for middleware in app.user_middleware:
                    middleware.kwargs["timed"] = True
                return app


            def get_app() -> FastAPI:
                app = FastAPI()
                app.include_router(items.router)
                app = instrument(app)
                return app


            app = get_app()
        """,
    })
    assert set(routes(a)) == {("GET", "/items/{item_id}")}
