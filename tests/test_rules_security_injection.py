"""FAL520-FAL528 (injection with request data flow, data exposure, mass assignment, resource limits).

The pages under rules/security/ are the rules' examples; this file holds the multi-module
``vuln_app`` fixture (every flaw planted across routers and services, next to safe twins),
the runs over the other fixtures, the taint helper's edge cases and the model facts the
rules rely on (``CallSite.spread``, length constraints from ``StringConstraints``/``constr``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fastapi_arch_lint.analysis.taint import Flow, annotation_is_safe, contexts, pattern_confines, route_sources
from fastapi_arch_lint.config import Config
from fastapi_arch_lint.engine import analyze, review
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.expr import Attr, Call, Name
from fastapi_arch_lint.rule import load_rules
from fastapi_arch_lint.rules.security.command_injection import CommandInjection
from fastapi_arch_lint.rules.security.login_without_rate_limit import LoginWithoutRateLimit
from fastapi_arch_lint.rules.security.mass_assignment import MassAssignment
from fastapi_arch_lint.rules.security.path_traversal import PathTraversal
from fastapi_arch_lint.rules.security.sensitive_field_in_response import SensitiveFieldInResponse
from fastapi_arch_lint.rules.security.server_side_request_forgery import ServerSideRequestForgery
from fastapi_arch_lint.rules.security.sql_injection import SqlInjection
from fastapi_arch_lint.rules.security.unbounded_request_string import UnboundedRequestString
from fastapi_arch_lint.rules.security.upload_without_size_limit import UploadWithoutSizeLimit

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINE = sorted(code for code in load_rules() if 520 <= int(code[3:]) <= 539)


def write(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: type, files: dict[str, str],
        options: dict | None = None) -> list[Finding]:
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    return sorted(rule(options).check(model), key=lambda f: (f.path, f.line))


def lines(findings: list[Finding]) -> list[tuple[str, int]]:
    return [(f.path, f.line) for f in findings]


def review_fixture(name: str, monkeypatch: pytest.MonkeyPatch) -> list[Finding]:
    root = FIXTURES / name
    monkeypatch.chdir(root)
    result = review(["."], Config(root=root), select=MINE)
    assert not result.diagnostics, result.diagnostics
    return result.findings


# ---------------------------------------------------------------------------
# the planted fixture

VULN_APP = {
    ("FAL520", "app/routers/tickets.py", 39),  # `%` formatting in the handler
    ("FAL520", "app/services/tickets.py", 15),  # f-string + `+=` in the service the handler calls
    ("FAL529", "app/services/tickets.py", 25),  # f-string from a parameter, not traced: FAL529, low confidence
    ("FAL521", "app/routers/ops.py", 15),  # shell=True in a module helper the handler calls
    ("FAL522", "app/services/tickets.py", 38),  # body field `url` into urllib.request.Request
    ("FAL523", "app/routers/tickets.py", 49),  # FileResponse(os.path.join(EXPORT_DIR, name))
    ("FAL523", "app/services/tickets.py", 31),  # open(os.path.join(..., upload.filename))
    ("FAL524", "app/routers/users.py", 11),  # response model with hashed_password
    ("FAL524", "app/routers/users.py", 31),  # nested list[UserOut] in TeamOut
    ("FAL524", "app/routers/users.py", 37),  # ORM object returned without a response model
    ("FAL525", "app/services/accounts.py", 11),  # User(**data) with role / is_admin
    ("FAL525", "app/services/accounts.py", 20),  # setattr loop over UserUpdate (role)
    ("FAL526", "app/schemas.py", 22),  # UserCreate.password: min_length only
    ("FAL526", "app/schemas.py", 48),  # TicketIn: body, and tags (bounded strings, list unbounded): one finding
    ("FAL527", "app/routers/tickets.py", 62),  # UploadFile without a size check
    ("FAL528", "app/routers/auth.py", 22),  # /auth/login without a limiter
}


def test_vuln_app_exact_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    found = review_fixture("vuln_app", monkeypatch)
    got = {(f.rule, f.path, f.line) for f in found}
    assert got == VULN_APP, (sorted(got - VULN_APP), sorted(VULN_APP - got))


def test_vuln_app_confidence_tiers(monkeypatch: pytest.MonkeyPatch) -> None:
    found = {(f.rule, f.path, f.line): f for f in review_fixture("vuln_app", monkeypatch)}
    purge = found[("FAL529", "app/services/tickets.py", 25)]
    # every FAL529 finding is info (the origin is unknown); this one's caller passes the literal "tickets"
    assert (purge.severity, purge.confidence) == (Severity.INFO, Confidence.LOW)
    for key in [("FAL520", "app/routers/tickets.py", 39), ("FAL520", "app/services/tickets.py", 15),
                ("FAL521", "app/routers/ops.py", 15)]:
        assert (found[key].severity, found[key].confidence) == (Severity.ERROR, Confidence.HIGH)
    service_sql = found[("FAL520", "app/services/tickets.py", 15)]
    assert "`GET /tickets/search`" in service_sql.message and "passed into `search`" in service_sql.message
    # the related locations walk from the route to the call that carried the data
    assert [r.path for r in service_sql.related] == ["app/routers/tickets.py", "app/routers/tickets.py"]
    assert found[("FAL524", "app/routers/users.py", 31)].message.count("`members.hashed_password`") == 1
    assert "`TeamOut`" in found[("FAL524", "app/routers/users.py", 31)].message
    orm = found[("FAL524", "app/routers/users.py", 37)]
    assert "`hashed_password`, `api_key`" in orm.message and "no response model" in orm.message


@pytest.mark.parametrize("name", ["bigger_app", "factory_app", "src_layout", "annotated_app", "good_app",
                                  "auth_gap_app", "tutorial_jwt_app"])
def test_other_fixtures_have_no_flow_findings(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (FIXTURES / name).is_dir():
        pytest.skip(f"{name} not present")
    found = review_fixture(name, monkeypatch)
    # none of them builds SQL or shell lines, fetches client URLs, opens client paths, leaks
    # secrets or mass-assigns privileged fields (their wholesale writes copy harmless models)
    flows = [f for f in found if f.rule in ("FAL520", "FAL521", "FAL522", "FAL523", "FAL524", "FAL525", "FAL527")]
    if name == "auth_gap_app":
        # except: its create routes attach the new row to a client-chosen project / client (records
        # with an owner) that nothing on the way checks: the foreign-key case of FAL525, a warning
        attach = {(f.path, f.line) for f in flows if f.rule == "FAL525" and f.severity == Severity.WARNING
                  and "foreign key" in f.message}
        assert attach == {("app/routers/projects.py", 31), ("app/routers/time_entries.py", 20)}
        # and its invoice route takes the owner from the query string (``?owner_id=``) and writes it onto the
        # row: the query-parameter case, an error, reported on that line instead of the body's foreign key
        query = {(f.path, f.line) for f in flows if f.rule == "FAL525" and f.severity == Severity.ERROR
                 and "query parameter `owner_id`" in f.message}
        assert query == {("app/routers/billing.py", 38)}
        flows = [f for f in flows if (f.path, f.line) not in attach | query]
    assert not flows, [(f.rule, f.path, f.line, f.message) for f in flows]
    if name == "good_app":
        loud = [f for f in found if f.severity in (Severity.ERROR, Severity.WARNING)]
        assert not loud, [(f.rule, f.path, f.line, f.message) for f in loud]


def test_fixture_login_routes_are_info(monkeypatch: pytest.MonkeyPatch) -> None:
    found = review_fixture("bigger_app", monkeypatch)
    logins = [(f.path, f.line, f.severity) for f in found if f.rule == "FAL528"]
    assert logins == [("app/routers/auth.py", 15, Severity.INFO)]


# ---------------------------------------------------------------------------
# the taint walk

APP = """
from fastapi import FastAPI
from app.routes import router

