"""Router, app and route classes with ``__init__`` overrides, and class-based views, through the linker.

The oracle fixtures ``router_classes_app`` and ``class_views_app`` check the common patterns against
FastAPI's runtime table; these cover the variants FastAPI cannot import here (``fastapi_utils`` and
``fastapi_restful`` are not installed) and what must stay unresolved. Expectations were checked against
FastAPI 0.165's behaviour for the same code where it can run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_arch_lint.engine import Analysis
from fastapi_arch_lint.model.app import Route
from projects import project

SECURITY = """
    from fastapi import Depends, HTTPException
    from fastapi.security import OAuth2PasswordBearer

    oauth2 = OAuth2PasswordBearer(tokenUrl="token")

    def current_user(token: str = Depends(oauth2)):
        return token

    def get_db():
        yield None
"""


def routes(analysis: Analysis) -> dict[tuple[str, str], Route]:
    return {(",".join(r.methods), r.path): r for r in analysis.model.routes}


def schemes(analysis: Analysis) -> dict[tuple[str, str], bool]:
    return {k: r.auth.scheme for k, r in routes(analysis).items()}


def notes(analysis: Analysis) -> list[tuple[str, str]]:
    return [(u.what, u.reason) for u in analysis.model.unresolved]


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


# ---------------------------------------------------------------------------
# router classes


def test_router_subclass_init_adds_dependencies_and_keeps_the_callers_prefix(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/routers.py": """
            from fastapi import APIRouter, Depends
            from app.security import current_user

            class PrivateRouter(APIRouter):
                def __init__(self, prefix: str = "", **kwargs):
                    super().__init__(prefix=prefix, dependencies=[Depends(current_user)], **kwargs)
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from app.routers import PrivateRouter

            notes = PrivateRouter(prefix="/notes")

            @notes.get("")
            def list_notes(): ...

            app = FastAPI()
            app.include_router(notes)
        """,
    })
    assert schemes(a) == {("GET", "/notes"): True}
    assert notes(a) == []


def test_explicit_base_init_call_and_cooperative_mixin(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from app.security import current_user

            class Versioned:
                def __init__(self, *args, version: str = "v1", **kwargs):
                    kwargs["prefix"] = "/api/" + version   # not modelled: a subscript store
                    super().__init__(*args, **kwargs)

            class Tagged(APIRouter):
                def __init__(self, tag: str, **kwargs):
                    APIRouter.__init__(self, tags=[tag], dependencies=[Depends(current_user)], **kwargs)

            class Api(Versioned, Tagged):
                pass

            class Plain(Tagged):
                def __init__(self, **kwargs):
                    kwargs.update(prefix="/plain")
                    super().__init__("plain", **kwargs)

            api = Api("things", version="v2")
            plain = Plain()

            @api.get("/x")
            def x(): ...

            @plain.get("/y")
            def y(): ...

            app = FastAPI()
            app.include_router(api)
            app.include_router(plain)
        """,
    })
    got = routes(a)
    assert got[("GET", "/plain/y")].auth.scheme and got[("GET", "/plain/y")].tags == ("plain",)
    # the mixin's prefix is set through a subscript: the route is there, its prefix unresolved (noted)
    [x] = [r for k, r in got.items() if r.handler.qualname == "app.main.x"]
    assert x.auth.scheme
    assert any(w == "prefix of `Api(...)`" and "kwargs['prefix']" in r for w, r in notes(a)), notes(a)


def test_options_passed_through_an_unknown_spread_are_unresolved(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from app.security import current_user

            class Guarded(APIRouter):
                def __init__(self, **kwargs):
                    super().__init__(dependencies=[Depends(current_user)], **kwargs)

            def settings():
                return load_options()

            r = Guarded(**settings())

            @r.get("/z")
            def z(): ...

            app = FastAPI()
            app.include_router(r)
        """,
    })
    [z] = a.model.routes
    assert z.auth.scheme  # the class's own dependency is known; the prefix may come from the spread (noted)
    assert any(w == "prefix of `Guarded(...)`" for w, _ in notes(a)), notes(a)


def test_app_subclass_init_adds_app_dependencies(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from app.security import current_user

            class SecureApp(FastAPI):
                def __init__(self, **kwargs):
                    kwargs.setdefault("dependencies", [Depends(current_user)])
                    super().__init__(**kwargs)

            app = SecureApp(title="x")

            @app.get("/a")
            def a_(): ...
        """,
    })
    assert schemes(a) == {("GET", "/a"): True}


