"""Auth patterns the linker must read through: a JWT decode with a key as the check and the rejection, and
a caller check handed to a provider the configuration chooses.

Each case has a twin that must stay unauthenticated (FAL401 still an error there)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fastapi_arch_lint.config import Config
from fastapi_arch_lint.engine import analyze, review
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.unresolved import auth_uncertain_routes


def _write(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))


def _model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> AppModel:
    _write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    return analyze(["."], base=tmp_path, jobs=1).model


def _fal401(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    return {f"{f.path}:{f.line}": f.severity.value
            for f in review(["."], Config(root=tmp_path), select=["FAL401"]).findings}


def _by_path(model: AppModel) -> dict[str, object]:
    return {r.path: r for r in model.routes}


# --- A: a classmethod user dependency whose injected token reader decodes a JWT with a key -------------

TOKEN_READER = """
    import json

    import jwt
    from fastapi import Request, Response

    from app.conf import conf


    class UnpackFailed(Exception):
        def __init__(self, code: int, text: str):
            self.code = code
            self.text = text


    class TicketReader:
        def __init__(self, req: Request = None, res: Response = None):
            self.req = req
            self.res = res
            self.signing_key = conf.signing_key
            self._cookie_name = "visit_ticket_cookie"
            self._algs = ["HS256"]

        def read_subject(self, source: str = "request", ticket: str | None = None) -> dict:
            if source == "request":
                if not ticket:
                    ticket = self.req.cookies.get(self._cookie_name)
            elif source == "headers":
                if not ticket:
                    ticket = self.req.headers.get("Authorization").split(" ")[-1]
            else:
                raise ValueError("unsupported source")
            return self.unpack(ticket)

        def unpack(self, ticket: str) -> dict:
            try:
                body = jwt.decode(ticket, {KEY}algorithms=self._algs{OPTIONS})
                return json.loads(body.get("sub"))
            except Exception as e:
                raise UnpackFailed(422, str(e))
"""

MEMBERS = """
    from typing import Self

    from fastapi import Depends
    from pydantic import BaseModel

    from app.tickets import TicketReader


    class MemberBase(BaseModel):
        member_id: int
        member_name: str = ""

        @classmethod
        async def build_member(cls, member_id: int, member_name: str) -> Self:
            return cls(member_id=member_id, member_name=member_name)

        @classmethod
        async def current_member(cls, reader: TicketReader = Depends()) -> Self:
            subject = reader.read_subject()
            return await cls.build_member(member_id=subject["member_id"], member_name=subject["member_name"])


    class Member(MemberBase):
        async def shelves(self) -> list[int]:
            return []
"""

SHELF_ROUTES = """
    from fastapi import APIRouter, Depends, FastAPI

    from app.members import Member

    app = FastAPI()
    router = APIRouter(prefix="/shelves")


    @router.post("/stack")
    async def stack_shelf(member: Member = Depends(Member.current_member)):
        return {"ok": member.member_id}


    app.include_router(router)