app = FastAPI()
app.include_router(router)
"""


def test_taint_crosses_a_method_call_and_maps_keywords(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, SqlInjection, {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/repo.py": """
            from sqlalchemy import text


            class TicketRepo:
                def __init__(self, db):
                    self.db = db

                def find(self, *, limit: int, term: str):
                    return self.db.execute(text(f"SELECT * FROM t WHERE s = '{term}' LIMIT {limit}"))

                def page(self, limit: int):
                    return self.db.execute(text(f"SELECT * FROM t LIMIT {limit}"))
        """,
        "app/routes.py": """
            from fastapi import APIRouter
            from app.repo import TicketRepo

            router = APIRouter()


            @router.get("/t")
            def search(q: str, n: int = 10):
                repo = TicketRepo(None)
                repo.page(n)
                return repo.find(limit=n, term=q)
        """,
    })
    assert lines(found) == [("app/repo.py", 10)]
    assert found[0].severity is Severity.ERROR and "query parameter `q`" in found[0].message


def test_typed_and_sanitized_values_are_not_request_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            import os
            import shlex
            import subprocess
            import uuid
            from enum import Enum
            from typing import Annotated, Literal

            from fastapi import APIRouter, Path, Query
            from fastapi.responses import FileResponse
            from sqlalchemy import text

            router = APIRouter()


            class Kind(str, Enum):
                a = "a"


            @router.get("/a/{item_id}")
            def a(item_id: int, kind: Kind, mode: Literal["x", "y"], ref: uuid.UUID, db=None):
                db.execute(text(f"SELECT * FROM t WHERE id = {item_id} AND k = '{kind}' AND m = '{mode}' AND r = '{ref}'"))


            @router.get("/b")
            def b(name: str):
                subprocess.run(f"ls {shlex.quote(name)}", shell=True)
                return FileResponse(os.path.join("/srv", os.path.basename(name)))


            @router.get("/c")
            def c(name: str, db=None):
                name = int(name)
                db.execute(text(f"SELECT * FROM t WHERE id = {name}"))


            @router.get("/d/{slug}")
            def d(slug: Annotated[str, Path(pattern=r"^[a-z0-9-]{1,40}$")], q: str = Query(pattern=r"^\\w+$")):
                subprocess.run(f"echo {slug} {q}", shell=True)
                return FileResponse(os.path.join("/srv", slug, q))
        """,
    }
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    for rule in (SqlInjection, CommandInjection, PathTraversal):
        assert list(rule().check(model)) == [], rule.code


def test_request_accessors_are_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, ServerSideRequestForgery, {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            import httpx
            import requests
            from fastapi import APIRouter, Request

            router = APIRouter()
            BASE = "https://api.example.com"


            @router.post("/fetch")
            async def fetch(request: Request):
                body = await request.json()
                requests.get(body["url"], timeout=5)
                target = request.query_params.get("next")
                async with httpx.AsyncClient() as client:
                    await client.post(target)
                    await client.get(BASE + "/v1/" + target)
                    await client.get(f"https://api.example.com/{target}")
                    await client.get(f"https://{target}.example.com/x")
                return {"state": request.app.state.name}
        """,
    })
    assert lines(found) == [("app/routes.py", 13), ("app/routes.py", 16), ("app/routes.py", 19)]


def test_route_sources_kinds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            from fastapi import APIRouter, Depends, Header, Request, UploadFile
            from pydantic import BaseModel

            router = APIRouter()


            class In(BaseModel):
                name: str
                age: int


            def dep():
                return 1


            @router.post("/x/{slug}")
            def x(slug: str, body: In, up: UploadFile, request: Request, n: int = 1,
                  x_token: str = Header(), d: int = Depends(dep)):
                return {}
        """,
    })
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    route = next(r for r in model.routes if r.path == "/x/{slug}")
    env = route_sources(model, route)
    assert {k: v.shape for k, v in env.items()} == {
        "slug": "value", "body": "model", "up": "value", "request": "request", "x_token": "value"}
    flow = Flow(model, model.function(route.handler.qualname), env)
    assert flow.taint(Attr(Name("body"), "name"), 99) is not None
    assert flow.taint(Attr(Name("body"), "age"), 99) is None  # an int field cannot carry text
    assert flow.taint(Attr(Name("up"), "size"), 99) is None
    assert flow.taint(Name("request"), 99) is None  # the Request object itself is not data
    assert flow.taint(Call(Attr(Name("request"), "json")), 99) is not None
    dumped = flow.raw(Call(Attr(Name("body"), "model_dump"), kwargs=(("exclude", Name("X")),)), 99)
    assert dumped is not None and dumped.shape == "dump"
    ctxs = list(contexts(model))
    assert [c.function.qualname for c in ctxs] == ["app.routes.x"]


@pytest.mark.parametrize(("pattern", "confines"), [
    (r"^[a-z0-9-]+$", True), (r"^[\w-]{1,40}$", True), (r"^[A-Z]{2}\d{4}$", True), (r"\A\w+\Z", True),
    (r"^[a-z0-9.-]+$", False), (r"^[^/]+$", False), (r"[a-z]+", False), (r"^.*$", False), (r"^$", False),
    (r"^[a-z ]+$", False), (None, False),
])
def test_pattern_confines(pattern: object, confines: bool) -> None:
    assert pattern_confines(pattern) is confines


def test_annotation_is_safe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"app/__init__.py": "", "app/e.py": "import enum\nclass Color(enum.Enum):\n    red = 1\n"})
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    from fastapi_arch_lint.model.expr import BinOp, Const, Subscript
    assert annotation_is_safe(model, Name("int"))
    assert annotation_is_safe(model, BinOp("|", Name("int"), Const(None)))
    assert annotation_is_safe(model, Subscript(Name("Annotated"), (Subscript(Name("Literal"), (Const("a"),)), Name("X"))))
    assert annotation_is_safe(model, Name("Color"))
    assert not annotation_is_safe(model, Name("str"))
    assert not annotation_is_safe(model, BinOp("|", Name("str"), Const(None)))
    assert not annotation_is_safe(model, None)


