"""FAL408 privileged-route-without-role-check: multi-file cases beyond the rule page (an app without
roles, class-based views with a check object, tenancy roles, scopes, the caller handed to code the
review cannot read, creating users, privilege fields in the body, early returns on a role)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fastapi_arch_lint.engine import analyze
from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.rules.auth.privileged_route_without_role_check import PrivilegedRouteWithoutRoleCheck

MODELS = """
    from sqlalchemy import ForeignKey, String
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class User(Base):
        __tablename__ = "users"

        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str] = mapped_column(String(255))
        is_superuser: Mapped[bool] = mapped_column(default=False)


    class Membership(Base):
        __tablename__ = "memberships"

        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
        org_id: Mapped[int]
        role: Mapped[str] = mapped_column(String(20))
"""

DEPS = """
    from typing import Annotated

    from fastapi import Depends, HTTPException, Security
    from fastapi.security import OAuth2PasswordBearer, SecurityScopes
    from sqlalchemy.orm import Session

    from app.models import User

    oauth2 = OAuth2PasswordBearer(tokenUrl="/token", scopes={"admin": "everything", "read": "read"})


    def get_db() -> Session:
        return Session()


    def get_current_user(scopes: SecurityScopes, token: Annotated[str, Depends(oauth2)],
                         db: Annotated[Session, Depends(get_db)]) -> User:
        user = db.get(User, int(token))
        if user is None:
            raise HTTPException(status_code=401)
        return user


    Db = Annotated[Session, Depends(get_db)]
    Current = Annotated[User, Depends(get_current_user)]
    Admin = Annotated[User, Security(get_current_user, scopes=["admin"])]
"""


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> list[Finding]:
    for name, text in {"app/__init__.py": "", **files}.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    return sorted(PrivilegedRouteWithoutRoleCheck().check(model), key=lambda f: (f.path, f.line))


def lines(found: list[Finding]) -> list[tuple[int, str]]:
    return [(f.line, f.severity.value) for f in found]


def test_quiet_in_an_app_without_roles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # every authenticated user may do everything by design: an admin area, user deletion
    found = run(tmp_path, monkeypatch, {
        "app/models.py": """
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class Flow(Base):
                __tablename__ = "flows"

                id: Mapped[int] = mapped_column(primary_key=True)
                resource_role: Mapped[str]
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI, HTTPException, Request


            def basic_auth(request: Request) -> None:
                if request.headers.get("Authorization") != "Basic c2VjcmV0":
                    raise HTTPException(status_code=401)


            app = FastAPI(dependencies=[Depends(basic_auth)])


            @app.delete("/admin/storage")
            def clear_storage() -> None: ...


            @app.delete("/users/{user_id}")
            def delete_user(user_id: int) -> None: ...
        """,
    })
    assert found == []


def test_scopes_tenancy_roles_and_class_views(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, {
        "app/models.py": MODELS,
        "app/deps.py": DEPS,
        "app/routers.py": """
            from fastapi import APIRouter, HTTPException
            from sqlalchemy import select

            from app.deps import Admin, Current, Db
            from app.models import Membership, User

            router = APIRouter()


            @router.get("/users")
            def list_users(db: Db, admin: Admin) -> list[int]:
                # an admin scope on the caller's dependency
                return [u.id for u in db.scalars(select(User))]


            @router.delete("/orgs/{org_id}/users/{user_id}")
            def remove_from_org(org_id: int, user_id: int, db: Db, me: Current) -> None:
                # the caller's role in the organization, looked up and rejected on
                membership = db.scalar(select(Membership).where(Membership.user_id == me.id,
                                                                Membership.org_id == org_id))
                if membership is None or membership.role != "owner":
                    raise HTTPException(status_code=403)


            @router.delete("/orgs/{org_id}/members/{user_id}/roles/{role}")  # fires: no role looked at
            def revoke_org_role(org_id: int, user_id: int, role: str, db: Db, me: Current) -> None:
                db.delete(db.get(Membership, user_id))


            @router.get("/users/export")
            def export_users(db: Db, me: Current) -> list[int]:
                # a role decides what the caller gets: an early return on the flag
                if me.is_superuser:
                    return [u.id for u in db.scalars(select(User))]
                return [me.id]
        """,
        "app/views.py": """
            from fastapi import APIRouter

            from app.deps import Current, Db
            from app.models import User

            router = APIRouter(prefix="/users")


            class UserViews:
                def __init__(self, user: Current, db: Db) -> None:
                    self.user = user
                    self.db = db
                    self.checks = make_checks(user)

                @router.put("/{user_id}")
                def update(self, user_id: int) -> None:
                    # a check object the review cannot read, named for a permission
                    self.checks.can_manage_users()
                    self.db.get(User, user_id).email = ""


            def make_checks(user):  # noqa: ANN001, ANN201
                return user.checks
        """,
        "app/main.py": """
            from fastapi import FastAPI

            from app import routers, views

            app = FastAPI()
            app.include_router(routers.router)
            app.include_router(views.router)
        """,
    })
    assert lines(found) == [(26, "warning")]
    assert "changes roles or permissions" in found[0].message


def test_info_when_unsure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, {
        "app/models.py": MODELS,
        "app/deps.py": DEPS,
        "app/routers.py": """
            from fastapi import APIRouter
            from pydantic import BaseModel

            from app.deps import Current, Db
            from app.models import User
            from plugins import audit_and_authorize  # not in the project

            router = APIRouter(prefix="/api/users")


            class NewUser(BaseModel):
                email: str


            class NewStaff(BaseModel):
                email: str
                is_superuser: bool = False


            @router.post("")
            def create_user(body: NewUser, db: Db, me: Current) -> int:
                # creating accounts: maybe an invitation any member may send
                user = User(email=body.email)
                db.add(user)
                return user.id


            @router.post("/staff")
            def create_staff(body: NewStaff, db: Db, me: Current) -> int:
                user = User(email=body.email, is_superuser=body.is_superuser)
                db.add(user)
                return user.id


            @router.delete("/{user_id}")
            def delete_user(user_id: int, db: Db, me: Current) -> None:
                # the caller goes to code the review cannot read
                audit_and_authorize(me, user_id)
                db.delete(db.get(User, user_id))
        """,
        "app/main.py": """
            from fastapi import FastAPI

            from app import routers

            app = FastAPI()
            app.include_router(routers.router)
        """,
    })
    # creating users: info; creating them with a privilege flag in the body: a warning
    assert lines(found) == [(21, "info"), (29, "warning"), (36, "info")]
    assert "sets `is_superuser` on a user account" in found[1].message
    assert "the caller is handed to `audit_and_authorize(...)`" in found[2].message
    for f in found:
        assert "`get_current_user`" in f.message and "`User.is_superuser`" in f.message
        assert [r.message for r in f.related][-2:] == ["the caller comes from `get_current_user`",
                                                       "roles exist: the column `User.is_superuser`"]
    assert found[0].severity is Severity.INFO