def test_route_class_that_replaces_the_routers_dependencies_is_unresolved(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from fastapi.routing import APIRoute
            from app.security import current_user, get_db

            class DbRoute(APIRoute):
                def __init__(self, path, endpoint, **kwargs):
                    kwargs.pop("dependencies", None)
                    super().__init__(path, endpoint, dependencies=[Depends(get_db)], **kwargs)

            r = APIRouter(route_class=DbRoute, dependencies=[Depends(current_user)])

            @r.get("/d")
            def d(): ...

            app = FastAPI()
            app.include_router(r)
        """,
    })
    assert any(w == "dependencies of route class `DbRoute`" and "replaces" in r for w, r in notes(a)), notes(a)


# ---------------------------------------------------------------------------
# class-based views


def test_library_cbv_annotated_attributes_are_dependencies(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/base.py": """
            from fastapi import Depends
            from app.security import current_user, get_db

            class Session:
                def __init__(self, user: str = Depends(current_user)): ...

            class Base:
                db = Depends(get_db)          # not annotated: not a parameter of the view
                session: Session = Depends()  # the annotation is the dependency
        """,
        "app/items.py": """
            from fastapi import APIRouter
            from fastapi_utils.cbv import cbv
            from fastapi_utils.inferring_router import InferringRouter
            from app.base import Base

            router = InferringRouter(prefix="/items")

            @cbv(router)
            class Items(Base):
                @router.get("")
                def list_items(self, limit: int = 10): ...

            other = APIRouter()

            @cbv(other)
            class Public:
                @other.get("/public")
                def public(self): ...
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from app import items

            app = FastAPI()
            app.include_router(items.router)
            app.include_router(items.other)
        """,
    })
    got = routes(a)
    assert got[("GET", "/items")].auth.scheme
    assert [p.name for p in got[("GET", "/items")].params] == ["limit"]  # no ``self``
    assert "app.security.get_db" not in [d.name for d in got[("GET", "/items")].dependencies]
    assert not got[("GET", "/public")].auth.scheme
    assert [p.name for p in got[("GET", "/public")].params] == []


def test_library_cbv_urls_register_methods_named_after_http_methods(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from fastapi_restful.cbv import cbv
            from app.security import current_user

            router = APIRouter()

            @cbv(router, "/things", "/stuff")
            class Things:
                user: str = Depends(current_user)

                def get(self): ...
                def delete(self, thing_id: int): ...
                def helper(self): ...

            app = FastAPI()
            app.include_router(router)
        """,
    })
    assert schemes(a) == {("GET", "/things"): True, ("DELETE", "/things"): True,
                          ("GET", "/stuff"): True, ("DELETE", "/stuff"): True}


def test_project_decorator_not_seen_rewriting_self_is_unresolved(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from app.security import current_user

            def register(router):
                def wrap(cls):
                    cls.router = router
                    return cls
                return wrap

            router = APIRouter()

            @register(router)
            class Views:
                user: str = Depends(current_user)

                @router.get("/v")
                def v(self): ...

            app = FastAPI()
            app.include_router(router)
        """,
    })
    [v] = a.model.routes
    assert v.path == "/v" and not v.auth.scheme
    assert [w for w, _ in notes(a)] == ["class decorator `@register(...)` on `Views`"], notes(a)


def test_view_in_a_factory_function_and_a_route_on_another_router(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from fastapi_utils.cbv import cbv
            from app.security import current_user

            side = APIRouter()

            def build():
                router = APIRouter(prefix="/made")

                @cbv(router)
                class Made:
                    user: str = Depends(current_user)

                    @router.get("/one")
                    def one(self): ...

                    @side.get("/side")
                    def two(self): ...

                return router

            app = FastAPI()
            app.include_router(build())
            app.include_router(side)
        """,
    })
    got = routes(a)
    assert got[("GET", "/made/one")].auth.scheme
    # a route on another router is not rewritten: ``self`` is a query parameter, no class dependency
    assert not got[("GET", "/side")].auth.scheme
    assert [p.name for p in got[("GET", "/side")].params] == ["self"]


def test_project_wrapper_of_the_library_cbv_and_router_by_keyword(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/web.py": """
            from fastapi_restful.cbv import cbv

            def resource(router):
                return cbv(router)
        """,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from fastapi_utils.cbv import cbv
            from app.security import current_user
            from app.web import resource

            router = APIRouter()

            @resource(router=router)
            class Things:
                user: str = Depends(current_user)

                @router.get("/things")
                def things(self): ...

            @cbv(router=router)
            class Others:
                user: str = Depends(current_user)

                @router.get("/others")
                def others(self): ...

            app = FastAPI()
            app.include_router(router)
        """,
    })
    assert schemes(a) == {("GET", "/things"): True, ("GET", "/others"): True}
    assert notes(a) == []


def test_router_class_including_routers_in_init(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/parts.py": """
            from fastapi import APIRouter

            users = APIRouter(prefix="/users")

            @users.get("")
            def list_users(): ...
        """,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from app import parts
            from app.security import current_user

            class Api(APIRouter):
                def __init__(self, **kwargs):
                    super().__init__(prefix="/api", **kwargs)
                    self.include_router(parts.users, prefix="/v1")
                    self.add_api_route("/me", self.me, dependencies=[Depends(current_user)])

                def me(self, verbose: bool = False): ...

            app = FastAPI()
            app.include_router(Api())
        """,
    })
    got = routes(a)
    assert sorted(got) == [("GET", "/api/me"), ("GET", "/api/v1/users")]
    assert got[("GET", "/api/me")].auth.scheme and [p.name for p in got[("GET", "/api/me")].params] == ["verbose"]
    assert notes(a) == []