"""


def _ticket_app(key: str, options: str) -> dict[str, str]:
    return {
        "app/__init__.py": "",
        "app/conf.py": "class Conf:\n    signing_key = 'k'\n\nconf = Conf()\n",
        "app/tickets.py": TOKEN_READER.replace("{KEY}", key).replace("{OPTIONS}", options),
        "app/members.py": MEMBERS,
        "app/main.py": SHELF_ROUTES,
    }


def test_a_classmethod_dependency_whose_reader_decodes_a_jwt_with_a_key_authenticates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(tmp_path, monkeypatch, _ticket_app("self.signing_key, ", ""))
    route = _by_path(model)["/shelves/stack"]
    assert route.auth.required
    [via] = route.auth.via
    assert (via.kind, via.name) == ("dependency", "current_member")
    assert "visit_ticket_cookie" in via.evidence and "jwt.decode" in via.evidence
    assert _fal401(tmp_path, monkeypatch) == {}


@pytest.mark.parametrize(("key", "options"), [
    ("self.signing_key, ", ', options={"verify_signature": False}'),  # verification off
    ("", ""),  # no key: nothing to verify with
    ("None, ", ""),
])
def test_a_jwt_decode_without_verification_is_no_check(key: str, options: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(tmp_path, monkeypatch, _ticket_app(key, options))
    route = _by_path(model)["/shelves/stack"]
    assert not route.auth.required and route.auth.via == ()
    assert _fal401(tmp_path, monkeypatch) == {"app/main.py:10": "error"}


def test_a_decode_whose_failure_is_swallowed_is_no_rejection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _ticket_app("self.signing_key, ", "")
    files["app/tickets.py"] = files["app/tickets.py"].replace("raise UnpackFailed(422, str(e))", "return {}")
    model = _model(tmp_path, monkeypatch, files)
    assert not _by_path(model)["/shelves/stack"].auth.required


# --- B: a class that registers its own methods, whose handlers hand the headers to a configured provider --

DESK_SERVER = """
    from abc import ABC, abstractmethod
    from enum import Enum

    from anyio import to_thread
    from fastapi import APIRouter, FastAPI, Request

    from app.conf import conf


    class Act(str, Enum):
        WIPE = "wipe"
        TIDY = "tidy"


    class IdentityProvider(ABC):
        @abstractmethod
        def authenticate_headers(self, headers: dict) -> str:
            ...


    class Parts:
        def require(self, kind):
            return self.made[kind]


    class DeskServer:
        def __init__(self, parts: Parts):
            self._app = FastAPI()
            self._log: list = []
            self.identity_provider = None
            if conf.identity_provider:
                self.identity_provider = parts.require(IdentityProvider)
            self.router = APIRouter()
            self.router.add_api_route("/api/v9/wipe", self.wipe, methods=["POST"])
            self.router.add_api_route("/api/v9/tidy", self.tidy, methods=["POST"])
            self.router.add_api_route("/api/v9/stamp", self.stamp, methods=["POST"])
            self._app.include_router(self.router)

        def app(self) -> FastAPI:
            return self._app

        async def check_request(self, headers, act: Act, space: str | None) -> None:
            return await to_thread.run_sync(self.sync_check_request, *(headers, act, space))

        def sync_check_request(self, headers, act: Act, space: str | None) -> None:
            if not self.identity_provider:
                return
            who = self.identity_provider.authenticate_headers(dict(headers))
            self._log.append((who, act, space))

        async def record(self, act: Act, space: str | None) -> None:
            self._log.append((act, space))

        async def wipe(self, request: Request) -> bool:
            await self.check_request(request.headers, Act.WIPE, None)
            self._log.clear()
            return True

        async def stamp(self, request: Request) -> bool:
            def stamp_in_thread(request: Request, raw: bytes) -> bool:
                self.sync_check_request(request.headers, Act.WIPE, raw.decode())
                self._log.append(raw)
                return True

            return await to_thread.run_sync(stamp_in_thread, request, await request.body(), limiter=None)

        async def tidy(self, request: Request) -> bool:
            await self.record(Act.TIDY, None)
            self._log.clear()
            return True


    server = DeskServer(Parts())
    app = server.app()