def test_depth_limit_two_levels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/deep.py": """
            import os


            def level3(cmd):
                os.system(cmd)


            def level2(cmd):
                os.system("echo " + cmd)
                level3(cmd)


            def level1(cmd):
                level2(cmd)
        """,
        "app/routes.py": """
            from fastapi import APIRouter
            from app.deep import level1

            router = APIRouter()


            @router.get("/run")
            def run_it(cmd: str):
                level1(cmd)
        """,
    }
    found = run(tmp_path, monkeypatch, CommandInjection, files)
    # level2 is two calls away (traced: error); level3 is three, beyond the walk: FAL521 has no
    # unknown-origin tier (a shell line from a parameter is ruff S605's smell, not a traced injection)
    assert [(f.line, f.severity) for f in found] == [(10, Severity.ERROR)]


def test_constrained_and_container_types_are_not_sql_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, SqlInjection, {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            from typing import Annotated
            from uuid import UUID

            from fastapi import APIRouter, Query
            from pydantic import BaseModel, StringConstraints, constr
            from sqlalchemy import text

            router = APIRouter()
            Code = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


            class Batch(BaseModel):
                ids: list[UUID]
                release: str
                note: str


            @router.get("/a")
            def a(db, code: Code, sku: constr(pattern=r"^[a-z0-9-]+$"), version: str = Query(pattern=r"^[0-9.]+$")):
                return db.execute(text(f"SELECT * FROM t WHERE c = '{code}' AND s = '{sku}' AND v = '{version}'"))


            @router.post("/b")
            def b(db, body: Batch):
                db.execute(text(f"DELETE FROM t WHERE id IN {tuple(body.ids)}"))
                db.execute(text(f"UPDATE t SET note = '{body.note}'"))
        """,
    })
    assert [f.line for f in found] == [27]  # only the free-text note


def test_path_segment_reach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a {name} segment is quiet as the last component of a file call, not of a directory call,
    # nor before another component, nor joined by os.path.join in the middle
    found = run(tmp_path, monkeypatch, PathTraversal, {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            import os
            import shutil
            from pathlib import Path

            from fastapi import APIRouter
            from fastapi.responses import FileResponse

            router = APIRouter()
            BASE = Path("/srv/data")


            @router.get("/a/{name}")
            def a(name: str):
                return FileResponse(os.path.join("/srv/data", name))


            @router.delete("/b/{name}")
            def b(name: str):
                shutil.rmtree(BASE / name)


            @router.get("/c/{name}")
            def c(name: str):
                return open(os.path.join("/srv/data", name, "meta.json")).read()


            @router.get("/d/{name}")
            def d(name: str):
                return open(f"/srv/data/{name}.json").read()


            @router.get("/e/{name}")
            def e(name: str):
                return open("/srv/data/" + name + "/meta.json").read()
        """,
    })
    assert [f.line for f in found] == [20, 25, 35]


def test_allowlist_checks_end_the_taint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, SqlInjection, {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            from fastapi import APIRouter, HTTPException
            from sqlalchemy import text

            router = APIRouter()
            COLUMNS = ("name", "created")


            @router.get("/a")
            def a(db, sort: str):
                if sort in COLUMNS:
                    pass
                else:
                    raise HTTPException(400)
                return db.execute(text(f"SELECT * FROM t ORDER BY {sort}"))


            @router.get("/b")
            def b(db, sort: str):
                if "/" not in sort:
                    raise HTTPException(400)
                return db.execute(text(f"SELECT * FROM t ORDER BY {sort}"))


            @router.get("/c")
            def c(db, sort: str):
                return db.execute(text(f"SELECT * FROM t ORDER BY {sort}"))
                if sort not in COLUMNS:
                    raise HTTPException(400)
        """,
    })
    # a literal is no allowlist, and a check after the sink does not count
    assert [f.line for f in found] == [22, 27]


