"""FAL2xx (HTTP semantics): edge cases beyond the rule pages' examples."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from fastapi_arch_lint.engine import analyze
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.expr import Attr, Call, Const, Name
from fastapi_arch_lint.model.facts import CallSite, Pos
from fastapi_arch_lint.rules.http._common import classify, labels
from fastapi_arch_lint.rules.http.body_on_204 import BodyOn204, no_body_status
from fastapi_arch_lint.rules.http.get_with_body import GetWithBody
from fastapi_arch_lint.rules.http.multi_method_handler import MultiMethodHandler
from fastapi_arch_lint.rules.http.post_create_without_201 import PostCreateWithout201
from fastapi_arch_lint.rules.http.put_with_all_optional_body import PutWithAllOptionalBody
from fastapi_arch_lint.rules.http.write_in_get_handler import WriteInGetHandler

HEADER = """\
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body, Depends, FastAPI, File, Form, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import delete, insert, text, update
from sqlalchemy.orm import Session

app = FastAPI()


def get_db() -> Session: ...


Db = Annotated[Session, Depends(get_db)]


class ItemIn(BaseModel):
    name: str


class ItemOut(BaseModel):
    id: int
    name: str
"""


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: type, files: dict[str, str],
        options: dict[str, Any] | None = None) -> list[Finding]:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    return sorted(rule(options).check(model), key=lambda f: (f.path, f.line))


def main(body: str) -> dict[str, str]:
    return {"app/__init__.py": "", "app/main.py": HEADER + textwrap.dedent(body)}


def lines(findings: list[Finding]) -> list[int]:
    return [f.line for f in findings]


def line_of(files: dict[str, str], marker: str, path: str = "app/main.py") -> int:
    for i, text in enumerate(files[path].splitlines(), start=1):
        if marker in text:
            return i
    raise AssertionError(marker)


# ---------------------------------------------------------------------------
# shared write detection


def site(func: Any, *args: Any) -> CallSite:
    return CallSite(Call(func, tuple(args)), Pos(1, 1, 1, 1))


def test_classify_session_writes_by_type_and_by_name() -> None:
    add = site(Attr(Name("db"), "add"), Name("x"))
    assert classify(add, "sqlalchemy.orm.Session.add") == ("db.add()", True)
    assert classify(add, "sqlmodel.Session.add") == ("db.add()", True)
    assert classify(add, None) == ("db.add()", True)  # untyped, but named like a session
    assert classify(site(Attr(Name("seen"), "add"), Name("x")), None) is None  # a set
    assert classify(site(Attr(Name("seen"), "add"), Name("x")), "builtins.set.add") is None
    commit = site(Attr(Attr(Name("self"), "_session"), "commit"))
    assert classify(commit, None) == ("self._session.commit()", False)
    assert classify(site(Attr(Name("redis"), "delete"), Const("k")), None) is None


def test_classify_statements_raw_sql_and_mongo() -> None:
    assert classify(site(Name("insert"), Name("User")), "sqlalchemy.insert") == ("insert(User)", True)
    assert classify(site(Name("update"), Name("User")), "sqlalchemy.update") == ("update(User)", False)
    assert classify(site(Name("select"), Name("User")), "sqlalchemy.select") is None
    raw = site(Name("text"), Const("UPDATE users SET seen = now()"))
    assert classify(raw, "sqlalchemy.text") is not None
    assert classify(site(Name("text"), Const("SELECT 1")), "sqlalchemy.text") is None
    assert classify(site(Name("text"), Const("Update your profile")), "sqlalchemy.text") is None
    assert classify(site(Name("text"), Const("UPDATE t SET a = 1")), "app.i18n.text") is None  # not SQLAlchemy
    assert classify(site(Attr(Name("cur"), "execute"), Const("insert into t values (1)")), None) is not None
    assert classify(site(Attr(Name("users"), "insert_one"), Name("doc")), None)[1] is True
    legacy = site(Attr(Call(Attr(Call(Attr(Name("db"), "query"), (Name("User"),)), "filter")), "delete"))
    assert classify(legacy, None) == ("query(...).delete()", False)


def test_labels_disambiguate_same_short_names_and_methods() -> None:
    assert labels(("app.routers.items.create_item", "app.services.create_item")) == [
        "items.create_item", "services.create_item"]
    assert labels(("app.main.handler", "app.repo.ItemRepo.create")) == ["handler", "ItemRepo.create"]


# ---------------------------------------------------------------------------
# FAL201 post-create-without-201


def test_fal201_explicit_200_on_a_verb_led_action_is_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `POST /store_keys, status_code=200`: a verb and its object name an action, and 200 is set on purpose;
    # the twin, a plural collection answering the default 200, keeps its warning
    files = main("""
        @app.post("/store_keys", status_code=200)
        def store_keys(body: ItemIn, db: Db):  # stored
            db.add(ItemOut(id=1, name=body.name))


        @app.post("/keys")
        def add_key(body: ItemIn, db: Db):  # added
            db.add(ItemOut(id=1, name=body.name))
    """)
    found = run(tmp_path, monkeypatch, PostCreateWithout201, files, {"house_style": False})
    assert [(f.line, f.severity) for f in found] == [
        (line_of(files, "# stored") - 1, Severity.INFO), (line_of(files, "# added") - 1, Severity.WARNING)]
    assert "sets `status_code=200` (it posts to an action" in found[0].message


def test_fal201_actions_runtime_status_and_explicit_codes_are_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = main("""
        def audit_login(db: Session, who: str) -> None:
            db.add(ItemOut(id=1, name=who))


        @app.post("/login")
        def login(db: Db):
            db.add(ItemOut(id=1, name="x"))
            return {"token": "t"}


        @app.post("/orders/{order_id}/cancel")
        def cancel(order_id: int, db: Db):
            db.add(ItemOut(id=order_id, name="cancelled"))


        @app.post("/payments/webhooks/stripe")
        def stripe_event(db: Db):
            db.add(ItemOut(id=1, name="evt"))


        @app.post("/items/accepted", status_code=status.HTTP_202_ACCEPTED)
        def enqueue(db: Db):
            db.add(ItemOut(id=1, name="job"))


        @app.post("/items/runtime")
        def create_runtime(body: ItemIn, db: Db, response: Response) -> ItemOut:
            db.add(ItemOut(id=1, name=body.name))
            response.status_code = 201
            return ItemOut(id=1, name=body.name)


        @app.post("/items/json")
        def create_json(body: ItemIn, db: Db):
            db.add(ItemOut(id=1, name=body.name))
            return JSONResponse({"id": 1}, status_code=201)


        @app.post("/items/form")
        def create_then_redirect(body: ItemIn, db: Db):
            db.add(ItemOut(id=1, name=body.name))
            return RedirectResponse("/items/1", status_code=303)


        @app.post("/sessions")
        def open_session(db: Db):
            audit_login(db, "me")
            return {"ok": True}


        @app.post("/jobs")
        async def start(db: Db):
            import asyncio
            asyncio.create_task(start())
            return {"ok": True}
    """)
    assert run(tmp_path, monkeypatch, PostCreateWithout201, files) == []


def test_fal201_upserts_and_stubs_are_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = main("""
        def insert_on_conflict(db: Session, name: str):
            stmt = insert(ItemOut).values(name=name)
            return db.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"name": name}))


        def save_item(db: Session, name: str) -> None:
            db.merge(ItemOut(id=1, name=name))
            db.add(ItemOut(id=1, name=name))


        class Repo:
            def upsert_tag(self, name: str) -> ItemOut: ...


        @app.post("/evaluations")
        def create_evaluation(body: ItemIn, db: Db) -> ItemOut:
            insert_on_conflict(db, body.name)
            return ItemOut(id=1, name=body.name)


        @app.post("/tags")
        def set_tag(body: ItemIn) -> ItemOut:
            return Repo().upsert_tag(body.name)


        @app.post("/labels")
        def add_label(body: ItemIn, db: Db) -> ItemOut:
            save_item(db, body.name)
            return ItemOut(id=1, name=body.name)


        @app.post("/uploads")
        def create_upload(body: ItemIn) -> ItemOut:
            raise HTTPException(status_code=501, detail="Not implemented")


        @app.post("/drafts")  # plain
        def create_draft(body: ItemIn, db: Db) -> ItemOut:
            if body.name:
                raise HTTPException(status_code=400)
            db.add(ItemOut(id=1, name=body.name))
            return ItemOut(id=1, name=body.name)
    """).copy()
    files["app/main.py"] = files["app/main.py"].replace("from fastapi import ", "from fastapi import HTTPException, ")
    found = run(tmp_path, monkeypatch, PostCreateWithout201, files)
    # only the plain create fires (a conditional raise leaves a path that creates)
    assert lines(found) == [line_of(files, "# plain")]


def test_fal201_repository_method_and_name_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = main("""
        class ItemRepository:
            def __init__(self, session: Session) -> None:
                self.session = session

            def create(self, name: str) -> ItemOut:
                return ItemOut(id=1, name=name)


        @app.post("/items")  # repo
        def post_items(body: ItemIn, db: Db):
            return ItemRepository(db).create(body.name)


        @app.post("/notes")  # name-only
        def create_note(body: ItemIn) -> ItemOut:
            return ItemOut(id=1, name=body.name)


        @app.post("/pings")  # no evidence
        def post_ping() -> dict:
            return {}
    """)
    got = run(tmp_path, monkeypatch, PostCreateWithout201, files)
    assert lines(got) == [line_of(files, "# repo"), line_of(files, "# name-only")]
    assert got[0].confidence is Confidence.HIGH and "ItemRepository(db).create()" in got[0].message
    assert got[1].confidence is Confidence.MEDIUM


def test_fal201_third_party_sdk_create_is_not_a_creation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an LLM/payment SDK client's ``create`` asks another service for something; a store client's creates a row
    files = main("""
        import os

        from openai import AsyncOpenAI
        from prisma import Prisma

        llm = AsyncOpenAI(api_key="x")
        prisma_db = Prisma()
        if os.environ.get("GROQ_KEY"):
            groq = AsyncOpenAI(api_key=os.environ["GROQ_KEY"])
        else:
            groq = None


        @app.post("/v1/chat/completions")  # proxy
        async def chat_completions(body: ItemIn) -> dict:
            completion = await llm.chat.completions.create(model="m", messages=[])
            if body.name == "groq" and groq is not None:
                completion = await groq.chat.completions.create(model="m", messages=[])
            return {"text": completion}


        @app.post("/v1/messages")  # local proxy
        async def post_messages(body: ItemIn) -> dict:
            client = AsyncOpenAI(api_key="x")
            return {"text": await client.messages.create(model="m", messages=[])}


        @app.post("/users")  # store
        async def post_users(body: ItemIn) -> dict:
            return await prisma_db.user.create(data={"name": body.name})
    """)
    got = run(tmp_path, monkeypatch, PostCreateWithout201, files)
    assert lines(got) == [line_of(files, "# store")], [f.message for f in got]


def test_fal201_re_adding_a_loaded_object_is_an_update(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = main("""
        class Repo:
            def __init__(self, db: Session) -> None:
                self.db = db

            def add(self, obj: ItemOut) -> ItemOut:
                self.db.add(obj)
                return obj

            def save(self, obj: ItemOut) -> ItemOut:
                self.db.add(obj)
                return obj


        @app.post("/users/{user_id}/ban")  # update
        def ban_user(user_id: int, db: Db):
            user = db.get(ItemOut, user_id)
            user.name = "banned"
            db.add(user)
            db.commit()
            return user


        @app.post("/items/{item_id}/stars")  # repo-add
        def star_item(item_id: int, db: Db):
            star = ItemOut.model_validate({"id": item_id, "name": "star"})
            return Repo(db).add(star)


        @app.post("/items/{item_id}/touch")
        def touch_item(item_id: int, db: Db):
            return Repo(db).save(db.get(ItemOut, item_id))
    """)
    got = run(tmp_path, monkeypatch, PostCreateWithout201, files)
    assert lines(got) == [line_of(files, "# repo-add")]


def test_fal201_collections_warn_actions_and_items_inform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = main("""
        def create_row(db: Session) -> ItemOut:
            return ItemOut(id=1, name="x")


        @app.get("/inventory")
        def list_inventory() -> list[ItemOut]:
            return []


        @app.post("/inventory")  # listed
        def add_inventory(db: Db) -> ItemOut:
            return create_row(db)


        @app.post("/wallets/{wallet_id}/deposits")  # plural
        def deposit(wallet_id: int, db: Db) -> ItemOut:
            return create_row(db)


        @app.post("/wallets/{wallet_id}/top-up", responses={201: {"description": "Topped up"}})  # documented
        def top_up(wallet_id: int, db: Db) -> ItemOut:
            return create_row(db)


        @app.post("/plans/random")  # action
        def random_plan(db: Db) -> ItemOut:
            return create_row(db)


        @app.post("/users/{user_id}/stars/{slug}")  # item
        def star(user_id: int, slug: str, db: Db) -> ItemOut:
            return create_row(db)


        @app.post("/helpdesk/assistant")  # singular
        def chat(db: Db) -> ItemOut:
            return create_row(db)


        @app.post("/mailer/credentials")  # one thing
        def set_mailer(db: Db) -> ItemOut:
            return create_row(db)
    """)
    got = {f.line: f.severity for f in run(tmp_path, monkeypatch, PostCreateWithout201, files,
                                           {"house_style": False})}
    assert got == {
        line_of(files, "# listed"): Severity.WARNING,
        line_of(files, "# plural"): Severity.WARNING,
        line_of(files, "# documented"): Severity.WARNING,
        line_of(files, "# action"): Severity.INFO,
        line_of(files, "# item"): Severity.INFO,
        line_of(files, "# singular"): Severity.INFO,
        line_of(files, "# one thing"): Severity.INFO,  # plural in form, a POST sets it
    }


def test_fal201_actions_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = main("""
        @app.post("/cart/checkout")
        def checkout(db: Db):
            db.add(ItemOut(id=1, name="order"))
            return {}
    """)
    assert len(run(tmp_path, monkeypatch, PostCreateWithout201, files)) == 1
    assert run(tmp_path, monkeypatch, PostCreateWithout201, files, {"actions": ["checkout"]}) == []


# ---------------------------------------------------------------------------
# FAL202 body-on-204


def test_fal202_statuses() -> None:
    assert [c for c in (100, 101, 200, 201, 204, 205, 304, 404) if no_body_status(c)] == [100, 101, 204, 205, 304]
    assert not no_body_status(None)


def test_fal202_returns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = main("""
        @app.delete("/a/{i}", status_code=204)
        def ok_none(i: int) -> None:
            if i:
                return None
            return


        @app.delete("/b/{i}", status_code=204)
        def ok_response_var(i: int):
            resp = Response(status_code=204)
            return resp


        @app.delete("/c/{i}", status_code=204)
        def ok_injected(i: int, response: Response):
            response.headers["X-Deleted"] = str(i)
            return response


        @app.delete("/d/{i}", status_code=204, response_model=None)
        def ok_explicit_none(i: int):
            pass


        @app.delete("/e/{i}", status_code=204)  # returns-model
        def bad_model(i: int):
            return ItemOut(id=i, name="x")


        @app.delete("/f/{i}", status_code=204)  # returns-var
        def bad_var(i: int):
            item = ItemOut(id=i, name="x")
            return item


        @app.get("/g", status_code=304)  # annotated
        def not_modified() -> dict:
            return {}


        @app.delete("/h/{i}", status_code=200)
        def fine_200(i: int):
            return {"deleted": i}
    """)
    got = run(tmp_path, monkeypatch, BodyOn204, files)
    assert lines(got) == [line_of(files, m) for m in ("# returns-model", "# returns-var", "# annotated")]
    # a response model on a no-body status stops the app at startup: error; a returned value is only dropped
    assert [f.severity for f in got] == [Severity.WARNING, Severity.WARNING, Severity.ERROR]
    assert "refuses to start" in got[2].message


# ---------------------------------------------------------------------------
# FAL203 get-with-body


def test_fal203_sources_and_methods(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = main("""
        class Filters(BaseModel):
            q: str


        def upload_dep(doc: UploadFile = File(...)) -> bytes:
            return b""


        @app.get("/a")  # form
        def a(name: Annotated[str, Form()]):
            return {}


        @app.head("/b")  # file-dep
        def b(doc: Annotated[bytes, Depends(upload_dep)]):
            return {}


        @app.delete("/c")  # delete
        def c(filters: Filters) -> None:
            return None


        @app.api_route("/d", methods=["GET", "POST"])
        def d(filters: Filters):
            return {}


        @app.get("/e")
        def e(filters: Annotated[Filters, Depends()]):
            return {}


        @app.post("/f")
        def f(filters: Filters):
            return {}
    """)
    got = run(tmp_path, monkeypatch, GetWithBody, files)
    assert lines(got) == [line_of(files, m) for m in ("# form", "# file-dep", "# delete")]
    assert [f.severity for f in got] == [Severity.WARNING, Severity.WARNING, Severity.INFO]
    assert "dependency `upload_dep`" in got[1].message
    assert lines(run(tmp_path, monkeypatch, GetWithBody, files, {"check_delete": False})) == lines(got)[:2]


# ---------------------------------------------------------------------------
# FAL204 write-in-get-handler


def test_fal204_chain_depth_background_tasks_and_ignores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = main("""
        def level3(db: Session) -> None:
            db.execute(text("DELETE FROM sessions WHERE expired"))


        def level2(db: Session) -> None:
            level3(db)


        def level1(db: Session) -> None:
            level2(db)


        def audit_read(db: Session) -> None:
            db.add(ItemOut(id=1, name="read"))
            db.commit()


        def remember(db: Session) -> None:
            db.commit()


        def get_db_committing() -> Session:
            db = Session()
            db.commit()
            return db


        @app.get("/deep")  # deep
        def deep(db: Db):
            level1(db)
            return {}


        @app.get("/bg")
        def bg(db: Db, tasks: BackgroundTasks):
            tasks.add_task(remember, db)
            audit_read(db)
            return {}


        @app.get("/dep")
        def dep(db: Annotated[Session, Depends(get_db_committing)]):
            seen = set()
            seen.add(1)
            return {}


        @app.get("/direct")  # direct
        def direct(db: Db):
            db.execute(update(ItemOut).values(name="x"))
            return {}


        @app.api_route("/mixed", methods=["GET", "POST"])
        def mixed(db: Db):
            db.commit()
    """)
    got = run(tmp_path, monkeypatch, WriteInGetHandler, files)
    assert lines(got) == [line_of(files, "# deep"), line_of(files, "# direct")]
    assert "deep -> level1 -> level2 -> level3" in got[0].message
    assert [r.line for r in got[0].related[:3]] == [
        line_of(files, "    level1(db)"), line_of(files, "    level2(db)"), line_of(files, "    level3(db)")]
    shallow = run(tmp_path, monkeypatch, WriteInGetHandler, files, {"max_depth": 2})
    assert lines(shallow) == [line_of(files, "# direct")]
    strict = run(tmp_path, monkeypatch, WriteInGetHandler, files, {"ignore_functions": []})
    assert line_of(files, '@app.get("/bg")') in lines(strict)


def test_fal204_rows_seeded_on_first_read_are_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = main("""
        class Preferences(BaseModel):
            user_id: int


        def copy_defaults(db: Session, user_id: int) -> None:
            db.add(Preferences(user_id=user_id))
            db.commit()


        def find(db: Session, user_id: int) -> list: ...


        @app.get("/preferences")  # seeded in the handler
        def preferences(user_id: int, db: Db):
            rows = find(db, user_id)
            if not rows:
                db.add(Preferences(user_id=user_id))
                db.commit()
                rows = find(db, user_id)
            return rows


        @app.get("/preferences/defaults")  # seeded by a helper
        def defaults(user_id: int, db: Db):
            rows = find(db, user_id)
            if len(rows) == 0:
                copy_defaults(db, user_id)
            return find(db, user_id)


        @app.get("/preferences/reset")  # every time
        def reset(user_id: int, db: Db):
            copy_defaults(db, user_id)
            return find(db, user_id)


        def suggestions_for(db: Session, user_id: int) -> list:
            stored = db.execute(select(Preferences).where(Preferences.user_id == user_id)).first()
            if stored is not None:
                return stored
            computed = [user_id]
            db.add(Preferences(user_id=user_id))
            db.commit()
            return computed


        def recompute(db: Session, user_id: int) -> list:
            stored = db.execute(select(Preferences).where(Preferences.user_id == user_id)).first()
            if stored is not None:
                print(stored)
            db.add(Preferences(user_id=user_id))
            db.commit()
            return [user_id]


        def visits_for(db: Session, user_id: int) -> list:
            found = db.execute(select(ItemOut).where(ItemOut.id == user_id)).first()
            if found is not None:
                return found
            db.add(Preferences(user_id=user_id))
            db.commit()
            return []


        @app.get("/preferences/visits")  # stores another row than it looks up
        def visits(user_id: int, db: Db):
            return visits_for(db, user_id)


        @app.get("/preferences/suggestions")  # a cache filled once
        def suggestions(user_id: int, db: Db):
            return suggestions_for(db, user_id)


        @app.get("/preferences/recomputed")  # stored on every call
        def recomputed(user_id: int, db: Db):
            return recompute(db, user_id)
    """)
    got = {f.line: f.severity for f in run(tmp_path, monkeypatch, WriteInGetHandler, files)}
    assert got == {
        line_of(files, "# seeded in the handler"): Severity.INFO,
        line_of(files, "# seeded by a helper"): Severity.INFO,
        line_of(files, "# every time"): Severity.WARNING,
        line_of(files, "# a cache filled once"): Severity.INFO,
        line_of(files, "# stored on every call"): Severity.WARNING,
        line_of(files, "# stores another row than it looks up"): Severity.WARNING,
    }


def test_fal204_router_of_two_apps_is_reported_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two entry points include the same router: one registration, one finding."""
    files = {
        "app/__init__.py": "",
        "app/routes.py": """
            from fastapi import APIRouter
            from sqlalchemy.orm import Session

            router = APIRouter()


            @router.get("/items/{item_id}/touch")
            def touch(item_id: int, db: Session) -> dict:
                db.commit()
                db.add(item_id)
                return {}
        """,
        "app/main.py": """
            from fastapi import FastAPI

            from app.routes import router

            app = FastAPI()
            app.include_router(router, prefix="/api")
        """,
        "app/server.py": """
            from fastapi import FastAPI

            from app.routes import router

            server = FastAPI()
            server.include_router(router, prefix="/api")
        """,
    }
    got = run(tmp_path, monkeypatch, WriteInGetHandler, files)
    assert [(f.path, f.line) for f in got] == [("app/routes.py", 8)]