"""


def test_b_a_caller_check_by_a_configured_provider_leaves_the_route_auth_unknown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(tmp_path, monkeypatch, {
        "app/__init__.py": "",
        "app/conf.py": "class Conf:\n    identity_provider = None\n\nconf = Conf()\n",
        "app/server.py": DESK_SERVER,
    })
    routes = _by_path(model)
    assert set(routes) == {"/api/v9/wipe", "/api/v9/tidy", "/api/v9/stamp"}
    uncertain = {r.path for r in auth_uncertain_routes(model)}
    wipe, tidy = routes["/api/v9/wipe"], routes["/api/v9/tidy"]
    # the provider decides, and the analysis cannot read which one (or whether one) is configured
    for route in (wipe, routes["/api/v9/stamp"]):  # in the handler, or in a function it runs in a worker thread
        assert route.path in uncertain and not route.auth.via
        assert any(d.kind == "unknown" and "authenticate_headers" in d.name for d in route.dependencies)
    # the twin asks nothing about the caller: no authentication reaches it
    assert "/api/v9/tidy" not in uncertain and not tidy.auth.required
    fal401 = _fal401(tmp_path, monkeypatch)
    assert list(fal401.values()) == ["error"] and len(fal401) == 1
    assert next(iter(fal401)).startswith("app/server.py:")
    line = int(next(iter(fal401)).rsplit(":", 1)[1])
    assert "tidy" in (tmp_path / "app/server.py").read_text().splitlines()[line - 1]


def test_a_decode_after_a_return_for_a_missing_token_is_no_rejection(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    files = _ticket_app("self.signing_key, ", "")
    files["app/tickets.py"] = files["app/tickets.py"].replace(
        "            return self.unpack(ticket)", "            if not ticket:\n                return {}\n"
        "            return self.unpack(ticket)")
    assert "return {}" in files["app/tickets.py"]
    model = _model(tmp_path, monkeypatch, files)
    assert not _by_path(model)["/shelves/stack"].auth.required


def test_a_dependency_that_calls_an_auth_object_the_configuration_picks_leaves_auth_unknown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ``desk_user`` receives an object from ``get_desk_handler`` (one of two subclasses, by setting) and calls
    # it with the request; the base class's ``__call__`` is abstract, so what answers is not known. The twin
    # dependency only reads the client's address: no authentication reaches its route
    files = {
        "app/__init__.py": "",
        "app/auth.py": """
            from abc import ABC, abstractmethod

            from fastapi import Depends, HTTPException, Request

            DESK_MODE = "open"


            class DeskHandler(ABC):
                @abstractmethod
                async def __call__(self, request: Request) -> str:
                    ...


            class OpenDesk(DeskHandler):
                async def __call__(self, request: Request) -> str:
                    return request.cookies.get("desk_user") or "guest"


            class TokenDesk(DeskHandler):
                async def __call__(self, request: Request) -> str:
                    token = request.headers.get("Authorization")
                    if not token:
                        raise HTTPException(status_code=401)
                    return token


            def get_desk_handler() -> DeskHandler:
                return TokenDesk() if DESK_MODE == "token" else OpenDesk()


            async def desk_user(request: Request, handler: DeskHandler = Depends(get_desk_handler)):
                return await handler(request)


            def client_address(request: Request) -> str:
                return request.client.host
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI

            from app.auth import desk_user, client_address

            app = FastAPI()


            @app.post("/tickets")
            async def open_ticket(user: str = Depends(desk_user)):
                return {"owner": user}


            @app.post("/visits")
            async def log_visit(who: str = Depends(client_address)):
                return {"by": who}
        """,
    }
    model = _model(tmp_path, monkeypatch, files)
    routes = _by_path(model)
    uncertain = {r.path for r in auth_uncertain_routes(model)}
    assert "/tickets" in uncertain and "/visits" not in uncertain
    assert any(d.kind == "unknown" and "desk_user" in d.name for d in routes["/tickets"].dependencies)
    assert not routes["/visits"].auth.required
    [where] = _fal401(tmp_path, monkeypatch)
    path, line = where.rsplit(":", 1)
    assert path == "app/main.py"
    assert '"/visits"' in (tmp_path / path).read_text().splitlines()[int(line) - 1]


# --- C: the principal an ambient request context holds, put there by authenticating middleware -------

AMBIENT = {
    "app/__init__.py": "",
    "app/context.py": """
        from contextvars import ContextVar
        from dataclasses import dataclass


        @dataclass
        class Scope:
            user: object = None
            locale: str = "en"


        _scope: ContextVar[Scope] = ContextVar("scope", default=Scope())
        signed_in_user: ContextVar[object] = ContextVar("signed_in_user", default=None)


        def scope() -> Scope:
            return _scope.get()
    """,
    "app/guards.py": """
        from fastapi import Depends, HTTPException

        from app.context import scope, signed_in_user


        def needs_user(role: str | None = None):
            def check():
                user = scope().user
                if user is None:
                    raise HTTPException(status_code=403, detail="sign in first")
                return user
            return Depends(check)


        def member():
            who = signed_in_user.get()
            if not who:
                raise HTTPException(status_code=401)
            return who


        def locale():
            lang = scope().locale
            if lang is None:
                raise HTTPException(status_code=403)
            return lang


        def reader():
            return scope().user
    """,
    "app/main.py": """
        from fastapi import Depends, FastAPI

        from app.guards import locale, member, needs_user, reader

        app = FastAPI()


        @app.put("/settings/{key}")
        def update_setting(key: str, user=needs_user(role="admin")):
            return {}


        @app.post("/notes")
        def add_note(who=Depends(member)):
            return {}


        @app.post("/translations")
        def add_translation(lang=Depends(locale)):
            return {}


        @app.delete("/notes/{note_id}")
        def drop_note(note_id: int, user=Depends(reader)):
            return {}
    """,
}


def test_c_a_principal_from_the_request_context_rejected_when_absent_is_auth(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``scope().user`` (what a call with no arguments returns) or ``signed_in_user.get()`` (a ``ContextVar``
    named for the principal), rejected with 401/403 when absent: the middleware that filled the context
    authenticated the request, the dependency enforces it. Twins: another field of the context
    (``scope().locale``) is no principal; reading the principal without rejecting is no check."""
    model = _model(tmp_path, monkeypatch, AMBIENT)
    routes = _by_path(model)
    assert routes["/settings/{key}"].auth.required  # type: ignore[attr-defined]
    assert "request context's principal" in routes["/settings/{key}"].auth.via[0].evidence  # type: ignore[attr-defined]
    assert routes["/notes"].auth.required  # type: ignore[attr-defined]
    assert not routes["/translations"].auth.required  # type: ignore[attr-defined]
    assert not routes["/notes/{note_id}"].auth.required  # type: ignore[attr-defined]
    assert _fal401(tmp_path, monkeypatch) == {"app/main.py:19": "error", "app/main.py:24": "error"}


