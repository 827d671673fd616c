"""FAL409 and FAL536 (issue 18's unauthenticated reads and debug endpoints): the severities and the cases
the rule pages cannot pin down. The pages hold the examples and misreadings."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_rules_auth import run

from fastapi_arch_lint.findings import Severity
from fastapi_arch_lint.rules.auth.read_route_without_auth import ReadRouteWithoutAuth, personal_field, unversioned
from fastapi_arch_lint.rules.security.debug_endpoint_leak import DebugEndpointLeak


DEPS = """
    from fastapi import Depends, HTTPException, Request


    def current_user(request: Request) -> str:
        if request.headers.get("authorization") != "Bearer ok":
            raise HTTPException(status_code=401)
        return "alice"


    def get_admin_user(user: str = Depends(current_user)) -> str:
        if user != "root":
            raise HTTPException(status_code=403)
        return user


    def require_admin_key(request: Request) -> str:
        # a wallet's key with spending rights: every account has one, it is no administrator
        key = request.headers.get("x-api-key")
        if key is None:
            raise HTTPException(status_code=401)
        return key
"""


def test_debug_leak_severity_follows_who_can_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, DebugEndpointLeak, {
        "app/__init__.py": "",
        "app/deps.py": DEPS,
        "app/main.py": """
            import os

            from fastapi import Depends, FastAPI, HTTPException, status
            from pydantic import ValidationError
            from stripe import StripeError

            from app.deps import current_user, get_admin_user, require_admin_key

            app = FastAPI()


            @app.get("/env")
            def env_for_users(user: str = Depends(current_user)) -> dict:
                return dict(os.environ)


            @app.get("/admin/env", dependencies=[Depends(get_admin_user)])
            def env_for_admins() -> dict:
                return dict(os.environ)


            @app.post("/charge")
            def charge(amount: int) -> dict:
                try:
                    return {"n": amount}
                except StripeError as exc:
                    raise HTTPException(status_code=402, detail=str(exc))


            @app.post("/parse")
            def parse(text: str) -> dict:
                try:
                    return {"n": len(text)}
                except ValidationError as exc:  # a verdict on the client's own input: quiet
                    raise HTTPException(status_code=422, detail=str(exc))


            @app.get("/wallet/env", dependencies=[Depends(require_admin_key)])
            def env_for_key_holders() -> dict:
                return dict(os.environ)


            @app.post("/convert")
            def convert(text: str) -> dict:
                try:
                    return {"n": int(text)}
                except Exception as exc:  # a broad except answered with a 400: info
                    raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc))


            @app.post("/sync")
            def sync(text: str) -> dict:
                try:
                    return {"n": int(text)}
                except Exception as exc:  # with a 500: the unexpected error, a warning
                    raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, detail=str(exc))
        """,
    })
    by_line = {f.line: f.severity for f in found}
    assert by_line == {15: Severity.WARNING, 20: Severity.INFO, 28: Severity.INFO, 41: Severity.WARNING,
                       49: Severity.INFO, 57: Severity.WARNING}, found


def test_debug_leak_under_optional_auth_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheme with ``auto_error=False`` whose dependency lets anonymous callers through only when the project
    is configured so: the route is neither open to anyone nor closed to them; the finding says optional, and an
    environment dump there is a warning, not the error of a route no authentication reaches."""
    found = run(tmp_path, monkeypatch, DebugEndpointLeak, {
        "app/__init__.py": "",
        "app/main.py": """
            import os

            from fastapi import Depends, FastAPI, HTTPException
            from fastapi.security import OAuth2PasswordBearer

            from app.settings import login_required, user_for

            app = FastAPI()
            scheme = OAuth2PasswordBearer(tokenUrl="/login", auto_error=False)


            async def current_user(token: str = Depends(scheme)):
                if not login_required():
                    return None
                return await user_for(token)


            @app.put("/feedback")
            async def feedback(text: str, user=Depends(current_user)) -> dict:
                try:
                    return {"n": len(text)}
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))


            @app.get("/env")
            def env(user=Depends(current_user)) -> dict:
                return dict(os.environ)
        """,
    })
    by_line = {f.line: f for f in found}
    assert sorted(by_line) == [24, 29], found
    assert by_line[24].severity is Severity.WARNING and "authentication on the route is optional" in by_line[24].message
    assert "no authentication reaches" not in by_line[24].message
    assert by_line[29].severity is Severity.WARNING and "authentication on it is optional" in by_line[29].message


