"""Python's module system as the linker follows it: namespace packages, ``src/`` layouts, relative
imports past ``__init__`` re-exports, ``__all__`` with star imports, ``import a.b as c`` and
``import a.b`` followed by ``a.b.router``. tests/fixtures/modules_app has them all in one app and is
compared with FastAPI's runtime table in tests/test_oracle.py; these are the small cases, each
checked against what Python itself binds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_arch_lint.engine import Analysis, analyze
from fastapi_arch_lint.model.unresolved import routing_gaps
from projects import project

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "modules_app"


def table(a: Analysis) -> dict[str, bool]:
    """``{"GET /path": has a security scheme}`` of every route."""
    return {f"{','.join(r.methods) or 'WS'} {r.path}": r.auth.scheme for r in a.model.routes}


def runtime_table(root: Path, target: str) -> dict[str, bool]:
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "oracle_dump.py"), str(root), target],
                          capture_output=True, text=True, timeout=120, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return {f"{','.join(r['methods']) or 'WS'} {r['path']}": r["auth"] for r in json.loads(proc.stdout)
            if r["kind"] != "docs"}  # FastAPI's own pages: tests/test_builtin_routes.py


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


ROUTER = """
    from fastapi import APIRouter, Depends
    from fastapi.security import HTTPBearer

    bearer = HTTPBearer()
    router = APIRouter(prefix="/{name}")


    @router.get("/")
    async def index():
        return []
"""


def test_namespace_package_every_import_form(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI

            import app.routers.health
            import app.routers.orders as orders
            from app.routers import items

            api = FastAPI()
            api.include_router(items.router)
            api.include_router(orders.router)
            api.include_router(app.routers.health.router)
        """,
    }
    for name in ("items", "orders", "health"):  # app/routers/ has no __init__.py
        files[f"app/routers/{name}.py"] = ROUTER.replace("{name}", name)
    a = project(tmp_path, files)
    assert table(a) == {"GET /items/": False, "GET /orders/": False, "GET /health/": False}
    assert a.model.unresolved == ()
    assert table(a) == runtime_table(tmp_path, "app.main:api")


def test_a_project_without_any_init_file(tmp_path: Path) -> None:
    files = {
        "service/main.py": """
            from fastapi import FastAPI

            from service.routers import items

            app = FastAPI()
            app.include_router(items.router, prefix="/v1")
        """,
        "service/routers/items.py": ROUTER.replace("{name}", "items"),
    }
    a = project(tmp_path, files)
    assert table(a) == {"GET /v1/items/": False}
    assert table(a) == runtime_table(tmp_path, "service.main:app")


STAR = {
    "app/__init__.py": "",
    "app/security/__init__.py": """
        from .tokens import *
        from .staff import *
    """,
    "app/security/tokens.py": """
        from fastapi import Depends
        from fastapi.security import OAuth2PasswordBearer

        __all__ = ("scheme", "require_user")

        scheme = OAuth2PasswordBearer(tokenUrl="/token")


        def require_user(token: str = Depends(scheme)):
            return token


        def require_staff(token: str = Depends(scheme)):  # not exported
            return token


        def require_auditor(token: str = Depends(scheme)):  # not exported either
            return token
    """,
    "app/security/staff.py": """
        from fastapi import Header

        def require_staff(x_office: str = Header(...)):
            return x_office


        def _require_auditor(x_office: str = Header(...)):  # private: not exported without __all__
            return x_office
    """,
    "app/main.py": """
        from fastapi import Depends, FastAPI

        from app.security import require_staff, require_user

        app = FastAPI()


        @app.get("/me", dependencies=[Depends(require_user)])
        async def me():
            return {}


        @app.get("/staff", dependencies=[Depends(require_staff)])
        async def staff():
            return {}
    """,
}


def test_star_imports_bind_what_all_exports_and_the_last_one_wins(tmp_path: Path) -> None:
    a = project(tmp_path, STAR)
    assert table(a) == {"GET /me": True, "GET /staff": False}
    assert table(a) == runtime_table(tmp_path, "app.main:app")