def test_fal204_sign_in_steps_are_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = main("""
        from fastapi.responses import HTMLResponse


        class UserSession(BaseModel):
            user_id: int


        class Invoice(BaseModel):
            user_id: int


        def open_session(db: Session, user_id: int) -> UserSession:
            user_session = UserSession(user_id=user_id)
            db.add(user_session)
            db.commit()
            return user_session


        def end_session(db: Session, user_session: UserSession | None) -> None:
            if user_session is not None:
                db.delete(user_session)
                db.commit()


        def panel(link: str) -> HTMLResponse:
            return HTMLResponse(f"<a href='{link}'>open</a>")


        @app.get("/sso/done")  # redirect annotation
        def done(db: Db) -> RedirectResponse:
            open_session(db, 1)
            return RedirectResponse("/")


        @app.get("/sign-out")  # cookie
        def sign_out(db: Db, response: Response) -> dict:
            end_session(db, None)
            response.delete_cookie("sid")
            return {}


        @app.get("/portal-link", status_code=303)  # status
        def portal_link(db: Db):
            open_session(db, 1)


        @app.get("/portal-panel")  # page by a helper
        def portal_panel(db: Db):
            user_session = open_session(db, 1)
            return panel(str(user_session.user_id))


        @app.get("/sessions/new")  # json
        def new_session(db: Db) -> dict:
            open_session(db, 1)
            return {}


        @app.get("/invoices/issue")  # business
        def issue(db: Db) -> RedirectResponse:
            open_session(db, 1)
            db.add(Invoice(user_id=1))
            db.commit()
            return RedirectResponse("/")


        def load_credential(db: Session) -> UserSession: ...


        @app.get("/calendar")  # renewal
        def calendar(db: Db) -> dict:
            credential = load_credential(db)
            credential.user_id = 2
            db.add(credential)
            db.commit()
            return {}
    """)
    got = {f.line: f.severity for f in run(tmp_path, monkeypatch, WriteInGetHandler, files)}
    assert got == {
        line_of(files, "# redirect annotation"): Severity.INFO,
        line_of(files, "# cookie"): Severity.INFO,
        line_of(files, "# status"): Severity.INFO,
        line_of(files, "# page by a helper"): Severity.INFO,
        line_of(files, "# json"): Severity.WARNING,  # no browser is sent there: a command in a GET
        line_of(files, "# business"): Severity.WARNING,  # it also writes what is no sign-in's state
        line_of(files, "# renewal"): Severity.INFO,  # a loaded credential saved again, nothing made
    }