def test_a_class_decorator_taking_a_router_without_route_methods_is_quiet(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import APIRouter, FastAPI

            def crud(router):
                def add(model):
                    router.add_api_route("/" + model.__name__.lower(), lambda: [])
                    return model
                return add

            router = APIRouter()

            @crud(router)
            class Item:
                name: str = ""

            @router.get("/plain")
            def plain(): ...

            app = FastAPI()
            app.include_router(router)
        """,
    })
    assert sorted(routes(a)) == [("GET", "/plain")]
    assert not any("class decorator" in w for w, _ in notes(a)), notes(a)


def test_what_a_project_decorator_reads_decides_unannotated_attributes(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/views.py": """
            import inspect
            from fastapi import Depends, params

            def view_by_dict(router):
                def decorate(cls):
                    deps = {k: v for k, v in vars(cls).items() if isinstance(v, params.Depends)}
                    cls.__signature__ = inspect.Signature(
                        [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v) for k, v in deps.items()])
                    for route in router.routes:
                        route.endpoint.__signature__ = inspect.signature(route.endpoint).replace(
                            parameters=[inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                          default=Depends(cls))])
                    return cls
                return decorate

            def view_unclear(router):
                def decorate(cls):
                    for route in router.routes:
                        route.endpoint.__signature__ = _signature_for(cls, route.endpoint)
                    return cls
                return decorate

            def _signature_for(cls, endpoint):
                return inspect.signature(endpoint).replace(parameters=[
                    inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=Depends(cls))])
        """,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from app.security import current_user
            from app.views import view_by_dict, view_unclear

            one = APIRouter()
            two = APIRouter()

            @view_by_dict(one)
            class One:
                user = Depends(current_user)

                @one.get("/one")
                def get_one(self): ...

            @view_unclear(two)
            class Two:
                user = Depends(current_user)

                @two.get("/two")
                def get_two(self): ...

            app = FastAPI()
            app.include_router(one)
            app.include_router(two)
        """,
    })
    assert schemes(a) == {("GET", "/one"): True, ("GET", "/two"): False}
    assert [w for w, _ in notes(a)] == ["attribute `user` of `Two`"], notes(a)


def test_factory_made_router_class_and_conditional_options(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/security.py": SECURITY,
        "app/routing.py": """
            from fastapi import APIRouter, Depends

            def guarded_by(dependency):
                class Guarded(APIRouter):
                    def __init__(self, *, dependencies=None, private: bool = True, **kwargs):
                        extra = [Depends(dependency)] if private else []
                        super().__init__(dependencies=(dependencies or []) + extra, **kwargs)
                return Guarded
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from app.routing import guarded_by
            from app.security import current_user, get_db

            UserRouter = guarded_by(current_user)
            users = UserRouter(prefix="/users")
            public = UserRouter(prefix="/public", private=False, dependencies=[Depends(get_db)])

            @users.get("")
            def list_users(): ...

            @public.get("")
            def list_public(): ...

            app = FastAPI()
            app.include_router(users)
            app.include_router(public)
        """,
    })
    assert schemes(a) == {("GET", "/users"): True, ("GET", "/public"): False}
    assert [d.name for d in routes(a)[("GET", "/public")].dependencies] == ["app.security.get_db"]
    assert notes(a) == []


# ---------------------------------------------------------------------------
# routers kept on instances (the common patterns are in the oracle fixture ``instance_routers_app``)


def test_self_router_a_subclass_replaces_stays_unresolved(tmp_path: Path) -> None:
    """``self.router`` in a base class's method stands for whatever each subclass sets: when one sets
    its own, which router the base registers on depends on the instance, so nothing is guessed."""
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import APIRouter, FastAPI

            class Base:
                def __init__(self):
                    self.router = APIRouter(prefix="/base")
                    self.router.add_api_route("/ping", self.ping)

                def ping(self):
                    return "pong"

            class Special(Base):
                def __init__(self):
                    super().__init__()
                    self.router = APIRouter(prefix="/special")

            app = FastAPI()
            app.include_router(Special().router)
        """,
    })
    assert sorted(routes(a)) == []
    assert ("included router `Special().router`", "`self.router` is set to 2 different values") in notes(a), notes(a)


def test_self_attribute_set_to_two_values_is_not_guessed(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import APIRouter, FastAPI

            class Views:
                def __init__(self, public: bool):
                    self.router = APIRouter(prefix="/open")
                    if not public:
                        self.router = APIRouter(prefix="/closed")
                    self.router.add_api_route("/items", self.items)

                def items(self):
                    return []

            app = FastAPI()
            app.include_router(Views(True).router)
        """,
    })
    assert sorted(routes(a)) == []
    assert any("2 different values" in r for _, r in notes(a)), notes(a)
