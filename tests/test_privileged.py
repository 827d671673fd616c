"""``Route.privileged``: the route can be called only by privileged principals (superusers, admins,
staff), because a dependency in its tree rejects every other caller. What the code does decides;
a 403 on ownership, a check under a further condition or after an early ``return`` is not one."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from fastapi_arch_lint.engine import analyze
from fastapi_arch_lint.report.inspect import render_text, to_json

FILES = {
    "shop/__init__.py": "",
    "shop/errors.py": """
        from fastapi import HTTPException


        class Forbidden(Exception):
            status_code = 403


        class ErrorCode:
            code: int = 500

            @classmethod
            def as_http_error(cls, detail: str | None = None) -> HTTPException:
                return HTTPException(status_code=cls.code, detail=detail)


        class NoPermission(ErrorCode):
            code: int = 403


        class NotFound(ErrorCode):
            code: int = 404
    """,
    "shop/deps.py": """
        import enum

        from fastapi import Depends, HTTPException, Request

        from shop.errors import Forbidden, NoPermission, NotFound


        class Role(str, enum.Enum):
            ADMIN = "admin"
            MEMBER = "member"


        class Account:
            id: int
            role: Role
            is_superuser: bool
            is_staff: bool
            is_owner: bool
            trusted: bool


        def current_account(request: Request) -> Account:
            token = request.headers.get("Authorization")
            if token is None:
                raise HTTPException(status_code=401)
            return lookup(token)


        def lookup(token: str) -> Account:
            return Account()


        def superuser(account: Account = Depends(current_account)) -> Account:
            if not account.is_superuser:
                raise HTTPException(status_code=403, detail="not enough privileges")
            return account


        def trusted_client(account: Account = Depends(current_account)) -> Account:
            # a service client the operators marked as trusted: the only callers of the internal API
            if not account.trusted:
                raise Forbidden()
            return account


        def staff_by_code(account: Account = Depends(current_account)) -> Account:
            # the exception comes from a class method of the error's base class, which reads the subclass's code
            if not account.is_staff:
                raise NoPermission.as_http_error()
            return account


        def staff_or_hidden(account: Account = Depends(current_account)) -> Account:
            if not account.is_staff:
                raise NotFound.as_http_error()  # a 404 hides the page; it does not refuse the caller
            return account


        def role_admin(account: Account = Depends(current_account)) -> Account:
            if account.role != Role.ADMIN:
                raise Forbidden()
            return account


        def ensure_staff(account: Account) -> None:
            if account.is_staff is False:
                raise HTTPException(403)


        def staff(account: Account = Depends(current_account)) -> Account:
            ensure_staff(account)
            return account


        # named like an admin check, but only requires someone logged in
        def require_admin(account: Account = Depends(current_account)) -> Account:
            if account is None:
                raise HTTPException(401)
            return account


        # only for writes: readers of any role pass
        def admin_for_writes(request: Request, account: Account = Depends(current_account)) -> Account:
            if request.method != "GET":
                if not account.is_superuser:
                    raise HTTPException(403)
            return account


        # owners pass without being admins
        def owner_or_admin(account: Account = Depends(current_account)) -> Account:
            if account.is_owner:
                return account
            if not account.is_superuser:
                raise HTTPException(403)
            return account


        # a path compared with an admin-looking string says nothing about the caller
        def admin_path_only(request: Request, account: Account = Depends(current_account)) -> Account:
            if request.url.path != "/admin":
                raise HTTPException(403)
            return account


        # only admins and superusers
        def high_roles(account: Account = Depends(current_account)) -> Account:
            if account.role not in (Role.ADMIN, "superuser"):
                raise HTTPException(403)
            return account


        # a role other than admin passes too
        def editor_or_admin(account: Account = Depends(current_account)) -> Account:
            if account.role not in (Role.ADMIN, Role.MEMBER):
                raise HTTPException(403)
            return account
    """,
    "shop/routers.py": """
        from fastapi import APIRouter, Depends

        from shop.deps import superuser


        class AdminRouter(APIRouter):
            def __init__(self, **kwargs):
                super().__init__(dependencies=[Depends(superuser)], **kwargs)
    """,
    "shop/api.py": """
        from fastapi import APIRouter, Depends, HTTPException

        from shop.deps import (Account, admin_for_writes, admin_path_only, current_account, editor_or_admin,
                               high_roles, owner_or_admin, require_admin, role_admin, staff, superuser,
                               staff_by_code, staff_or_hidden, trusted_client)
        from shop.routers import AdminRouter

        router = APIRouter()
        admin = AdminRouter(prefix="/admin")
        back_office = APIRouter(prefix="/back-office", dependencies=[Depends(role_admin)])


        @router.get("/orders", dependencies=[Depends(superuser)])
        def all_orders():
            return []


        @router.get("/staff/reports")
        def reports(account: Account = Depends(staff)):
            return []


        @admin.get("/stats")
        def stats():
            return {}


        @back_office.get("/refunds")
        def refunds():
            return []


        @router.post("/internal/reindex")
        def reindex(account: Account = Depends(trusted_client)):
            return []


        @router.get("/staff/audit")
        def audit(account: Account = Depends(staff_by_code)):
            return []


        @router.get("/staff/hidden")
        def hidden(account: Account = Depends(staff_or_hidden)):
            return []


        @router.get("/me")
        def me(account: Account = Depends(current_account)):
            return account


        @router.get("/items/{item_id}")
        def read_item(item_id: int, account: Account = Depends(current_account)):
            item = find(item_id)
            if item.owner_id != account.id:
                raise HTTPException(403)
            return item


        def find(item_id: int):
            return None


        @router.get("/named-only")
        def named_only(account: Account = Depends(require_admin)):
            return []


        @router.get("/writes")
        def writes(account: Account = Depends(admin_for_writes)):
            return []


        @router.get("/owned")
        def owned(account: Account = Depends(owner_or_admin)):
            return []


        @router.get("/paths")
        def paths(account: Account = Depends(admin_path_only)):
            return []


        @router.get("/high")
        def high(account: Account = Depends(high_roles)):
            return []


        @router.get("/edits")
        def edits(account: Account = Depends(editor_or_admin)):
            return []
    """,
    "shop/main.py": """
        from fastapi import FastAPI

        from shop.api import admin, back_office, router

        app = FastAPI()
        app.include_router(router)
        app.include_router(admin)
        app.include_router(back_office)
    """,
}

PRIVILEGED = {
    "/orders": "`superuser`: raises HTTPException(403) unless account.is_superuser",
    "/staff/reports": "`ensure_staff` (called): raises HTTPException(403) unless account.is_staff",
    "/admin/stats": "`superuser`: raises HTTPException(403) unless account.is_superuser",
    "/back-office/refunds": "`role_admin`: raises Forbidden(403) unless account.role != Role.ADMIN",
    "/high": "`high_roles`: raises HTTPException(403) unless account.role not in (Role.ADMIN,",
    "/internal/reindex": "`trusted_client`: raises Forbidden(403) unless account.trusted",
    "/staff/audit": "`staff_by_code`: raises HTTPException(403) unless account.is_staff",
}
ORDINARY = ["/staff/hidden", "/me", "/items/{item_id}", "/named-only", "/writes", "/owned", "/edits", "/paths"]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("privileged")
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return analyze([str(root)], base=root, jobs=1).model


def test_privileged_routes(model) -> None:
    routes = {r.path: r for a in model.apps for r in a.routes}
    for path, check in PRIVILEGED.items():
        assert routes[path].privileged is not None, path
        assert routes[path].privileged.startswith(check), (path, routes[path].privileged)


@pytest.mark.parametrize("path", ORDINARY)
def test_ordinary_routes_are_not_privileged(model, path: str) -> None:
    # logged-in callers, an ownership 403, a name without the check, a check only for some methods,
    # an earlier return for owners, a role list that lets non-admins in
    routes = {r.path: r for a in model.apps for r in a.routes}
    assert routes[path].auth.required, path
    assert routes[path].privileged is None, (path, routes[path].privileged)


def test_inspect_shows_it(model) -> None:
    doc = json.loads(json.dumps(to_json(model)))
    by_path = {r["path"]: r for a in doc["apps"] for r in a["routes"]}
    assert by_path["/orders"]["privileged"].startswith("`superuser`")
    assert by_path["/me"]["privileged"] is None
    assert "privileged only: `superuser`" in render_text(model)


def test_name_decides_only_when_the_code_cannot_be_read(tmp_path: Path) -> None:
    # a library's dependency the model cannot evaluate: its name is all there is
    (tmp_path / "main.py").write_text(textwrap.dedent("""
        from fastapi import Depends, FastAPI
        from someauthlib import Users

        users = Users()
        current_superuser = users.current_user(active=True, superuser=True)
        current_active_user = users.current_user(active=True)

        app = FastAPI()


        @app.get("/admin", dependencies=[Depends(current_superuser)])
        def admin():
            return {}


        @app.get("/mine", dependencies=[Depends(current_active_user)])
        def mine():
            return {}
    """), encoding="utf-8")
    model = analyze([str(tmp_path)], base=tmp_path, jobs=1).model
    routes = {r.path: r for a in model.apps for r in a.routes}
    assert "by its name" in (routes["/admin"].privileged or "")
    assert routes["/mine"].privileged is None