ENVELOPE_APP = """
    class Result(BaseModel):
        success: bool = True
        data: dict | None = None


    @app.post("/tickets", response_model=Result)  # create
    def create_ticket(name: str):
        return Result(data={"name": name})


    @app.get("/tickets", response_model=Result)
    def list_tickets():
        return Result()


    @app.get("/tickets/{i}", response_model=Result)
    def read_ticket(i: int):
        return Result()


    @app.put("/tickets/{i}", response_model=Result)
    def update_ticket(i: int):
        return Result()


    @app.delete("/tickets/{i}", response_model=Result)
    def delete_ticket(i: int):
        return Result()
"""


def test_fal201_envelope_app_without_201_is_its_house_style(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer in one envelope model and no 201 anywhere: the create is said once, as info; the same app with
    one create answering 201 has its 200 create as an outlier (a warning); `house_style = false` judges it alone."""
    files = main(ENVELOPE_APP)
    got = run(tmp_path, monkeypatch, PostCreateWithout201, files)
    assert [(f.line, f.severity, f.entity) for f in got] == [
        (line_of(files, "# create"), Severity.INFO, "house-style FAL201 create-200 envelope app.main.app")]
    assert "envelope `Result` (5 of 5 routes" in got[0].message
    off = run(tmp_path, monkeypatch, PostCreateWithout201, files, {"house_style": False})
    assert [(f.line, f.severity) for f in off] == [(line_of(files, "# create"), Severity.WARNING)]
    made = main(ENVELOPE_APP + """

    @app.post("/labels", response_model=Result, status_code=201)
    def create_label(name: str):
        return Result()
""")
    got = run(tmp_path, monkeypatch, PostCreateWithout201, made)
    assert [(f.line, f.severity) for f in got] == [(line_of(made, "# create"), Severity.WARNING)]


# ---------------------------------------------------------------------------
# FAL205 multi-method-handler


def test_fal205_head_companion_and_double_include(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/routes.py": textwrap.dedent("""
            from fastapi import APIRouter

            router = APIRouter()


            @router.api_route("/health", methods=["GET", "HEAD"])
            def health():
                return {}


            @router.api_route("/sync", methods=["get", "post"])  # multi
            def sync():
                return {}


            @router.get("/a")
            @router.get("/b")
            def aliases():
                return {}
        """),
        "app/main.py": textwrap.dedent("""
            from fastapi import FastAPI

            from app.routes import router

            app = FastAPI()
            app.include_router(router)
            app.include_router(router, prefix="/v1")
        """),
    }
    got = run(tmp_path, monkeypatch, MultiMethodHandler, files)
    assert [(f.path, f.line) for f in got] == [("app/routes.py", line_of(files, "# multi", "app/routes.py"))]


def test_fal205_unsafe_aliases_are_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """POST and PUT (or PUT and PATCH) on one handler: no safe request runs its writes, info; GET and POST: a
    warning, by either form of registration."""
    files = {
        "app/__init__.py": "",
        "app/main.py": textwrap.dedent("""
            from fastapi import FastAPI

            app = FastAPI()


            @app.post("/members/sync")  # stacked unsafe
            @app.put("/members/sync")
            def sync_members():
                return {}


            @app.api_route("/members/patch", methods=["PUT", "PATCH"])  # one unsafe
            def patch_members():
                return {}


            @app.api_route("/members/export", methods=["GET", "POST"])  # one mixed
            def export_members():
                return {}


            @app.get("/members/count")  # stacked mixed
            @app.post("/members/count")
            def count_members():
                return {}
        """),
    }
    got = {f.line: f.severity for f in run(tmp_path, monkeypatch, MultiMethodHandler, files)}
    assert got == {
        line_of(files, "# stacked unsafe"): Severity.INFO,
        line_of(files, "# one unsafe"): Severity.INFO,
        line_of(files, "# one mixed"): Severity.WARNING,
        line_of(files, "# stacked mixed"): Severity.WARNING,
    }


# ---------------------------------------------------------------------------
# FAL206 put-with-all-optional-body


def test_fal206_only_none_defaults_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = main("""
        class Base(BaseModel):
            name: str | None = None


        class Patchy(Base):
            price: float | None = Field(default=None, gt=0)


        class Prefs(BaseModel):
            theme: str = "light"
            beta: bool | None = None


        class Mixed(BaseModel):
            name: str
            note: str | None = None


        @app.put("/a/{i}")  # inherited
        def a(i: int, body: Patchy):
            return {}


        @app.put("/b/{i}")
        def b(i: int, body: Prefs):
            return {}


        @app.put("/c/{i}")
        def c(i: int, body: Mixed):
            return {}


        @app.patch("/d/{i}")
        def d(i: int, body: Patchy):
            return {}
    """)
    got = run(tmp_path, monkeypatch, PutWithAllOptionalBody, files)
    assert lines(got) == [line_of(files, "# inherited")]
    assert "`Patchy`" in got[0].message and "2 fields" in got[0].message


def test_fal206_put_as_the_update_method_is_said_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = """
        class Part(BaseModel):
            name: str | None = None


        class Whole(BaseModel):
            name: str


        @app.put("/a/{i}")  # first partial
        def a(i: int, body: Part):
            return {}


        @app.put("/b/{i}")  # second partial
        def b(i: int, body: Part):
            return {}


        @app.put("/c/{i}")
        def c(i: int, body: Whole):
            return {}


        @app.put("/d/{i}")
        def d(i: int, body: Whole):
            return {}


        @app.put("/e/{i}")
        def e(i: int, body: Whole):
            return {}
    """
    # PUT is the update method (5 of 5), no PATCH: one info finding listing both partial PUTs
    files = main(body)
    got = run(tmp_path, monkeypatch, PutWithAllOptionalBody, files)
    assert [(f.line, f.severity) for f in got] == [(line_of(files, "# first partial"), Severity.INFO)]
    assert "5 of 5" in got[0].message and "2 of those PUTs" in got[0].message
    assert [r.line for r in got[0].related] == [line_of(files, "# second partial")]
    # a PATCH with a full body on the path of a partial PUT: two ways to change part of one resource
    files = main(body + """

        @app.patch("/b/{i}")
        def b_patch(i: int, body: Whole):
            return {}
    """)
    got = run(tmp_path, monkeypatch, PutWithAllOptionalBody, files)
    assert [(f.line, f.severity) for f in got] == [(line_of(files, "# first partial"), Severity.INFO),
                                                  (line_of(files, "# second partial"), Severity.WARNING)]
    # the API serves partial updates with PATCH: every partial PUT departs from it
    files = main(body + """

        @app.patch("/f/{i}")
        def f(i: int, body: Part):
            return {}
    """)
    got = run(tmp_path, monkeypatch, PutWithAllOptionalBody, files)
    assert [(f.severity, f.confidence) for f in got] == [(Severity.WARNING, Confidence.HIGH)] * 2


def test_fal206_without_contrast_is_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = """
        class Part(BaseModel):
            name: str | None = None


        @app.put("/a/{i}")  # partial
        def a(i: int, body: Part):
            return {}


        @app.put("/b/{i}")
        def b(i: int, body: Part):
            return {}
    """
    # every PUT partial, no PATCH: PUT may be this API's partial update by choice
    got = run(tmp_path, monkeypatch, PutWithAllOptionalBody, main(body))
    assert [f.severity for f in got] == [Severity.INFO] * 2
    # a PUT that replaces beside them: a client cannot tell which PUT keeps what it leaves out
    got = run(tmp_path, monkeypatch, PutWithAllOptionalBody, main(body + """

        @app.put("/c/{i}")
        def c(i: int, body: ItemIn):
            return {}
    """))
    assert [f.severity for f in got] == [Severity.WARNING] * 2


# ---------------------------------------------------------------------------
# model: calls through ``self`` resolve (link/callgraph.py ``CallGraph._self_callee``)


def test_self_attribute_calls_resolve_through_the_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/repo.py": textwrap.dedent("""
            from sqlalchemy.ext.asyncio import AsyncSession


            class Repo:
                def __init__(self, session: AsyncSession) -> None:
                    self._session = session

                async def add(self, obj: object) -> None:
                    self._session.add(obj)
                    await self._session.commit()


            class Service:
                audit: Repo | None = None

                def __init__(self, repo: Repo) -> None:
                    self._repo = repo
                    self.backup = Repo(None)

                async def create(self, obj: object) -> None:
                    await self._repo.add(obj)
                    await self.backup.add(obj)
                    await self._notify()
                    self.unknown.thing()

                async def _notify(self) -> None:
                    await self.audit.add(1)


            class SubService(Service):
                async def again(self, obj: object) -> None:
                    await self._repo.add(obj)
        """),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model

    def targets(q: str) -> list[str | None]:
        return [t for _, t in model.functions[q].calls]

    assert targets("app.repo.Repo.add") == [
        "sqlalchemy.ext.asyncio.AsyncSession.add", "sqlalchemy.ext.asyncio.AsyncSession.commit"]
    assert targets("app.repo.Service.create") == [
        "app.repo.Repo.add", "app.repo.Repo.add", "app.repo.Service._notify", None]
    assert targets("app.repo.Service._notify") == ["app.repo.Repo.add"]  # class-level annotation
    assert targets("app.repo.SubService.again") == ["app.repo.Repo.add"]  # inherited attribute
    chain = [trail for _, site, t, trail in model.callees("app.repo.Service.create") if t and t.endswith("Session.add")]
    assert chain[0] == ("app.repo.Service.create", "app.repo.Repo.add")


def test_matches_any_is_fnmatchcase_against_each_pattern() -> None:
    import fnmatch

    from fastapi_arch_lint.rules.http._common import matches_any

    patterns = ["_*", "*_internal", "log[_-]*", "a?c", "x[!y]z", "*.py", "*"]
    names = ["_x", "foo_internal", "log_write", "log-x", "abc", "axc", "xaz", "xyz", "foo.py", "", "a\nb", "LOG_x"]
    for k in range(len(patterns) + 1):
        for chosen in (patterns[:k], patterns[k:], patterns[k - 1:k]):
            for name in names:
                assert matches_any(name, chosen) == any(fnmatch.fnmatchcase(name, p) for p in chosen), (name, chosen)