def test_offline_code_and_fal529(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_arch_lint.analysis.taint import is_offline_path
    from fastapi_arch_lint.rules.security.sql_built_from_strings import SqlBuiltFromStrings

    assert is_offline_path("alembic/versions/0001_init.py") and is_offline_path("src/app/cli.py")
    assert is_offline_path("scripts/seed.py") and is_offline_path("manage.py")
    assert not is_offline_path("app/services/orders.py") and not is_offline_path("app/tasks.py")
    files = {
        "app/__init__.py": "",
        "app/main.py": APP,
        "db/changes/r1.py": """
            import sqlalchemy as sa
            from alembic import op


            def upgrade(table):
                op.execute(sa.text(f"DELETE FROM {table} WHERE id IS NULL"))
        """,
        "app/routes.py": """
            from fastapi import APIRouter
            from sqlalchemy import text

            router = APIRouter()


            def purge(db, table: str):
                db.execute(text(f"DELETE FROM {table}"))


            @router.get("/t")
            def search(db, q: str):
                return db.execute(text(f"SELECT * FROM t WHERE s = '{q}'"))
        """,
    }
    found = run(tmp_path, monkeypatch, SqlBuiltFromStrings, files)
    # the revision outside alembic/ is known by its `from alembic import op`; the traced sink is FAL520's
    # (info: no request is shown to run `purge`; test_fal529_says_where_the_value_comes_from has the reached case)
    assert [(f.path, f.line, f.severity, f.confidence) for f in found] == [
        ("app/routes.py", 9, Severity.INFO, Confidence.LOW)]


def test_fal529_says_where_the_value_comes_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_arch_lint.rules.security.sql_built_from_strings import SqlBuiltFromStrings

    files = {
        "app/__init__.py": "",
        "app/store.py": """
            from sqlalchemy import text


            class Store:
                def __init__(self, db):
                    self.db = db

                def count_in(self, table: str):
                    return self.db.execute(text(f"SELECT count(*) FROM {table}"))

                def count_recent(self, days: int):
                    view = "recent_" + str(days)
                    return self.db.execute(text(f"SELECT count(*) FROM {view}"))


            def archive(db, table: str):
                db.execute(text(f"DELETE FROM {table} WHERE archived"))
        """,
        "app/routes.py": """
            from fastapi import APIRouter, Depends

            from app.store import Store

            router = APIRouter()


            def get_store() -> Store:
                return Store(None)


            def audit(table: str):
                return Store(None).count_in(table)


            @router.get("/counts")
            def counts(store: Store = Depends(get_store)):
                audit("orders")
                return store.count_recent(7)
        """,
        "app/main.py": """
            from fastapi import FastAPI

            from app.routes import router

            app = FastAPI()
            app.include_router(router)
        """,
    }
    found = {(f.path, f.line): f for f in run(tmp_path, monkeypatch, SqlBuiltFromStrings, files)}
    # every finding is info (the origin is unknown); the message says where the value comes from
    assert {f.severity for f in found.values()} == {Severity.INFO}
    # reached (handler -> audit -> Store.count_in) and built from a `str` parameter
    assert "of a function a request reaches" in found[("app/store.py", 10)].message
    # reached, but the name is computed from an `int`
    assert "a value the code computes" in found[("app/store.py", 14)].message
    # a `str` parameter, but nothing a request runs calls it: info
    assert found[("app/store.py", 18)].severity == Severity.INFO
    assert "no request is shown to run" in found[("app/store.py", 18)].message


def test_cli_commands_are_offline_for_timeouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_arch_lint.rules.security.outbound_request_without_timeout import OutboundRequestWithoutTimeout

    found = run(tmp_path, monkeypatch, OutboundRequestWithoutTimeout, {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/admin.py": """
            import click
            import requests


            @click.group()
            def cli():
                pass


            @cli.command()
            def warm_cache():
                requests.get("https://cdn.example/warm")


            def refresh():
                return requests.get("https://cdn.example/refresh").ok
        """,
    })
    assert [f.line for f in found] == [17]  # the plain helper, not the click command


# ---------------------------------------------------------------------------
# exposure, mass assignment, limits: edge cases beyond the pages

def test_sensitive_fields_masked_excluded_and_sqlmodel_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, SensitiveFieldInResponse, {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            from fastapi import APIRouter
            from pydantic import BaseModel, Field, SecretStr
            from sqlmodel import Field as SQLField, SQLModel

            router = APIRouter()


            class Hero(SQLModel, table=True):
                id: int | None = SQLField(default=None, primary_key=True)
                name: str
                hashed_password: str


            class Out(BaseModel):
                name: str
                password: SecretStr
                api_key: str = Field(exclude=True)
                next_page_token: str | None = None


            @router.get("/out")
            def out() -> Out:
                return Out(name="a", password="b", api_key="c")


            @router.get("/heroes/{hero_id}", response_model=Hero)
            def hero(hero_id: int):
                return None


            @router.get("/heroes2/{hero_id}")
            def hero2(hero_id: int) -> Hero:
                return None
        """,
    })
    assert lines(found) == [("app/routes.py", 27), ("app/routes.py", 32)]
    assert "`hashed_password`" in found[0].message


def test_sensitive_field_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter()


            class Account(BaseModel):
                iban: str
                password_hash: str


            @router.get("/account")
            def account() -> Account:
                return Account(iban="x", password_hash="y")
        """,
    }
    assert len(run(tmp_path, monkeypatch, SensitiveFieldInResponse, files)) == 1
    opts = {"fields": ["iban"], "suffixes": [], "allow": []}
    found = run(tmp_path, monkeypatch, SensitiveFieldInResponse, files, opts)
    assert len(found) == 1 and "`iban`" in found[0].message and "password_hash" not in found[0].message


def test_sensitive_field_internal_fields_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Internal fields: a warning where no admin check guards the route, none in the caller's own record or the
    back office; the option replaces the names (globs), and a secret among them stays a secret's error."""
    files = {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter()


            class Part(BaseModel):
                sku: str
                supplier_price: int
                supplier_code: str


            @router.get("/parts")
            def parts() -> list[Part]:
                return []


            @router.get("/admin/parts")
            def parts_for_staff() -> list[Part]:
                return []
        """,
    }
    found = run(tmp_path, monkeypatch, SensitiveFieldInResponse, files)
    assert [(f.line, f.severity, f.confidence) for f in found] == [(14, Severity.WARNING, Confidence.MEDIUM)]
    assert "`supplier_price`" in found[0].message and "supplier_code" not in found[0].message
    found = run(tmp_path, monkeypatch, SensitiveFieldInResponse, files, {"internal-fields": ["supplier_*"]})
    assert len(found) == 1 and "`supplier_price`, `supplier_code`" in found[0].message
    assert run(tmp_path, monkeypatch, SensitiveFieldInResponse, files, {"internal-fields": []}) == []


def test_mass_assignment_variants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, MassAssignment, {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            from fastapi import APIRouter
            from pydantic import BaseModel
            from sqlmodel import Field, SQLModel

            router = APIRouter()


            class Account(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)
                name: str
                balance: int = 0


            class AccountIn(SQLModel):
                name: str
                balance: int = 0


            @router.post("/a")
            def a(payload: AccountIn):
                return Account.model_validate(payload)


            @router.patch("/b/{account_id}")
            def b(account_id: int, payload: AccountIn):
                acc = Account(name="x")
                acc.sqlmodel_update(payload.model_dump(exclude_unset=True))
                return acc


            @router.patch("/c/{account_id}")
            def c(account_id: int, payload: AccountIn):
                acc = Account(name="x")
                acc.sqlmodel_update(payload.model_dump(exclude={"balance"}))
                data = {**payload.model_dump(include={"name"})}
                return Account(**data)
        """,
    })
    assert lines(found) == [("app/routes.py", 22), ("app/routes.py", 28)]
    assert all("`balance`" in f.message for f in found)


def test_mass_assignment_query_parameters_options_and_admin_routes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Privileged query parameters written onto rows: an option adds a name (a glob), an admin dependency and a
    membership check keep them quiet, and a value passed through a local is still followed."""
    files = {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            from fastapi import APIRouter, Depends, HTTPException
            from sqlmodel import Field, Session, SQLModel

            router = APIRouter()


            class Ticket(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)
                priority: str = "normal"
                internal_flag: bool = False


            def require_admin() -> None:
                return None


            @router.post("/tickets")
            def open_ticket(priority: str = "normal", internal_flag: bool = False):
                chosen = internal_flag
                return Ticket(priority=priority, internal_flag=chosen)


            @router.post("/admin/tickets", dependencies=[Depends(require_admin)])
            def open_any(internal_flag: bool = False):
                return Ticket(internal_flag=internal_flag)


            @router.post("/tickets/{ticket_id}/priority-bump")
            def bump(ticket_id: int, priority: str, session: Session):
                if priority not in ("high", "urgent"):
                    raise HTTPException(status_code=422)
                ticket = session.get(Ticket, ticket_id)
                ticket.priority = priority
                return ticket
        """,
    }
    found = run(tmp_path, monkeypatch, MassAssignment, files)
    assert [(f.line, f.severity) for f in found] == [(21, Severity.WARNING)]
    assert "`internal_flag`" in found[0].message and "`Ticket(..., internal_flag=chosen)`" in found[0].message
    found = run(tmp_path, monkeypatch, MassAssignment, files, {"privileged-query-parameters": ["prio*"]})
    assert [(f.line, f.severity) for f in found] == [(21, Severity.WARNING)]
    assert "`priority`" in found[0].message


