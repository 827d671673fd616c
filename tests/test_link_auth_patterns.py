"""Auth patterns the linker must read through: a JWT decode with a key as the check and the rejection.

Each case has a twin that must stay unauthenticated (FAL401 still an error there)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fastapi_arch_lint.config import Config
from fastapi_arch_lint.engine import analyze, review
from fastapi_arch_lint.model.app import AppModel


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


def test_a_decode_after_a_return_for_a_missing_token_is_no_rejection(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    files = _ticket_app("self.signing_key, ", "")
    files["app/tickets.py"] = files["app/tickets.py"].replace(
        "            return self.unpack(ticket)", "            if not ticket:\n                return {}\n"
        "            return self.unpack(ticket)")
    assert "return {}" in files["app/tickets.py"]
    model = _model(tmp_path, monkeypatch, files)
    assert not _by_path(model)["/shelves/stack"].auth.required