def test_a_name_no_star_import_exports_is_not_found_through_them(tmp_path: Path) -> None:
    files = dict(STAR)
    files["app/main.py"] = """
        from fastapi import Depends, FastAPI

        import app.security as security

        app = FastAPI()


        @app.get("/audit", dependencies=[Depends(security.require_auditor)])
        async def audit():
            return {}
    """
    a = project(tmp_path, files)
    # at runtime this is an AttributeError at import: the model must not pick tokens.require_auditor
    [route] = a.model.routes
    assert not route.auth.scheme
    assert [(d.kind, d.name) for d in route.dependencies] == [("unknown", "`require_auditor` is not defined in `app.security`")]
    gaps = routing_gaps(a.model)  # and review says so
    assert [k for k, _ in gaps.notes] == ["dependencies"] and gaps.routes == 1


def test_relative_import_past_two_init_reexports(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/api/__init__.py": "from .v1 import router\n",
        "pkg/api/v1/__init__.py": "from .users import router\n",
        "pkg/api/v1/users.py": ROUTER.replace("{name}", "users"),
        "pkg/web/__init__.py": "",
        "pkg/web/site.py": """
            from fastapi import FastAPI

            from ..api import router as api_router

            app = FastAPI()
            app.include_router(api_router, prefix="/api")
        """,
    })
    assert table(a) == {"GET /api/users/": False}


@pytest.mark.parametrize("entry", [
    '("pkg.api.items", "router")',  # module and attribute
    '"pkg.api.items:router"',  # one string
    '(".items", "router")',  # relative to the package, as ``import_module(".items", __name__)``
])
def test_a_package_that_exports_its_routers_lazily_through_module_getattr(tmp_path: Path, entry: str) -> None:
    # PEP 562: ``pkg/api/__init__.py`` lists what it exports and imports it on first access
    importer = ("importlib.import_module(module_name, __name__)" if entry.startswith('(".')
                else "__import__(module_name, fromlist=[attr_name])")
    split = ('module_name, attr_name = target.split(":") if isinstance(target, str) else target'
             if ":" in entry else "module_name, attr_name = target")
    a = project(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/api/__init__.py": f"""
            import importlib

            _LAZY = {{
                "items_router": {entry},
            }}
            __all__ = list(_LAZY)


            def __getattr__(name):
                target = _LAZY.get(name)
                if target is None:
                    raise AttributeError(name)
                {split}
                module = {importer}
                return getattr(module, attr_name)
        """,
        "pkg/api/items.py": ROUTER.replace("{name}", "items"),
        "pkg/main.py": """
            from fastapi import FastAPI

            from pkg.api import items_router

            app = FastAPI()
            app.include_router(items_router, prefix="/v1")
        """,
    })
    assert table(a) == {"GET /v1/items/": False}
    assert a.model.unresolved == ()
    assert table(a) == runtime_table(tmp_path, "pkg.main:app")


def test_a_module_getattr_that_computes_its_answer_leaves_the_name_unresolved(tmp_path: Path) -> None:
    a = project(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/api/__init__.py": """
            import importlib

            def __getattr__(name):
                return getattr(importlib.import_module("pkg.api." + name.removesuffix("_router")), "router")
        """,
        "pkg/api/items.py": ROUTER.replace("{name}", "items"),
        "pkg/main.py": """
            from fastapi import FastAPI

            from pkg.api import items_router

            app = FastAPI()
            app.include_router(items_router)
        """,
    })
    assert table(a) == {}
    assert [u.what for u in a.model.unresolved] == ["included router `items_router`"]


def test_the_fixture_app_is_reported_once_where_it_is_defined() -> None:
    a = analyze([FIXTURE])
    assert [(app.name, Path(app.loc.path).name) for app in a.model.apps] == [("app", "factory.py")]
    assert a.model.unresolved == ()
    # what ``uvicorn shop.main:app`` serves is the same app
    assert runtime_table(FIXTURE / "src", "shop.main:app") == runtime_table(FIXTURE / "src", "shop.factory:app")