def test_debug_leak_behind_a_permission_factory_names_the_check(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``Depends(require_permission(Permission.READ_HISTORY))``: not any authenticated caller gets the text, only
    the callers the factory's check lets through; the finding says so (still a warning: not an administrator)."""
    found = run(tmp_path, monkeypatch, DebugEndpointLeak, {
        "app/__init__.py": "",
        "app/deps.py": DEPS + """

    def require_permission(permission: str):
        def dependency(user: str = Depends(current_user)) -> str:
            if permission not in grants_of(user):
                raise HTTPException(status_code=403)
            return user
        return dependency
""",
        "app/main.py": """
            from fastapi import Depends, FastAPI, HTTPException

            from app.deps import current_user, require_permission

            app = FastAPI()


            @app.get("/history")
            def history(user: str = Depends(require_permission("read_history"))) -> dict:
                try:
                    return {"n": 1}
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=f"failed: {exc}")


            @app.get("/mine")
            def mine(user: str = Depends(current_user)) -> dict:
                try:
                    return {"n": 1}
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=f"failed: {exc}")
        """,
    })
    by_line = {f.line: f for f in found}
    assert sorted(by_line) == [14, 22], found
    assert "only callers who pass `require_permission.dependency`" in by_line[14].message
    assert by_line[14].severity is Severity.WARNING
    assert "any caller who authenticates" in by_line[22].message


def test_debug_leak_reports_a_service_once_for_its_routes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, DebugEndpointLeak, {
        "app/__init__.py": "",
        "app/service.py": """
            from fastapi import HTTPException


            def load(key: str) -> dict:
                try:
                    return {"key": key}
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=f"load failed: {exc}")
        """,
        "app/main.py": """
            from fastapi import FastAPI

            from app.service import load

            app = FastAPI()


            @app.get("/a/{key}")
            def a(key: str) -> dict:
                return load(key)


            @app.get("/b/{key}")
            def b(key: str) -> dict:
                return load(key)
        """,
    })
    assert [(f.path, f.line, f.severity) for f in found] == [("app/service.py", 9, Severity.WARNING)]
    assert "1 more routes" in found[0].message