def test_mass_assignment_whose_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``is_active`` is a privilege on a principal's table only; a tenant key the call sets itself
    (``org=``, the relationship of ``org_id``) is the server's; a plain ``dict`` body sets any column."""
    found = run(tmp_path, monkeypatch, MassAssignment, {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            from typing import Any

            from fastapi import APIRouter, Request
            from pydantic import BaseModel
            from sqlalchemy import ForeignKey, String
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

            router = APIRouter()


            class Base(DeclarativeBase):
                pass


            class Member(Base):
                __tablename__ = "members"
                id: Mapped[int] = mapped_column(primary_key=True)
                hashed_password: Mapped[str] = mapped_column(String(100))
                is_active: Mapped[bool] = mapped_column(default=True)


            class Supplier(Base):
                __tablename__ = "suppliers"
                id: Mapped[int] = mapped_column(primary_key=True)
                org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
                is_active: Mapped[bool] = mapped_column(default=True)


            class MemberIn(BaseModel):
                name: str
                is_active: bool = True


            class SupplierIn(BaseModel):
                name: str
                is_active: bool = True
                org_id: int


            def load_org(org_id: int) -> object:
                return object()


            @router.post("/members")
            def add_member(payload: MemberIn):
                return Member(**payload.model_dump())


            @router.post("/suppliers")
            def add_supplier(payload: SupplierIn):
                return Supplier(**payload.model_dump(), org=load_org(1))


            @router.post("/suppliers/raw")
            def add_supplier_raw(payload: dict[str, Any]):
                return Supplier(**payload)


            @router.post("/suppliers/json")
            async def add_supplier_json(request: Request):
                data = await request.json()
                supplier = Supplier()
                for key, value in data.items():
                    setattr(supplier, key, value)
                return supplier
        """,
    })
    got = {(f.line, f.severity) for f in found}
    assert got == {(47, Severity.ERROR), (57, Severity.ERROR), (65, Severity.ERROR)}, \
        [(f.line, f.message) for f in found]
    by_line = {f.line: f for f in found}
    assert "`is_active`" in by_line[47].message
    assert "plain `dict`" in by_line[57].message and "`org_id`" in by_line[57].message


def test_unbounded_strings_nested_and_inherited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, UnboundedRequestString, {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/schemas.py": """
            from pydantic import BaseModel, Field


            class Base(BaseModel):
                note: str


            class Line(BaseModel):
                sku: str = Field(max_length=20)
                comment: str


            class OrderIn(Base):
                lines: list[Line] = Field(max_length=50)
                meta: dict[str, str] = {}


            class OrderOut(BaseModel):
                text: str
        """,
        "app/routes.py": """
            from fastapi import APIRouter
            from app.schemas import OrderIn, OrderOut

            router = APIRouter()


            @router.post("/orders")
            def create(order: OrderIn) -> OrderOut:
                return OrderOut(text="ok")


            @router.put("/orders/{order_id}")
            def replace(order_id: int, order: OrderIn) -> OrderOut:
                return OrderOut(text="ok")
        """,
    }, {"exclude-fields": ["OrderIn.meta"]})
    assert lines(found) == [("app/schemas.py", 6), ("app/schemas.py", 11)]
    assert "nested through `OrderIn.lines`" in found[1].message


HOUSE_ROUTES = """
    from fastapi import APIRouter
    from app.schemas import NoteIn, TagIn, TeamIn, UserIn

    router = APIRouter()


    @router.post("/notes")
    def add_note(note: NoteIn) -> dict:
        return {}


    @router.post("/tags")
    def add_tag(tag: TagIn) -> dict:
        return {}


    @router.post("/teams")
    def add_team(team: TeamIn) -> dict:
        return {}


    @router.post("/users")
    def add_user(user: UserIn) -> dict:
        return {}
"""


def _house(title: str, body: str) -> dict[str, str]:
    return {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": HOUSE_ROUTES,
        "app/schemas.py": f"""
            from pydantic import BaseModel, Field


            class NoteIn(BaseModel):
                title: {title}
                body: {body}


            class TagIn(BaseModel):
                name: str = Field(max_length=30)
                color: str = Field(max_length=7)


            class TeamIn(BaseModel):
                name: str = Field(max_length=80)
                motto: str = Field(max_length=200)


            class UserIn(BaseModel):
                name: str = Field(max_length=80)
                email: str = Field(max_length=254)
        """,
    }


def test_unbounded_strings_on_a_development_only_route_are_info(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The same oversight on a router the app includes only in a development setup (``if settings.ENV ==
    "local": app.include_router(...)``) is info, and says why; the same router included unconditionally keeps
    its warning (the house-style test above)."""
    files = _house("str", "str")
    files["app/main.py"] = """
from fastapi import FastAPI
from app.routes import router
from app.settings import settings

app = FastAPI()
if settings.ENVIRONMENT == "local":
    app.include_router(router)
"""
    files["app/settings.py"] = """
        from pydantic_settings import BaseSettings


        class Settings(BaseSettings):
            ENVIRONMENT: str = "production"


        settings = Settings()
    """
    found = run(tmp_path, monkeypatch, UnboundedRequestString, files)
    assert lines(found) == [("app/schemas.py", 6)]
    assert found[0].severity == Severity.INFO
    assert "registered only if `settings.ENVIRONMENT == \"local\"` (a development setup)" in found[0].message


def test_unbounded_strings_follow_the_house_style(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 6 of 8 fields bounded: the two unbounded ones are an oversight, one finding for their model
    found = run(tmp_path / "bounded", monkeypatch, UnboundedRequestString, _house("str", "str"))
    assert lines(found) == [("app/schemas.py", 6)]
    assert (found[0].severity, found[0].confidence) == (Severity.WARNING, Confidence.HIGH)
    assert "2 of its fields" in found[0].message and "`body`" in found[0].message
    assert "bounds 6 of its 8" in found[0].message
    assert found[0].end_line == 7  # the span covers every unbounded field (for --changed-since)
    # a project that never bounds: said once, at the project level, every model a related location
    never = _house("str", "str")
    never["app/schemas.py"] = never["app/schemas.py"].replace("= Field(max_length=30)", "").replace(
        "= Field(max_length=7)", "").replace("= Field(max_length=80)", "").replace(
        "= Field(max_length=200)", "").replace("= Field(max_length=254)", "")
    found = run(tmp_path / "never", monkeypatch, UnboundedRequestString, never)
    assert len(found) == 1 and found[0].severity == Severity.INFO
    assert "8 of the 8" in found[0].message and len(found[0].related) == 3
    assert found[0].entity == "house-style FAL526 unbounded"
    # the option off: every model on its own, as an info finding
    found = run(tmp_path / "never", monkeypatch, UnboundedRequestString, never, {"house_style": False})
    assert len(found) == 4 and {f.severity for f in found} == {Severity.INFO}


def test_unbounded_strings_stop_at_response_shaped_and_deep_models(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, UnboundedRequestString, {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/schemas.py": """
            from pydantic import BaseModel, Field


            class Deep(BaseModel):
                text: str


            class Inner(BaseModel):
                label: str
                deep: Deep | None = None


            class Middle(BaseModel):
                inner: Inner | None = None


            class OwnerRead(BaseModel):
                id: int
                name: str


            class PageOfOwners(BaseModel):
                items: list[OwnerRead]


            class OrderIn(BaseModel):
                middle: Middle | None = None
                owner: OwnerRead | None = None
                secret: str | None = Field(default=None, exclude=True)
        """,
        "app/routes.py": """
            from fastapi import APIRouter
            from app.schemas import OrderIn, PageOfOwners

            router = APIRouter()


            @router.get("/owners", response_model=PageOfOwners)
            def owners() -> dict:
                return {"items": []}


            @router.post("/orders")
            def create(order: OrderIn) -> dict:
                return {}
        """,
    }, {"house_style": False})
    # Inner (two levels down) is read; Deep (three) is not, OwnerRead (nested in a response) is not
    assert lines(found) == [("app/schemas.py", 10)]
    assert found[0].confidence == Confidence.MEDIUM
    assert "nested through `OrderIn.middle` -> `Middle.inner`" in found[0].message


def test_upload_limits_and_middleware(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            from fastapi import APIRouter, UploadFile

            router = APIRouter()


            def store(file):
                data = file.file.read()
                if len(data) > 1000:
                    raise ValueError("too big")


            @router.post("/a")
            def a(file: UploadFile):
                store(file)


            @router.post("/b")
            def b(file: UploadFile):
                return {"name": file.filename}
        """,
    }
    assert lines(run(tmp_path, monkeypatch, UploadWithoutSizeLimit, files)) == [("app/routes.py", 19)]
    files["app/main.py"] = APP + "\nclass LimitUploadSize:\n    pass\n\napp.add_middleware(LimitUploadSize, max_upload_size=1)\n"
    assert run(tmp_path, monkeypatch, UploadWithoutSizeLimit, files) == []
    # a middleware that checks the body size by what it does, whatever its name: a function...
    files["app/main.py"] = APP + textwrap.dedent("""
        from fastapi import Request
        from fastapi.responses import JSONResponse


        @app.middleware("http")
        async def guard_requests(request: Request, call_next):
            if int(request.headers.get("content-length", "0")) > 10_000_000:
                return JSONResponse({"detail": "too large"}, status_code=413)
            return await call_next(request)
    """)
    assert run(tmp_path, monkeypatch, UploadWithoutSizeLimit, files) == []
    # ... or a pure ASGI class
    files["app/main.py"] = APP + textwrap.dedent("""
        class Gatekeeper:
            def __init__(self, app, ceiling: int) -> None:
                self.app = app
                self.ceiling = ceiling

            async def __call__(self, scope, receive, send):
                headers = dict(scope.get("headers") or [])
                if int(headers.get(b"content-length", b"0")) > self.ceiling:
                    raise RuntimeError("too large")
                await self.app(scope, receive, send)


        app.add_middleware(Gatekeeper, ceiling=10_000_000)
    """)
    assert run(tmp_path, monkeypatch, UploadWithoutSizeLimit, files) == []


def test_login_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": APP,
        "app/routes.py": """
            from fastapi import APIRouter, Request
            from slowapi import Limiter
            from slowapi.util import get_remote_address

            router = APIRouter()
            limiter = Limiter(key_func=get_remote_address)


            def guard(request: Request):
                pass


            @router.post("/login")
            @limiter.limit("5/minute")
            def login(request: Request):
                return {}


            @router.post("/login/access-token")
            def access_token(request: Request):
                guard(request)
                return {}


            @router.post("/password-reset")
            def reset(request: Request):
                return {}


            @router.get("/login")
            def login_page():
                return {}
        """,
    }
    assert lines(run(tmp_path, monkeypatch, LoginWithoutRateLimit, files)) == [
        ("app/routes.py", 20), ("app/routes.py", 26)]
    found = run(tmp_path, monkeypatch, LoginWithoutRateLimit, files, {"limiters": ["guard"]})
    assert lines(found) == [("app/routes.py", 26)]


# ---------------------------------------------------------------------------
# model facts added for these rules

def test_callsite_spread_keeps_star_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"m.py": "def f(a, b, data, opts):\n    g(*a, 1, **data.model_dump(), k=2, **opts)\n"})
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    fn = model.function("m.f")
    site = next(s for s, _ in fn.calls if s.call.func == Name("g"))
    assert site.call.starred
    assert [(stars, type(e).__name__) for stars, e in site.spread] == [("*", "Name"), ("**", "Call"), ("**", "Name")]
    assert all(not s.spread for s, _ in fn.calls if s is not site)


def test_length_constraints_from_string_constraints_and_constr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"m.py": """
        from typing import Annotated
        from pydantic import BaseModel, Field, StringConstraints, constr, conlist

        Short = Annotated[str, StringConstraints(max_length=5)]


        class M(BaseModel):
            a: Annotated[str, StringConstraints(max_length=30)]
            b: Short
            c: Short | None = None
            d: constr(max_length=20)
            e: conlist(str, max_length=4)
            f: list[Short] = []
            g: Annotated[str, Field(max_length=7)] | None = None
    """})
    monkeypatch.chdir(tmp_path)
    m = analyze(["."]).model.model("m.M")
    assert m is not None
    got = {f.name: (f.constraint("max_length"), f.type_names[:1]) for f in m.fields}
    assert got == {
        "a": (30, ("builtins.str",)), "b": (5, ("builtins.str",)), "c": (5, ("typing.Union",)),
        "d": (20, ("builtins.str",)), "e": (4, ("builtins.list",)),
        "f": (None, ("builtins.list",)),  # the items are bounded, the list is not
        "g": (7, ("typing.Union",)),
    }