# --- D: a JWT helper class taken as a dependency, whose `jwt_required()` is the check ------------------

JWT_HELPER = {
    "app/__init__.py": "",
    "app/guards.py": """
        from fastapi import Depends
        from fastapi_jwt_auth import AuthJWT


        def signed_in(Authorize: AuthJWT = Depends()):
            Authorize.jwt_required()
            return Authorize


        def member_id(Authorize: AuthJWT = Depends(signed_in)):
            return Authorize.get_jwt_subject()
    """,
    "app/main.py": """
        from fastapi import Depends, FastAPI
        from fastapi_jwt_auth import AuthJWT

        from app.guards import member_id, signed_in

        app = FastAPI()


        @app.post("/boards")
        def add_board(Authorize: AuthJWT = Depends(signed_in)):
            return {}


        @app.post("/boards/{board_id}/pins")
        def pin(board_id: int, member=Depends(member_id)):
            return {}


        @app.post("/boards/{board_id}/refresh")
        def refresh(board_id: int, Authorize: AuthJWT = Depends()):
            Authorize.fresh_jwt_required()
            return {}


        @app.delete("/boards/{board_id}")
        def drop_board(board_id: int, Authorize: AuthJWT = Depends()):
            who = Authorize.get_jwt_subject()
            return {"by": who}
    """,
}