def test_read_route_info_when_no_sibling_authenticates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, ReadRouteWithoutAuth, {
        "app/__init__.py": "",
        "app/deps.py": DEPS,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from pydantic import BaseModel

            from app.deps import current_user


            class Contact(BaseModel):
                name: str
                email: str


            orders = APIRouter(prefix="/orders")
            people = APIRouter(prefix="/people")


            @orders.get("")
            def list_orders(user: str = Depends(current_user)) -> list[dict]:
                return []


            @people.get("/{person_id}", response_model=Contact)
            def person(person_id: int) -> dict:
                return {"name": "a", "email": "a@example.com"}


            app = FastAPI()
            app.include_router(orders)
            app.include_router(people)
        """,
    })
    assert [(f.line, f.severity) for f in found] == [(22, Severity.INFO)], found
    assert "`email`" in found[0].message and "GET /orders" in found[0].message


def test_personal_field_names() -> None:
    for name in ("email", "billing_address", "phone_number", "date_of_birth", "hashed_password", "ssn"):
        assert personal_field(name), name
    # a key's or a secret's name is FAL524's (and often names where a secret is kept, not a person's)
    for name in ("display_name", "wallet_address", "node_address", "ip_allowlist", "token_type", "username", "room",
                 "api_key", "aws_secret_key", "full_name"):
        assert not personal_field(name), name


def test_unversioned_paths() -> None:
    assert unversioned("/api/v2/members/{id}") == unversioned("/api/members/{id}") == "/api/members/{id}"
    assert unversioned("/v1/x") == unversioned("/v2/x")


def test_read_route_auth_by_factory_decorator_or_middleware_is_auth(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Routes authenticated by a dependency factory, a decorator or a middleware are quiet; the one route the
    middleware exempts, which sends emails beside them, is reported."""
    found = run(tmp_path, monkeypatch, ReadRouteWithoutAuth, {
        "app/__init__.py": "",
        "app/security.py": """
            import functools

            from fastapi import Depends, HTTPException, Request


            def current_user(request: Request) -> dict:
                if request.headers.get("authorization") != "Bearer ok":
                    raise HTTPException(status_code=401)
                return {"role": "admin"}


            def require_role(role: str):
                def checker(user: dict = Depends(current_user)) -> dict:
                    if user["role"] != role:
                        raise HTTPException(status_code=403)
                    return user
                return checker


            def login_required(func):
                @functools.wraps(func)
                async def wrapper(*args, **kwargs):
                    request: Request = kwargs["request"]
                    if not request.headers.get("authorization"):
                        raise HTTPException(status_code=401)
                    return await func(*args, **kwargs)
                return wrapper
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI, Request
            from fastapi.responses import JSONResponse
            from pydantic import BaseModel

            from app.security import login_required, require_role

            PUBLIC = {"/directory/people"}


            class Person(BaseModel):
                name: str
                email: str


            app = FastAPI()


            @app.middleware("http")
            async def authenticate(request: Request, call_next):
                if request.url.path in PUBLIC:
                    return await call_next(request)
                if not request.headers.get("authorization"):
                    return JSONResponse({"detail": "not authenticated"}, status_code=401)
                return await call_next(request)


            @app.get("/directory/admins", response_model=list[Person], dependencies=[Depends(require_role("admin"))])
            def admins() -> list:
                return []


            @app.get("/directory/me", response_model=Person)
            @login_required
            async def me(request: Request) -> dict:
                return {}


            @app.get("/directory/people", response_model=list[Person])
            def people() -> list:
                return []
        """,
    })
    assert [(f.path, f.line, f.severity) for f in found] == [("app/main.py", 39, Severity.WARNING)], found


def test_a_password_the_route_has_just_generated_is_issued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAL524: an administrator's reset that answers with the one-time password it has just generated exists to
    hand it out; a stored hash in a response is still reported, and so is a stored password read back."""
    from fastapi_arch_lint.rules.security.sensitive_field_in_response import SensitiveFieldInResponse

    found = run(tmp_path, monkeypatch, SensitiveFieldInResponse, {
        "app/__init__.py": "",
        "app/main.py": """
            import secrets

            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()


            class ResetOut(BaseModel):
                user_id: str
                new_password: str


            class HashOut(BaseModel):
                user_id: str
                password_hash: str


            def generate() -> str:
                return secrets.token_urlsafe(12)


            @app.post("/admin/reset")
            async def reset(user_id: str) -> ResetOut:
                new_password = generate()
                return ResetOut(user_id=user_id, new_password=new_password)


            @app.get("/admin/stored")
            async def stored(user_id: str) -> ResetOut:
                row = load(user_id)
                return ResetOut(user_id=user_id, new_password=row.password)


            @app.post("/admin/hash")
            async def rehash(user_id: str) -> HashOut:
                return HashOut(user_id=user_id, password_hash=make_hash())
        """,
    })
    assert sorted(f.line for f in found) == [30, 36], found


def test_secret_fields_a_model_hook_replaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAL524: the client gets what a model's own hook returns for the field (v1 ``@validator``, a plain
    ``@model_serializer``, a ``@model_validator`` that writes it, a base class's validator); a hook that hands
    the value back as it came (``return v``, ``return handler(v)``) or names another field changes nothing."""
    from fastapi_arch_lint.rules.security.sensitive_field_in_response import SensitiveFieldInResponse

    found = run(tmp_path, monkeypatch, SensitiveFieldInResponse, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI
            from pydantic import BaseModel, field_validator, model_serializer, model_validator, validator

            app = FastAPI()


            class V1Out(BaseModel):
                name: str
                password: str

                @validator("password", pre=True)
                def hide(cls, v):
                    return "***"


            class PlainOut(BaseModel):
                name: str
                password: str

                @model_serializer
                def ser(self):
                    return {"name": self.name}


            class AfterOut(BaseModel):
                name: str
                password: str

                @model_validator(mode="after")
                def blank(self):
                    self.password = ""
                    return self


            class MaskedBase(BaseModel):
                password: str

                @field_validator("password")
                @classmethod
                def hide(cls, v):
                    return "***"


            class ChildOut(MaskedBase):
                name: str


            class WrapOut(BaseModel):
                name: str
                password: str

                @field_validator("password", mode="wrap")
                @classmethod
                def through(cls, v, handler):
                    return handler(v)


            class OtherOut(BaseModel):
                name: str
                password: str

                @field_validator("name")
                @classmethod
                def upper(cls, v):
                    return v.upper()


            @app.get("/a")
            def a() -> V1Out: ...


            @app.get("/b")
            def b() -> PlainOut: ...


            @app.get("/c")
            def c() -> AfterOut: ...


            @app.get("/d")
            def d() -> ChildOut: ...


            @app.get("/e")
            def e() -> WrapOut: ...


            @app.get("/f")
            def f() -> OtherOut: ...
        """,
    })
    assert sorted(f.message.split("`")[1] for f in found) == ["GET /e", "GET /f"], found


def test_a_field_stored_encrypted_only_where_every_write_encrypts(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """FAL524: a credential's field whose every write outside the tests stores an encrypt call's answer (through
    a local name, ``str(...)``, a table's constructor) or clears it is ciphertext; one plaintext write, a request
    body that could set it in bulk, or a property that may decrypt it on read, and it is reported again."""
    from fastapi_arch_lint.rules.security.sensitive_field_in_response import SensitiveFieldInResponse

    files = {
        "app/__init__.py": "",
        "app/tests/__init__.py": "",
        "app/tests/test_users.py": """
            def test_x(user):
                user.vendor_token = "plain in a test"
        """,
        "app/main.py": """
            from fastapi import FastAPI
            from pydantic import BaseModel
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

            from app.crypto import encrypt_secret

            app = FastAPI()


            class Base(DeclarativeBase):
                pass


            class User(Base):
                __tablename__ = "users"
                id: Mapped[int] = mapped_column(primary_key=True)
                email: Mapped[str]
                vendor_token: Mapped[str | None]


            class UserOut(BaseModel):
                email: str
                vendor_token: str | None = None


            def signup(email: str, token: str) -> User:
                return User(email=email, vendor_token=str(encrypt_secret(token)))


            def rotate(user: User, token: str) -> None:
                sealed = encrypt_secret(token)
                user.vendor_token = sealed


            @app.get("/users")
            def users() -> list[UserOut]: ...
        """,
    }
    files = {name: textwrap.dedent(text) for name, text in files.items()}
    assert run(tmp_path, monkeypatch, SensitiveFieldInResponse, files) == []
    plain = dict(files)
    plain["app/main.py"] += "\n\ndef reset(user: User, token: str) -> None:\n    user.vendor_token = token\n"
    assert len(run(tmp_path, monkeypatch, SensitiveFieldInResponse, plain)) == 1
    bulk = dict(files)
    bulk["app/main.py"] += ("\n\nclass UserPatch(BaseModel):\n    vendor_token: str\n\n\n"
                            "@app.patch('/users/me')\ndef patch(data: UserPatch) -> None: ...\n")
    assert len(run(tmp_path, monkeypatch, SensitiveFieldInResponse, bulk)) == 1
    decrypting = dict(files)
    decrypting["app/main.py"] += ("\n\nclass Shown:\n    @property\n    def vendor_token(self) -> str:\n"
                                  "        return decrypt(self._vendor_token)\n")
    assert len(run(tmp_path, monkeypatch, SensitiveFieldInResponse, decrypting)) == 1


def test_path_parameters_held_to_the_caller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``raise`` under nothing but ``param != caller.id`` (converted or not, ``==`` with the raise in its
    ``else``) holds the parameter to the caller; under a further condition, in an ``except``, or after a
    return that may answer first, it does not."""
    from fastapi_arch_lint.rules.auth._principal import held_to_caller

    run(tmp_path, monkeypatch, DebugEndpointLeak, {
        "app/__init__.py": "",
        "app/deps.py": DEPS,
        "app/main.py": """
            from fastapi import Depends, FastAPI, HTTPException

            from app.deps import current_user

            app = FastAPI()


            @app.get("/a/{user_id}")
            def a(user_id: str, user=Depends(current_user)):
                if str(user.id) != user_id:
                    raise HTTPException(status_code=404)
                return user


            @app.get("/b/{user_id}")
            def b(user_id: int, user=Depends(current_user)):
                if user_id == user.id:
                    pass
                else:
                    raise HTTPException(status_code=403)
                return user


            @app.get("/c/{user_id}")
            def c(user_id: int, user=Depends(current_user)):
                if user.is_admin:
                    return load(user_id)
                if user_id != user.id:
                    raise HTTPException(status_code=403)
                return user


            @app.get("/d/{user_id}")
            def d(user_id: int, user=Depends(current_user)):
                if user.is_active:
                    if user_id != user.id:
                        raise HTTPException(status_code=403)
                return user
        """,
    })
    from fastapi_arch_lint.engine import analyze

    model = analyze(["."]).model
    held = {r.path: held_to_caller(model, r) for r in model.routes}
    assert held == {"/a/{user_id}": {"user_id"}, "/b/{user_id}": {"user_id"}, "/c/{user_id}": set(),
                    "/d/{user_id}": set()}


def test_fal524_other_users_keys_behind_a_permission_check_are_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another user's API key in a response is an error; behind a role or permission check the handler
    makes (a policy only administrators pass), it is a warning that names the check."""
    from fastapi_arch_lint.rules.security.sensitive_field_in_response import SensitiveFieldInResponse

    files = {
        "app/__init__.py": "",
        "app/main.py": """
            from typing import Annotated

            from fastapi import Depends, FastAPI, HTTPException
            from fastapi.security import OAuth2PasswordBearer
            from pydantic import BaseModel

            oauth2 = OAuth2PasswordBearer(tokenUrl="token")

            class User(BaseModel):
                id: int
                username: str
                role: str
                api_key: str

            USERS: dict[int, User] = {}

            def current_user(token: Annotated[str, Depends(oauth2)]) -> User:
                return USERS[int(token)]

            def require_role(actor: User, role: str) -> None:
                if actor.role != role:
                    raise HTTPException(status_code=403)

            app = FastAPI()

            @app.get("/admin/users/{user_id}", response_model=User)
            def read_user(user_id: int, me: Annotated[User, Depends(current_user)]) -> User:
                require_role(me, "owner")
                return USERS[user_id]

            @app.get("/users/{user_id}", response_model=User)
            def peek_user(user_id: int, me: Annotated[User, Depends(current_user)]) -> User:
                return USERS[user_id]
        """,
    }
    found = run(tmp_path, monkeypatch, SensitiveFieldInResponse, files)
    got = sorted((f.message.split("`")[1], f.severity) for f in found)
    assert got == [("GET /admin/users/{user_id}", Severity.WARNING), ("GET /users/{user_id}", Severity.ERROR)]


def test_exception_text_to_a_peer_service_is_info_and_fixed_database_sentences_are_quiet(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLAlchemy's ``NoResultFound``/``MultipleResultsFound`` say a fixed sentence: quiet. A route only a
    service holding the deployment's shared key can call gets info; the same failure any signed-in member
    reads stays a warning."""
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            import os
            from typing import Annotated

            from fastapi import Depends, FastAPI, Header, HTTPException
            from fastapi.security import OAuth2PasswordBearer
            from sqlalchemy.exc import MultipleResultsFound, NoResultFound
            from sqlalchemy.orm import Session

            app = FastAPI()
            SYNC_KEY = os.environ.get("SYNC_KEY", "")
            oauth2 = OAuth2PasswordBearer(tokenUrl="/token")

            def peer_service(x_api_key: Annotated[str, Header()]) -> None:
                if x_api_key != SYNC_KEY:
                    raise HTTPException(status_code=401)

            def current_member(token: Annotated[str, Depends(oauth2)]) -> dict:
                if not token:
                    raise HTTPException(status_code=401)
                return {"id": token}

            def rebuild() -> int:
                return 0

            @app.get("/rows/{row_id}", dependencies=[Depends(current_member)])
            def read_row(row_id: int) -> dict:
                try:
                    return {"id": Session().get_one(dict, row_id)}
                except (NoResultFound, MultipleResultsFound) as exc:
                    raise HTTPException(status_code=500, detail=str(exc))

            @app.post("/sync/rebuild", dependencies=[Depends(peer_service)])
            def sync_rebuild() -> dict:
                try:
                    return {"rebuilt": rebuild()}
                except Exception as exc:
                    return {"rebuilt": 0, "error": str(exc)}

            @app.post("/members/rebuild", dependencies=[Depends(current_member)])
            def member_rebuild() -> dict:
                try:
                    return {"rebuilt": rebuild()}
                except Exception as exc:
                    return {"rebuilt": 0, "error": str(exc)}
        """,
    }
    found = run(tmp_path, monkeypatch, DebugEndpointLeak, files)
    got = sorted((f.message.split("client of `")[1].split("`")[0], f.severity) for f in found)
    assert got == [("POST /members/rebuild", Severity.WARNING), ("POST /sync/rebuild", Severity.INFO)]
    assert "shared secret" in next(f.message for f in found if f.severity is Severity.INFO)


def test_exception_text_after_an_admin_check_in_the_handler_is_info(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler that calls a check rejecting every non-administrator (or tests the flag itself) before the
    error can happen shows the error text only to administrators: info, saying so. A check after the leak, one
    under a condition, one that admits another kind of caller, and a helper some unchecked route also reaches
    stay warnings."""
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import Depends, FastAPI, HTTPException
            from fastapi.security import OAuth2PasswordBearer

            app = FastAPI()
            oauth2 = OAuth2PasswordBearer(tokenUrl="/token")


            class Ctx:
                user: dict
                has_user: bool
                is_api_key: bool


            def context(token: str = Depends(oauth2)) -> Ctx:
                if not token:
                    raise HTTPException(status_code=401)
                return Ctx()


            def _require_admin(ctx: Ctx) -> None:
                if not ctx.has_user or not (ctx.user.is_admin or ctx.user.is_superuser):
                    raise HTTPException(status_code=403, detail="admins only")


            def _require_admin_or_key(ctx: Ctx) -> None:
                if not ctx.user.is_admin and not ctx.is_api_key:
                    raise HTTPException(status_code=403)


            def rebuild() -> int:
                return 0


            def shared_step(ctx: Ctx) -> int:
                try:
                    return rebuild()
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))


            @app.post("/admin/rebuild")
            def admin_rebuild(ctx: Ctx = Depends(context)) -> dict:
                _require_admin(ctx)
                try:
                    return {"n": rebuild()}
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))


            @app.post("/admin/flag")
            def admin_flag(ctx: Ctx = Depends(context)) -> dict:
                if not ctx.user.is_superuser:
                    raise HTTPException(status_code=403)
                try:
                    return {"n": rebuild()}
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))


            @app.post("/admin/late")
            def admin_late(ctx: Ctx = Depends(context)) -> dict:
                try:
                    n = rebuild()
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))
                _require_admin(ctx)
                return {"n": n}


            @app.post("/admin/maybe")
            def admin_maybe(strict: bool, ctx: Ctx = Depends(context)) -> dict:
                if strict:
                    _require_admin(ctx)
                try:
                    return {"n": rebuild()}
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))


            @app.post("/admin/keyed")
            def admin_keyed(ctx: Ctx = Depends(context)) -> dict:
                _require_admin_or_key(ctx)
                try:
                    return {"n": rebuild()}
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))


            @app.post("/admin/step")
            def admin_step(ctx: Ctx = Depends(context)) -> dict:
                _require_admin(ctx)
                return {"n": shared_step(ctx)}


            @app.post("/members/step")
            def member_step(ctx: Ctx = Depends(context)) -> dict:
                return {"n": shared_step(ctx)}


            @app.post("/admin/nested")
            def admin_nested(strict: bool, ctx: Ctx = Depends(context)) -> dict:
                if strict:
                    if not ctx.user.is_superuser:
                        raise HTTPException(status_code=403)
                try:
                    return {"n": rebuild()}
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))
        """,
    }
    # every handler here sends the text: judged one by one (as a house style it would be one project finding)
    found = run(tmp_path, monkeypatch, DebugEndpointLeak, files, {"house_style": False})
    got = sorted((f.line, f.severity) for f in found)
    assert got == [(39, Severity.WARNING), (48, Severity.INFO), (58, Severity.INFO), (66, Severity.WARNING),
                   (78, Severity.WARNING), (87, Severity.WARNING), (109, Severity.WARNING)], found
    admin = next(f for f in found if f.line == 48)
    assert "only administrators get that far" in admin.message and "`_require_admin`" in admin.message
    # the helper reached only from the checked route, after the check: info
    files["app/main.py"] = files["app/main.py"].split('@app.post("/members/step")')[0]
    found = run(tmp_path / "helper", monkeypatch, DebugEndpointLeak, files)
    assert next(f.severity for f in found if f.line == 39) is Severity.INFO


def test_debug_leak_behind_a_secret_the_handler_checks_first_is_info(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler that compares a form value with the configured secret and answers 401 before any work: only the
    secret's holder reads the error (info, and never "anyone gets it"); the check made after the work, or under
    ``and``, keeps the warning."""
    found = run(tmp_path, monkeypatch, DebugEndpointLeak, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI, Form, HTTPException

            from app.settings import settings

            app = FastAPI()


            def work() -> int:
                return 1


            @app.post("/ops/uri")
            def make_uri(password: str = Form(...)) -> dict:
                try:
                    if password != settings.OPS_PASSWORD:
                        raise HTTPException(status_code=401, detail="bad password")
                    return {"n": work()}
                except HTTPException:
                    raise
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))


            @app.post("/ops/late")
            def late(password: str = Form(...)) -> dict:
                try:
                    n = work()
                    if password != settings.OPS_PASSWORD:
                        raise HTTPException(status_code=401)
                    return {"n": n}
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))


            @app.post("/ops/optional")
            def optional(password: str = Form("")) -> dict:
                try:
                    if password and password != settings.OPS_PASSWORD:
                        raise HTTPException(status_code=401)
                    return {"n": work()}
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))
        """,
        "app/settings.py": """
            class Settings:
                OPS_PASSWORD = "change-me"


            settings = Settings()
        """,
    })
    by_line = {f.line: f.severity for f in found}
    assert by_line == {22: Severity.INFO, 33: Severity.WARNING, 43: Severity.WARNING}, found
    first = next(f for f in found if f.line == 22)
    assert "anyone" not in first.message and "password != settings.OPS_PASSWORD" in first.message, first.message


def test_tenant_connection_settings_sent_back_to_their_tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAL524: a connection's settings (a host, the username and password that log in to it) are no principal of
    the app; loaded for the caller's own organisation (the handler passes its id to the call whose result it
    returns), their password is what the client configured, sent back to it: a warning that says so, never
    "other principals'". The same settings returned without the tenant's id, and the organisation's users with
    their tokens (other principals, tenant or not), stay errors."""
    from fastapi_arch_lint.rules.security.sensitive_field_in_response import SensitiveFieldInResponse

    found = run(tmp_path, monkeypatch, SensitiveFieldInResponse, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import Depends, FastAPI, HTTPException, Request
            from pydantic import BaseModel

            app = FastAPI()


            class Caller(BaseModel):
                id: int
                organization_id: int


            def current_user(request: Request) -> Caller:
                if request.headers.get("authorization") is None:
                    raise HTTPException(status_code=401)
                return Caller(id=1, organization_id=1)


            class TunnelSettings(BaseModel):
                host: str
                username: str
                password: str | None = None
                private_key_password: str | None = None


            class ConnectionOut(BaseModel):
                alias: str
                tunnel: TunnelSettings | None = None


            class MemberOut(BaseModel):
                username: str
                email: str
                api_token: str


            def connections_of(org_id: int) -> list:
                return []


            def members_of(org_id: int) -> list:
                return []


            @app.get("/connections")
            def list_connections(user: Caller = Depends(current_user)) -> list[ConnectionOut]:
                return connections_of(user.organization_id)


            @app.get("/all-connections")
            def list_all_connections(user: Caller = Depends(current_user)) -> list[ConnectionOut]:
                return connections_of(0)


            @app.get("/members")
            def list_members(user: Caller = Depends(current_user)) -> list[MemberOut]:
                return members_of(user.organization_id)
        """,
    })
    by_line = {f.line: f.severity for f in found}
    assert by_line == {45: Severity.WARNING, 50: Severity.ERROR, 55: Severity.ERROR}, found
    tenant = next(f for f in found if f.line == 45)
    assert "other principals" not in tenant.message and "user.organization_id" in tenant.message, tenant.message
    assert "private_key_password" not in tenant.message, tenant.message


def test_debug_leak_whose_try_only_calls_functions_that_catch_everything_is_info(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAL536: every call of the ``try`` is a project function that catches every error itself and answers a
    value (``except Exception: return []``): no database's error reaches ``str(exc)``, info, and the message no
    longer says "a database's bug included". A callee that lets errors out, or a call outside such a function in
    the ``try``, keeps the warning."""
    found = run(tmp_path, monkeypatch, DebugEndpointLeak, {
        "app/__init__.py": "",
        "app/main.py": """
            import logging

            from fastapi import FastAPI, HTTPException

            from app.store import Store

            app = FastAPI()
            store = Store()
            log = logging.getLogger(__name__)


            @app.get("/folders")
            async def folders() -> list:
                try:
                    rows = await store.list_folders()
                    log.info("listed")
                    return rows
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))


            @app.get("/raw-folders")
            async def raw_folders() -> list:
                try:
                    return await store.raw_folders()
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))


            @app.get("/mixed-folders")
            async def mixed_folders() -> list:
                try:
                    rows = await store.list_folders()
                    return rows + store.fetch()
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))
        """,
        "app/store.py": """
            import logging

            log = logging.getLogger(__name__)


            class Store:
                def fetch(self) -> list:
                    return []

                async def list_folders(self) -> list:
                    try:
                        return self.fetch()
                    except Exception as exc:
                        log.error("listing failed: %s", exc)
                        return []

                async def raw_folders(self) -> list:
                    try:
                        return self.fetch()
                    except Exception:
                        log.error("listing failed")
                        raise
        """,
    })
    by_line = {f.line: f.severity for f in found}
    assert by_line == {20: Severity.INFO, 28: Severity.WARNING, 37: Severity.WARNING}, found
    info = next(f for f in found if f.line == 20)
    assert "database's" not in info.message and "Store.list_folders" in info.message, info.message


def _operator_api(leaking: int, fixed: int) -> str:
    """An app whose handlers answer a failure with ``{"error": str(e)}`` (``leaking`` of them) or a fixed text."""
    body = ["from fastapi import FastAPI", "", "from app.store import store", "", "app = FastAPI()", ""]
    for i in range(leaking + fixed):
        answer = 'str(e)' if i < leaking else '"the action failed"'
        body += ["", f'@app.post("/api/action_{i}")', f"def action_{i}(payload: dict) -> dict:", "    try:",
                 f"        return {{\"result\": store.run_{i}(payload)}}", "    except Exception as e:",
                 f"        return {{\"error\": {answer}}}", ""]
    return "\n".join(body)


def test_debug_leak_house_style_is_said_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Most handlers answer a failure with its text (an operator's UI that shows the server's error): one info
    finding for the project, the places listed; a traceback still goes out on its own finding, and
    ``house_style = false`` brings back one finding per place."""
    api = _operator_api(6, 2) + textwrap.dedent("""

        import traceback


        @app.post("/api/debug")
        def debug(payload: dict) -> dict:
            try:
                return {"result": store.run_debug(payload)}
            except Exception:
                return {"error": traceback.format_exc()}
        """)
    files = {"app/__init__.py": "", "app/store.py": "store = object()\n", "app/main.py": api}
    found = run(tmp_path / "house", monkeypatch, DebugEndpointLeak, files)
    house = [f for f in found if f.entity.startswith("house-style")]
    assert len(house) == 1 and house[0].severity is Severity.INFO
    assert "6 of 9" in house[0].message and len(house[0].related) == 5
    assert "`POST /api/action_0`" in house[0].message
    rest = [f for f in found if f not in house]
    assert len(rest) == 1 and "traceback" in rest[0].message and rest[0].severity is Severity.WARNING
    each = run(tmp_path / "each", monkeypatch, DebugEndpointLeak, files, {"house_style": False})
    assert len([f for f in each if "traceback" not in f.message]) == 6
    assert all(f.severity is Severity.WARNING for f in each)


def test_debug_leak_as_the_exception_stays_on_its_handler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One handler of a project that otherwise answers with fixed messages sends the text: the outlier keeps its
    own warning."""
    files = {"app/__init__.py": "", "app/store.py": "store = object()\n", "app/main.py": _operator_api(1, 6)}
    found = run(tmp_path, monkeypatch, DebugEndpointLeak, files)
    assert len(found) == 1 and found[0].severity is Severity.WARNING and "house" not in found[0].entity
    assert "`POST /api/action_0`" in found[0].message