# ---------------------------------------------------------------------------
# routes only administrators can call (``Route.privileged``): lower severity, never silence

ADMIN_DEPS = """
    from fastapi import Depends, HTTPException, Request


    class Member:
        id: int
        is_admin: bool


    def current_member(request: Request) -> Member:
        if request.headers.get("Authorization") is None:
            raise HTTPException(status_code=401)
        return Member()


    def admin(member: Member = Depends(current_member)) -> Member:
        if not member.is_admin:
            raise HTTPException(status_code=403)
        return member
"""


def test_fal524_other_users_tokens_to_admins_only_is_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/deps.py": ADMIN_DEPS,
        "app/schemas.py": """
            from pydantic import BaseModel


            class KeyOut(BaseModel):
                key_token: str


            class MemberOut(BaseModel):
                username: str
                tokens: list[KeyOut] = []


            class MemberRow(BaseModel):
                username: str
                hashed_password: str
        """,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI, HTTPException

            from app.deps import Member, admin, current_member
            from app.schemas import MemberOut, MemberRow

            app = FastAPI()
            back_office = APIRouter(prefix="/admin", dependencies=[Depends(admin)])


            @back_office.get("/members/{member_id}", response_model=MemberOut)
            def admin_read_member(member_id: int) -> dict:
                return {}


            @back_office.get("/rows/{member_id}", response_model=MemberRow)
            def admin_read_row(member_id: int) -> dict:
                return {}


            @app.get("/members", response_model=list[MemberOut])
            def list_members(member: Member = Depends(current_member)) -> list:
                return []


            @app.get("/members/{member_id}", response_model=MemberOut)
            def read_member(member_id: int, member: Member = Depends(current_member)) -> dict:
                other = load_member(member_id)
                if other.team_id != member.team_id:
                    raise HTTPException(status_code=403)  # a team check, not privilege: teammates' tokens go out
                return {}


            app.include_router(back_office)
        """,
    }
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, SensitiveFieldInResponse, files)}
    admin_tokens = found["GET /admin/members/{member_id}"]
    assert (admin_tokens.severity, admin_tokens.confidence) == (Severity.INFO, Confidence.MEDIUM)
    assert "only administrators can call it" in admin_tokens.message
    # a password hash goes to nobody, administrators included
    assert found["GET /admin/rows/{member_id}"].severity is Severity.ERROR
    # any logged-in member receives the others' tokens: still an error
    assert found["GET /members"].severity is Severity.ERROR
    assert found["GET /members/{member_id}"].severity is Severity.ERROR
    assert "administrators" not in found["GET /members"].message


def test_fal527_admin_only_upload_is_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/deps.py": ADMIN_DEPS,
        "app/main.py": """
            import shutil

            from fastapi import Depends, FastAPI, UploadFile

            from app.deps import Member, admin, current_member

            app = FastAPI()


            @app.post("/admin/restore", dependencies=[Depends(admin)])
            def restore(backup: UploadFile) -> dict:
                with open("/tmp/restore.zip", "wb") as out:
                    shutil.copyfileobj(backup.file, out)
                return {}


            @app.post("/avatar")
            def avatar(picture: UploadFile, member: Member = Depends(current_member)) -> dict:
                with open("/tmp/avatar.png", "wb") as out:
                    shutil.copyfileobj(picture.file, out)
                return {}
        """,
    }
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, UploadWithoutSizeLimit, files)}
    assert found["POST /admin/restore"].severity is Severity.INFO
    assert "only administrators can call it" in found["POST /admin/restore"].message
    assert found["POST /avatar"].severity is Severity.WARNING


def test_fal522_on_a_route_only_administrators_call_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"app/main.py": """
        import httpx
        from fastapi import Depends, FastAPI, HTTPException


        def get_current_user() -> dict:
            return {"role": "user"}


        def get_admin_user(user: dict = Depends(get_current_user)) -> dict:
            if user["role"] != "admin":
                raise HTTPException(status_code=403)
            return user


        app = FastAPI()


        @app.post("/connections/verify")
        def verify_connection(url: str, admin: dict = Depends(get_admin_user)) -> dict:
            return {"status": httpx.get(url, timeout=5).status_code}


        @app.post("/preview")
        def preview(url: str, user: dict = Depends(get_current_user)) -> dict:
            return {"status": httpx.get(url, timeout=5).status_code}
    """}
    got = {(f.line, f.severity) for f in run(tmp_path, monkeypatch, ServerSideRequestForgery, files)}
    assert got == {(21, Severity.WARNING), (26, Severity.ERROR)}, got


def test_fal525_pop_before_the_copy_and_owner_set_by_the_caller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two forms of a privileged field handled outside the copy: popped from the dump before it, and set by
    the caller on the object the copying function returns. Each twin fires."""
    found = run(tmp_path, monkeypatch, MassAssignment, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI
            from pydantic import BaseModel
            from sqlalchemy import ForeignKey, String
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

            app = FastAPI()


            class Base(DeclarativeBase):
                pass


            class Member(Base):
                __tablename__ = "members"
                id: Mapped[int] = mapped_column(primary_key=True)
                email: Mapped[str] = mapped_column(String(254))
                password_hash: Mapped[str] = mapped_column(String(128))
                role: Mapped[str] = mapped_column(String(20))


            class Page(Base):
                __tablename__ = "pages"
                id: Mapped[int] = mapped_column(primary_key=True)
                owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
                title: Mapped[str] = mapped_column(String(200))


            class GuestIn(BaseModel):
                email: str
                nickname: str = ""
                role: str = "guest"


            class PageIn(BaseModel):
                title: str
                owner_id: int | None = None


            def build_page(payload: PageIn) -> Page:
                return Page(**payload.model_dump())  # twin: nothing sets the owner


            def build_draft(payload: PageIn) -> Page:
                return Page(**payload.model_dump())  # quiet: the caller sets the owner


            @app.post("/guests", status_code=201)
            def add_guest(payload: GuestIn) -> dict:
                data = payload.model_dump()
                data.pop("role", None)
                return {"id": Member(**data, password_hash="").id}  # quiet: role popped


            @app.post("/guests/quick", status_code=201)
            def add_quick_guest(payload: GuestIn) -> dict:
                data = payload.model_dump()
                data.pop("nickname", None)
                return {"id": Member(**data, password_hash="").id}  # twin: another key popped


            @app.post("/drafts", status_code=201)
            def add_draft(payload: PageIn) -> dict:
                page = build_draft(payload)
                page.owner_id = 1
                return {"id": page.id}


            @app.post("/pages", status_code=201)
            def add_page(payload: PageIn) -> dict:
                return {"id": build_page(payload).id}
        """,
    })
    text = (tmp_path / "app/main.py").read_text().splitlines()
    assert sorted(text[f.line - 1].split("#")[-1].strip() for f in found) == [
        "twin: another key popped", "twin: nothing sets the owner"]


def test_mass_assignment_of_a_grant_table_follows_the_permission_check(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """FAL525's page: `permissions` copied onto a role table is quiet behind a permission check and a warning
    (medium confidence) without one; on a principal's table it stays an error, check or not."""
    from ruledocs import page_cases

    page = next((Path(__file__).parent.parent / "rules" / "security").glob("FAL525-*.md"))
    case = next(c for c in page_cases(page) if c.section == "Misreadings")
    found = {f.line: f for f in run(tmp_path, monkeypatch, MassAssignment, case.files) if f.path == "app/roles.py"}
    assert sorted(found) == [80, 90], sorted(found)  # draft_role, add_member
    assert (found[80].severity, found[80].confidence) == (Severity.WARNING, Confidence.MEDIUM)
    assert "no role or permission check" in found[80].message
    assert found[90].severity is Severity.ERROR


def test_a_check_the_analysis_cannot_read_lowers_fal520_fal522_fal523(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A value a project check rejects some values of first (a field validator or an ``if not ok(x): raise``
    that hands it to a predicate the analysis cannot follow to a word pattern) is a warning, medium confidence;
    one it can follow (an anchored word pattern) is no text at all; an unchecked twin stays an error."""
    files = {
        "app/__init__.py": "",
        "app/checks.py": """
            import re

            from app.rules import RULES


            def is_slug(value: str) -> bool:
                return re.fullmatch(r"^[a-z0-9_]+$", value) is not None


            def looks_fine(value: str) -> bool:
                return RULES.accepts(value)
        """,
        "app/rules.py": "RULES = object()\n",
        "app/main.py": """
            import httpx
            from fastapi import FastAPI, HTTPException
            from pydantic import BaseModel, field_validator
            from sqlalchemy import text
            from sqlalchemy.orm import Session

            from app.checks import is_slug, looks_fine

            app = FastAPI()
            db = Session()


            class Item(BaseModel):
                name: str
                slug: str
                free: str

                @field_validator("name")
                @classmethod
                def name_ok(cls, v: str) -> str:
                    if not looks_fine(v):
                        raise ValueError("bad name")
                    return v

                @field_validator("slug")
                @classmethod
                def slug_ok(cls, v: str) -> str:
                    if not is_slug(v):
                        raise ValueError("bad slug")
                    return v


            @app.post("/items")
            def create(item: Item) -> None:
                db.execute(text(f"INSERT INTO items VALUES ('{item.name}')"))
                db.execute(text(f"INSERT INTO items VALUES ('{item.slug}')"))
                db.execute(text(f"INSERT INTO items VALUES ('{item.free}')"))


            @app.get("/files")
            def read(name: str) -> str:
                if not looks_fine(name):
                    raise HTTPException(status_code=400)
                with open("/srv/files/" + name) as f:
                    return f.read()


            @app.get("/fetch")
            def fetch(url: str) -> int:
                if not looks_fine(url):
                    raise HTTPException(status_code=400)
                return httpx.get(url).status_code
        """,
    }
    sql = run(tmp_path, monkeypatch, SqlInjection, files)
    assert [(f.line, f.severity, f.confidence) for f in sql] == [
        (36, Severity.WARNING, Confidence.MEDIUM), (38, Severity.ERROR, Confidence.HIGH)]
    assert "`Item.name_ok`" in sql[0].message and "not known here" in sql[0].message
    paths = run(tmp_path, monkeypatch, PathTraversal, files)
    assert [(f.severity, f.confidence) for f in paths] == [(Severity.WARNING, Confidence.MEDIUM)]
    assert "`looks_fine()`" in paths[0].message
    urls = run(tmp_path, monkeypatch, ServerSideRequestForgery, files)
    assert [(f.severity, f.confidence) for f in urls] == [(Severity.WARNING, Confidence.MEDIUM)]


def test_a_word_pattern_checked_in_the_handler_clears_the_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``if not re.fullmatch(r"^[a-z0-9_]+$", name): raise`` leaves no text; a pattern that admits more (``/``)
    is a check the rule does not take as confining (a warning); ``if not file_exists(name)`` judges where the
    value points, not what it holds (still an error)."""
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            import re

            from fastapi import FastAPI, HTTPException

            app = FastAPI()


            def file_exists(name: str) -> bool:
                return bool(name)


            @app.get("/a")
            def a(name: str) -> str:
                if not re.fullmatch(r"^[a-z0-9_]+$", name):
                    raise HTTPException(status_code=400)
                with open("/srv/files/" + name) as f:
                    return f.read()


            @app.get("/b")
            def b(name: str) -> str:
                if not re.fullmatch(r"^[a-z0-9_/]+$", name):
                    raise HTTPException(status_code=400)
                with open("/srv/files/" + name) as f:
                    return f.read()


            @app.get("/c")
            def c(name: str) -> str:
                if not file_exists(name):
                    raise HTTPException(status_code=404)
                with open("/srv/files/" + name) as f:
                    return f.read()
        """,
    }
    found = run(tmp_path, monkeypatch, PathTraversal, files)
    assert [(f.line, f.severity) for f in found] == [(25, Severity.WARNING), (33, Severity.ERROR)]


@pytest.mark.parametrize("predicate", [
    "file.is_file() and file.parent.samefile(directory)",
    "file.resolve().is_relative_to(directory.resolve())",
    "os.path.commonpath([str(directory), str(file.resolve())]) == str(directory)",
    "str(file.resolve()).startswith(str(directory.resolve()))",
])
def test_path_traversal_containment_predicate_in_the_handler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            predicate: str) -> None:
    """A handler refuses the joined path unless a project predicate says it sits inside the base directory,
    then passes it on to a function that opens it: quiet. Without the check, the open fires."""
    files = {
        "app/files.py": f"import os\nfrom pathlib import Path\n\n\ndef inside(file: Path, directory: Path) -> bool:\n"
                        f"    return {predicate}\n\n\ndef load(file: Path) -> str:\n"
                        "    with file.open() as f:\n        return f.read()\n",
        "app/main.py": (
            "from pathlib import Path\n\nfrom fastapi import FastAPI, HTTPException\n\n"
            "from app.files import inside, load\n\nBASE = Path('/srv/data')\napp = FastAPI()\n\n\n"
            "@app.get('/checked')\ndef checked(name: str) -> str:\n    fn = BASE / name\n"
            "    if not inside(fn, BASE):\n        raise HTTPException(404)\n    return load(fn)\n\n\n"
            "@app.get('/unchecked')\ndef unchecked(name: str) -> str:\n    return load(BASE / name)\n"),
    }
    found = run(tmp_path, monkeypatch, PathTraversal, files)
    assert len(found) == 1 and "unchecked" in found[0].message, [f.message for f in found]



def test_fal523_dot_and_prefix_checks_in_the_handler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusing any dot and requiring a directory prefix: quiet; the suffix check alone: an error; the dot
    check alone: a warning (an absolute path gets through)."""
    from ruledocs import page_cases

    page = next((Path(__file__).resolve().parents[1] / "rules" / "security").glob("FAL523-*.md"))
    case = next(c for c in page_cases(page) if c.section == "Misreadings")
    text = case.files["app/logs.py"]
    found = {f.line: f.severity for f in run(tmp_path, monkeypatch, PathTraversal, {"app/logs.py": text})}
    sinks = [i for i, ln in enumerate(text.splitlines(), 1) if "return FileResponse(file_path)" in ln]
    assert found == {sinks[1]: Severity.ERROR, sinks[2]: Severity.WARNING}, found


def test_path_traversal_on_a_route_only_administrators_reach_is_a_warning(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's themes app: an upload written under its client-chosen file name behind a dependency that refuses
    non-superusers (the model's ``privileged``) is a warning naming the gate; the same write behind a plain
    signed-in user (the true twin) stays an error."""
    from ruledocs import page_cases

    page = next((Path(__file__).resolve().parents[1] / "rules" / "security").glob("FAL523-*.md"))
    case = next(c for c in page_cases(page) if "app/themes.py" in c.files)
    found = [f for f in run(tmp_path, monkeypatch, PathTraversal, {"app/__init__.py": "",
                                                                  "app/themes.py": case.files["app/themes.py"]})]
    marked = sorted(line for path, line, code in case.expect if path == "app/themes.py" and code == "FAL523")
    assert [(f.line, f.severity) for f in found] == [(marked[0], Severity.WARNING), (marked[1], Severity.ERROR)], \
        [f.message for f in found]
    assert "only privileged callers reach the route" in found[0].message