def test_d_jwt_required_on_a_jwt_helper_dependency_is_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Authorize.jwt_required()`` (or ``fresh_jwt_required()``) on a parameter typed as the JWT helper class,
    in a dependency or in the handler: reads the token, verifies it, raises without one. Twin: the helper
    taken but only asked for the subject (``get_jwt_subject()`` answers None without a token) is no check,
    and the helper class itself is no unresolved dependency."""
    model = _model(tmp_path, monkeypatch, JWT_HELPER)
    routes = _by_path(model)
    assert routes["/boards"].auth.required  # type: ignore[attr-defined]
    assert "jwt_required()" in routes["/boards"].auth.via[0].evidence  # type: ignore[attr-defined]
    assert routes["/boards/{board_id}/pins"].auth.required  # type: ignore[attr-defined]
    assert routes["/boards/{board_id}/refresh"].auth.required  # type: ignore[attr-defined]
    assert not routes["/boards/{board_id}"].auth.required  # type: ignore[attr-defined]
    assert auth_uncertain_routes(model) == []
    assert _fal401(tmp_path, monkeypatch) == {"app/main.py:26": "error"}


# --- E: a helper that raises the status an error table gives the code it is handed --------------------

ERROR_TABLE = {
    "app/__init__.py": "",
    "app/errors.py": """
        from enum import Enum

        from fastapi import HTTPException


        class Fault(str, Enum):
            BAD_TICKET = "BAD_TICKET"
            NO_SUCH_SHELF = "NO_SUCH_SHELF"


        FAULTS = {
            Fault.BAD_TICKET: {"status": 401, "text": "the ticket is not valid"},
            Fault.NO_SUCH_SHELF: {"status": 404, "text": "no such shelf"},
        }


        def fail(fault: Fault, text: str):
            raise HTTPException(status_code=FAULTS[fault]["status"], detail={"fault": fault, "text": text})
    """,
    "app/main.py": """
        from fastapi import Depends, FastAPI, Request

        from app.errors import Fault, fail

        app = FastAPI()


        async def ticket_holder(request: Request) -> dict:
            ticket = request.headers.get("Authorization", "")
            if not ticket:
                fail(Fault.BAD_TICKET, "no ticket")
            return {"ticket": ticket}


        async def shelf_reader(request: Request) -> dict:
            ticket = request.headers.get("Authorization", "")
            if not ticket:
                fail(Fault.NO_SUCH_SHELF, "nothing here")
            return {}


        @app.post("/shelves")
        async def add_shelf(holder: dict = Depends(ticket_holder)):
            return {}


        @app.post("/shelves/{shelf_id}/books")
        async def shelve(shelf_id: int, reader: dict = Depends(shelf_reader)):
            return {}
    """,
}


def test_e_a_helper_raising_the_status_an_error_table_gives_its_code_rejects(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``fail(Fault.BAD_TICKET, ...)`` raises ``HTTPException(status_code=FAULTS[fault]["status"])``: the
    table is a module-level dict literal, the code the call's argument, so the status is 401 and the
    dependency rejects a missing ticket. Twin: the same helper handed a code the table maps to 404."""
    model = _model(tmp_path, monkeypatch, ERROR_TABLE)
    routes = _by_path(model)
    assert routes["/shelves"].auth.required  # type: ignore[attr-defined]
    assert "HTTPException(401)" in routes["/shelves"].auth.via[0].evidence  # type: ignore[attr-defined]
    assert not routes["/shelves/{shelf_id}/books"].auth.required  # type: ignore[attr-defined]
    assert _fal401(tmp_path, monkeypatch) == {"app/main.py:28": "warning"}  # reads a credential, never refuses


# --- F: a role dependency whose token check is three calls down ---------------------------------------

DEEP_CHECK = {
    "app/__init__.py": "",
    "app/session.py": """
        import jwt
        from fastapi import Request

        SECRET = "configured-elsewhere"


        class Ticket:
            def __init__(self, request: Request):
                self.request = request

            def raw(self) -> str:
                return self.request.cookies.get("access_token_cookie") or ""

            def claims(self) -> dict:
                return jwt.decode(self.raw(), SECRET, algorithms=["HS256"])
    """,
    "app/deps.py": """
        from fastapi import Depends, HTTPException, Request

        from app.session import Ticket


        class Members:
            @classmethod
            def member(cls, request: Request) -> dict:
                return cls.load(Ticket(request))

            @classmethod
            def load(cls, ticket: Ticket) -> dict:
                return ticket.claims()

            @classmethod
            def shelf_admin(cls, request: Request) -> dict:
                who = cls.member(request)
                if who.get("role") == "admin":
                    return who
                raise HTTPException(status_code=403)


        def browsing(request: Request) -> dict:
            return {"agent": request.headers.get("user-agent", "")}
    """,
    "app/main.py": """
        from fastapi import Depends, FastAPI

        from app.deps import Members, browsing

        app = FastAPI()


        @app.post("/shelves")
        def add_shelf(admin: dict = Depends(Members.shelf_admin)):
            return {}


        @app.post("/visits")
        def visit(info: dict = Depends(browsing)):
            return {}
    """,
}


def test_f_a_check_three_calls_below_a_dependency_that_rejects_is_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``shelf_admin`` rejects (403) and reaches the token decode three calls down (``member`` -> ``load`` ->
    ``Ticket.claims``): a dependency with half a check at two levels (a rejection, no credential read) is
    searched one level deeper. Twin: a dependency that reads a header and never rejects stays no auth."""
    model = _model(tmp_path, monkeypatch, DEEP_CHECK)
    routes = _by_path(model)
    assert routes["/shelves"].auth.required  # type: ignore[attr-defined]
    assert "decode()" in routes["/shelves"].auth.via[0].evidence  # type: ignore[attr-defined]
    assert not routes["/visits"].auth.required  # type: ignore[attr-defined]
