"""FAL6xx (async), FAL7xx (schema) and FAL8xx (layering): edge cases and the fixtures' findings."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from ruledocs import page_cases

from fastapi_arch_lint.config import Config
from fastapi_arch_lint.engine import analyze, review
from fastapi_arch_lint.extract.parse import extract_source

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")



def page_case(category: str, code: str, section: str):
    """The project of one section (``Example``, ``Misreadings``...) of a rule's page."""
    page = next((Path(__file__).parent.parent / "rules" / category).glob(f"{code}-*.md"))
    return next(c for c in page_cases(page) if c.section == section)

def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], code: str,
        options: dict | None = None) -> list:
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    cfg = Config(root=tmp_path, rule_options={code: options} if options else {})
    result = review(["."], cfg, select=[code])
    assert not result.diagnostics, result.diagnostics
    return [f for f in result.findings if f.rule == code]


def lines(findings: list) -> set[tuple[str, int]]:
    return {(f.path, f.line) for f in findings}


_FIXTURE_RESULTS: dict[str, list] = {}


def fixture_findings(name: str, code: str, monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, int]]:
    if name not in _FIXTURE_RESULTS:
        root = FIXTURES / name
        monkeypatch.chdir(root)
        result = review(["."], Config(root=root), select=list(CODES))
        assert not result.diagnostics, result.diagnostics
        _FIXTURE_RESULTS[name] = result.findings
    return {(f.path, f.line) for f in _FIXTURE_RESULTS[name] if f.rule == code}


def L(text: str, anchor: str, offset: int) -> int:
    """The line ``offset`` lines below the only line containing ``anchor``."""
    return line_of(text, anchor) + offset


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line of ``text`` (as written to disk) that contains ``needle``."""
    found = [i for i, line in enumerate(textwrap.dedent(text).splitlines(), start=1) if needle in line]
    assert len(found) == 1, (needle, found)
    return found[0]


# ---------------------------------------------------------------------------
# model: ``with ... as name`` binds the name like an assignment

def test_with_as_is_collected_as_an_assignment() -> None:
    src = textwrap.dedent("""
        import httpx

        async def handler():
            with httpx.Client(timeout=3) as client, open("x") as (a, b):
                return client.get("https://example.com")
    """).encode()
    facts = extract_source(src, "m.py").facts
    assert facts is not None
    fn = facts.scope.functions[0]
    targets = {a.target: a for a in fn.scope.assigns}
    assert "client" in targets and targets["client"].pos.line == 5
    assert "a" not in targets and "b" not in targets  # tuple targets are not bound


def test_with_as_client_methods_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"app/__init__.py": "", "app/main.py": """
        import httpx
        from sqlmodel import Session

        def handler(engine):
            with httpx.Client() as client:
                client.get("https://example.com")
            with Session(engine) as session:
                session.exec("select 1")
    """})
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    targets = {t for _, t in model.functions["app.main.handler"].calls}
    assert {"httpx.Client().get", "sqlmodel.Session().exec"} <= targets


# ---------------------------------------------------------------------------
# FAL601 blocking-call-in-async

SERVICES = """
    import subprocess
    import time
    from pathlib import Path

    import requests


    def fetch_rates(base: str) -> dict:
        return requests.get(f"https://rates.example.com/{base}", timeout=5).json()


    def level1() -> dict:
        return level2()


    def level2() -> dict:
        return level3()


    def level3() -> dict:
        return fetch_rates("EUR")


    def slow_report() -> str:
        time.sleep(1)
        return Path("report.txt").read_text()


    async def enrich(user_id: int) -> dict:
        return requests.post("https://crm.example.com", json={"id": user_id}, timeout=5).json()


    def run_job() -> None:
        subprocess.run(["true"], check=True)


    class Mailer:
        def __init__(self) -> None:
            time.sleep(0.1)
"""

MAIN = """
    import asyncio
    import os

    import httpx
    from asgiref.sync import sync_to_async
    from fastapi import Depends, FastAPI, Request
    from fastapi.concurrency import run_in_threadpool

    from app import services

    app = FastAPI()


    async def audit() -> None:
        with open("/tmp/audit.log", "a") as fh:
            fh.write("x")


    @app.middleware("http")
    async def stamp(request: Request, call_next):
        os.system("true")
        return await call_next(request)


    @app.get("/a")
    async def a():
        return services.fetch_rates("EUR")


    @app.get("/b")
    async def b():
        client = httpx.Client()
        return client.get("https://x").json()


    @app.get("/c")
    async def c():
        with httpx.Client(timeout=3) as client:
            r = client.get("https://x")
        return r.json()


    @app.get("/d")
    async def d():
        async with httpx.AsyncClient() as client:
            r = await client.get("https://x")
        return r.json()


    @app.get("/e")
    async def e():
        rates = await run_in_threadpool(services.fetch_rates, "EUR")
        report = await asyncio.to_thread(lambda: services.slow_report())
        other = await run_in_threadpool(lambda: httpx.get("https://x"))
        return {"rates": rates, "report": report, "other": other}


    @app.get("/f")
    def f():
        return services.fetch_rates("EUR")


    @app.get("/g", dependencies=[Depends(audit)])
    async def g():
        await asyncio.sleep(0)
        return await services.enrich(1)


    @app.get("/h")
    async def h():
        return await sync_to_async(services.run_job)()


    @app.get("/i")
    async def i():
        services.Mailer()
        return {}


    @app.get("/j")
    async def j():
        return services.level1()
"""


def test_fal601_contexts_and_offloading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, {"app/__init__.py": "", "app/services.py": SERVICES, "app/main.py": MAIN},
                "FAL601")
    by_line = {f.line: f for f in found}
    dep, mw = line_of(MAIN, 'with open("/tmp/audit.log"'), line_of(MAIN, 'os.system("true")')
    # dependency (open), middleware (os.system), a (chain), b (local client), c (with client),
    # g (awaited async function with requests inside), i (constructor __init__); not j (4 levels deep)
    expected = {
        dep: "(dependency)", mw: "(middleware)",
        L(MAIN, "async def a(", 1): "`a -> services.fetch_rates -> requests.get`",
        L(MAIN, "async def b(", 2): "`b -> client.get`",
        L(MAIN, "async def c(", 2): "`c -> client.get`",
        L(MAIN, "async def g(", 2): "`g -> services.enrich -> requests.post`",
        L(MAIN, "async def i(", 1): "services.Mailer.__init__",
    }
    assert sorted(by_line) == sorted(expected)
    for line, text in expected.items():
        assert text in by_line[line].message, (line, by_line[line].message)
    assert "declare the middleware" not in by_line[mw].help
    a_line = L(MAIN, "async def a(", 1)
    assert by_line[a_line].related and by_line[a_line].related[0].path.endswith("services.py")
    assert by_line[L(MAIN, "async def b(", 2)].confidence.value == "high"
    assert by_line[a_line].confidence.value == "medium"


def test_fal601_depth_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, {"app/__init__.py": "", "app/services.py": SERVICES, "app/main.py": MAIN},
                "FAL601", {"depth": 1})
    got = {f.line for f in found}
    assert L(MAIN, "async def a(", 1) in got and L(MAIN, "async def g(", 2) in got
    assert L(MAIN, "async def j(", 1) not in got  # 4 levels down
    found = run(tmp_path, monkeypatch, {}, "FAL601", {"depth": 4})
    j = [f for f in found if f.line == L(MAIN, "async def j(", 1)]
    chain = "`j -> services.level1 -> services.level2 -> services.level3 -> services.fetch_rates -> requests.get`"
    assert j and chain in j[0].message


def test_fal601_sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/db.py": """
            from sqlalchemy import create_engine
            from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker(bind=create_engine("sqlite://"))
            AsyncSessionLocal = async_sessionmaker(create_async_engine("sqlite+aiosqlite://"))
        """,
        "app/main.py": """
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession
            from sqlmodel import Session

            from app.db import AsyncSessionLocal, SessionLocal

            app = FastAPI()


            async def get_session():
                async with AsyncSessionLocal() as s:
                    yield s


            @app.get("/a")
            async def a():
                with SessionLocal() as db:
                    return db.execute(select(1)).all()


            @app.get("/b")
            async def b(s: Annotated[AsyncSession, Depends(get_session)]):
                s.add(object())
                await s.commit()
                return (await s.execute(select(1))).all()


            @app.get("/c")
            async def c(s: Session):
                return s.exec(select(1)).all()


            @app.get("/d")
            def d(s: Session):
                return s.exec(select(1)).all()
        """,
    }
    found = run(tmp_path, monkeypatch, files, "FAL601")
    main = files["app/main.py"]
    assert {f.line for f in found} == {L(main, "async def a(", 2), L(main, "async def c(", 1)}
    assert all("Session" in f.message for f in found)


# ---------------------------------------------------------------------------
# FAL701-FAL704 schema

MODELS = """
    from datetime import datetime
    from decimal import Decimal

    from sqlalchemy import Column, Float, ForeignKey, Index, Integer, Numeric, PrimaryKeyConstraint, String, UniqueConstraint
    from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
    from sqlmodel import Field, SQLModel


    class Base(DeclarativeBase):
        pass


    class IdMixin:
        id: Mapped[int] = mapped_column(primary_key=True)


    class TimestampMixin(IdMixin):
        created_at: Mapped[datetime] = mapped_column()


    class OwnedMixin:
        owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


    class User(TimestampMixin, Base):
        __tablename__ = "users"
        email: Mapped[str] = mapped_column(String(255), index=True)
        username = Column(String(50))
        balance: Mapped[float]
        tax_rate: Mapped[float]
        price_cents: Mapped[int]


    class Doc(OwnedMixin, IdMixin, Base):
        __tablename__ = "docs"
        slug: Mapped[str] = mapped_column(String(80))
        tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
        __table_args__ = (UniqueConstraint("tenant_id", "slug"), Index("ix_docs_owner", "owner_id"))


    class Note(OwnedMixin, IdMixin, Base):
        __tablename__ = "notes"
        body: Mapped[str]


    class UserRole(Base):
        __tablename__ = "user_roles"
        user_id = Column(Integer, ForeignKey("users.id"), primary_key=True)
        role_id = Column(Integer, ForeignKey("roles.id"), primary_key=True)


    class Link(Base):
        __tablename__ = "links"
        a_id = Column(Integer, ForeignKey("users.id"))
        b_id = Column(Integer, ForeignKey("users.id"))
        __table_args__ = (PrimaryKeyConstraint("a_id", "b_id"),)


    class Ledger(Base):
        __tablename__ = "ledger"
        amount = Column(Float, nullable=False)
        total_price = Column(Numeric(12, 2))
        unit_cost = Column("unit_cost", Float(precision=53))


    class Employee(Base):
        __tablename__ = "employees"
        id: Mapped[int] = mapped_column(primary_key=True)
        type: Mapped[str]
        __mapper_args__ = {"polymorphic_on": "type"}


    class Manager(Employee):
        budget_amount: Mapped[float] = mapped_column(nullable=True)


    class WithDeclaredAttr(Base):
        __tablename__ = "declared"

        @declared_attr
        def id(cls) -> Mapped[int]:
            return mapped_column(Integer, primary_key=True)

        name: Mapped[str]


    class Product(SQLModel, table=True):
        id: int | None = Field(default=None, primary_key=True)
        price: float
        discount: float | None = None
        fee: Decimal = Field(max_digits=10, decimal_places=2)
        handle: str = Field(index=True)
        category_id: int | None = Field(default=None, foreign_key="category.id")


    class Event(SQLModel, table=True):
        name: str
        total: float = Field(sa_type=Numeric(10, 2))


    class PriceIn(SQLModel):
        price: float
"""


def test_fal701(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, {"app/models.py": MODELS}, "FAL701")
    by_line = {f.line: f for f in found}
    note, role = line_of(MODELS, "class Note("), line_of(MODELS, "role_id = ")
    b_id, cat = line_of(MODELS, "b_id = "), line_of(MODELS, "category_id: ")
    # Note.owner_id comes from OwnedMixin: reported on the Note class line
    assert sorted(by_line) == sorted([note, role, b_id, cat])
    assert "inherited" in by_line[note].message
    assert "composite primary key" in by_line[role].message
    assert "non-leading column of (a_id, b_id)" in by_line[b_id].message


def test_fal701_mysql_project_is_info_said_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project whose code names MySQL as its only database: InnoDB indexes foreign keys itself, so each
    finding is info, the first saying why; a PostgreSQL driver anywhere as well leaves them as they were."""
    before = run(tmp_path / "plain", monkeypatch, {"app/models.py": MODELS}, "FAL701")
    db = 'from sqlalchemy import create_engine\n\nengine = create_engine("mysql+pymysql://app@db/app")\n'
    found = run(tmp_path / "mysql", monkeypatch, {"app/models.py": MODELS, "app/db.py": db}, "FAL701")
    assert [f.line for f in found] == [f.line for f in before] and len(found) > 1
    assert {f.severity.value for f in found} == {"info"}
    assert "the project's database is MySQL (a `mysql+pymysql://` URL in app/db.py)" in found[0].message
    assert all("MySQL indexes foreign keys itself, as said at" in f.message for f in found[1:])
    mixed = db + "import psycopg2\n"
    again = run(tmp_path / "mixed", monkeypatch, {"app/models.py": MODELS, "app/db.py": mixed}, "FAL701")
    assert [(f.line, f.severity, f.message) for f in again] == [(f.line, f.severity, f.message) for f in before]


def test_fal701_mysql_named_by_a_url_builder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dialect given to a URL builder (pydantic's ``MultiHostUrl.build(scheme=...)``, SQLAlchemy's
    ``URL.create(drivername=...)`` or its first argument) names the database as a spelled-out URL does; a
    PostgreSQL scheme built the same way beside it leaves the findings as they were."""
    before = run(tmp_path / "plain", monkeypatch, {"app/models.py": MODELS}, "FAL701")
    built = ("from pydantic_core import MultiHostUrl\n\n\nclass Config:\n    def database_uri(self) -> str:\n"
             "        return str(MultiHostUrl.build(scheme=\"mysql+pymysql\", username=\"app\", host=\"db\", "
             "path=\"app\"))\n")
    found = run(tmp_path / "built", monkeypatch, {"app/models.py": MODELS, "app/config.py": built}, "FAL701")
    assert [f.line for f in found] == [f.line for f in before] and len(found) > 1
    assert {f.severity.value for f in found} == {"info"}
    assert "a URL built with the scheme `mysql+pymysql` in app/config.py" in found[0].message
    created = "from sqlalchemy.engine import URL\n\nurl = URL.create(\"mysql+asyncmy\", host=\"db\")\n"
    found = run(tmp_path / "created", monkeypatch, {"app/models.py": MODELS, "app/db.py": created}, "FAL701")
    assert {f.severity.value for f in found} == {"info"}
    mixed = built + "\n\ndef other() -> object:\n    return URL.create(drivername=\"postgresql+psycopg\", host=\"db\")\n"
    again = run(tmp_path / "mixed", monkeypatch, {"app/models.py": MODELS, "app/config.py": mixed}, "FAL701")
    assert [(f.line, f.severity, f.message) for f in again] == [(f.line, f.severity, f.message) for f in before]


def test_fal702(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, {"app/models.py": MODELS}, "FAL702")
    expected = {line_of(MODELS, n) for n in ("balance: ", "amount = ", "unit_cost = ", "budget_amount: ",
                                             "discount: ")}
    expected.add(L(MODELS, "class Product(SQLModel", 2))
    assert {f.line for f in found} == expected
    found = run(tmp_path, monkeypatch, {"app/models.py": MODELS}, "FAL702", {"include-models": True})
    assert L(MODELS, "class PriceIn", 1) in {f.line for f in found}


@pytest.mark.parametrize("name,money", [
    ("price", True), ("unit_price", True), ("unitPrice", True), ("total_amount", True), ("fee", True),
    ("tax_rate", False), ("price_cents", False), ("total_count", False), ("discount_percent", False),
    ("weight", False), ("totality", False), ("shipping_fee_currency", False),
    ("price_precision", False), ("amount_precision", False), ("price_tick_size", False), ("amount_step", False),
    ("fee_rate_open", False), ("price_decimals", False), ("liquidation_price", True), ("stake_amount", True),
    ("call_cost_time", False), ("total_elapsed", False), ("cost_ms_avg", False), ("total_duration_seconds", False),
    ("fee_latency", False), ("cost", True), ("total_cost", True), ("one_time_fee", True),
])
def test_fal702_money_names(name: str, money: bool) -> None:
    from fastapi_arch_lint.rules.schema.float_for_money import FloatForMoney, is_money_name

    words = frozenset(FloatForMoney.default_options["words"])
    assert is_money_name(name, words) is money


FLOAT_SHOP = """
from sqlalchemy import Float, Numeric
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    price: Mapped[float] = mapped_column(Float)
    total: Mapped[float] = mapped_column(Float)
    shipping_cost: Mapped[float] = mapped_column(Float)
"""


def test_fal702_says_a_uniform_float_house_style_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every money column a float and none exact: the first is the warning that names the style, the others info."""
    found = run(tmp_path, monkeypatch, {"app/models.py": FLOAT_SHOP}, "FAL702")
    sev = {f.message.split("`")[1]: f.severity.value for f in found}
    assert sev == {"Order.price": "warning", "Order.total": "info", "Order.shipping_cost": "info"}, sev
    assert "all 3 money columns of the project are floats" in found[0].message


def test_fal702_warns_on_each_float_beside_an_exact_money_column(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The true twin: a project that stores some money as `Numeric` has no float house style."""
    text = FLOAT_SHOP + "    tax: Mapped[float] = mapped_column(Numeric(12, 2))\n"
    found = run(tmp_path, monkeypatch, {"app/models.py": text}, "FAL702")
    assert {f.severity.value for f in found} == {"warning"} and len(found) == 3


def test_fal702_precision_column_makes_float_amounts_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = page_case("schema", "FAL702", "Misreadings")
    found = run(tmp_path, monkeypatch, case.files, "FAL702")
    sev = {f.message.split("`")[1]: f.severity.value for f in found}
    assert sev == {"Position.stake_amount": "info", "Position.fee_open_cost": "info"}, sev
    assert all("`amount_precision` beside it" in f.message for f in found)


def test_fal703(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, {"app/models.py": MODELS}, "FAL703")
    by_line = {f.line: f for f in found}
    email, username, handle = (line_of(MODELS, n) for n in ("email: ", "username = ", "handle: "))
    assert sorted(by_line) == [email, username, handle]  # Doc.slug is in (tenant_id, slug): accepted
    assert "indexed" in by_line[email].message
    found = run(tmp_path, monkeypatch, {"app/models.py": MODELS}, "FAL703", {"keys": ["username"]})
    assert {f.line for f in found} == {username}


def test_fal704(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, {"app/models.py": MODELS}, "FAL704")
    # User (pk two mixins up), Manager (single-table inheritance), WithDeclaredAttr are fine
    assert {f.line for f in found} == {line_of(MODELS, "class Ledger("), line_of(MODELS, "class Event(")}
    assert all(f.severity.value == "error" for f in found)


# ---------------------------------------------------------------------------
# FAL801 / FAL802 layering

ROUTES = """
    from typing import Annotated

    from fastapi import APIRouter, Depends, FastAPI
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from {pkg}.db import get_db
    from {pkg}.models import Item

    router = APIRouter()


    @router.get("/items")
    def list_items(db: Annotated[Session, Depends(get_db)]):
        return db.scalars(select(Item)).all()


    app = FastAPI()
    app.include_router(router)
"""

DB = """
    from sqlalchemy.orm import Session


    def get_db():
        yield Session()
"""


def test_fal801_needs_a_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"app/__init__.py": "", "app/db.py": DB, "app/main.py": ROUTES.format(pkg="app")}
    assert run(tmp_path, monkeypatch, files, "FAL801") == []
    # an empty placeholder package is not a layer
    files["app/services/__init__.py"] = '"""Services."""\n'
    assert run(tmp_path, monkeypatch, files, "FAL801") == []
    files["app/services/items.py"] = "def count_items(db):\n    return 0\n"
    found = run(tmp_path, monkeypatch, files, "FAL801")
    assert [(f.line, f.severity.value) for f in found] == [(L(ROUTES, "def list_items", 1), "info")]
    assert "`app.services`" in found[0].message


def test_fal801_layer_modules_option_and_suffix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"app/__init__.py": "", "app/db.py": DB, "app/main.py": ROUTES.format(pkg="app"),
             "app/domain/items.py": "def count_items(db):\n    return 0\n"}
    assert run(tmp_path, monkeypatch, files, "FAL801") == []
    assert len(run(tmp_path, monkeypatch, files, "FAL801", {"layer-modules": ["domain"]})) == 1
    files = {"app/__init__.py": "", "app/db.py": DB, "app/main.py": ROUTES.format(pkg="app"),
             "app/item_repository.py": "def count_items(db):\n    return 0\n"}
    assert len(run(tmp_path, monkeypatch, files, "FAL801")) == 1


def test_layer_holding_whole_services_is_not_a_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a monorepo: services/<name>/ are whole apps, not a service layer
    files = {
        "services/__init__.py": "",
        "services/shop/__init__.py": "",
        "services/shop/db.py": DB,
        "services/shop/main.py": ROUTES.format(pkg="services.shop"),
        "services/shop/logic.py": """
            from fastapi import HTTPException


            def check(n: int) -> None:
                if n < 0:
                    raise HTTPException(status_code=400)
        """,
    }
    assert run(tmp_path, monkeypatch, files, "FAL801") == []
    assert run(tmp_path, monkeypatch, files, "FAL802") == []


def test_fal802(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/db.py": DB,
        "app/main.py": ROUTES.format(pkg="app"),
        "app/errors.py": """
            from starlette.exceptions import HTTPException as StarletteHTTPException


            class NotFound(StarletteHTTPException):
                def __init__(self, what: str) -> None:
                    super().__init__(status_code=404, detail=f"{what} not found")
        """,
        "app/services/__init__.py": "",
        "app/services/items.py": """
            from fastapi import HTTPException, status
            from starlette.exceptions import HTTPException as StarletteHTTPException

            from app.errors import NotFound


            class ItemNotFound(Exception):
                pass


            def a(x):
                if x is None:
                    raise HTTPException(status.HTTP_404_NOT_FOUND, "missing")


            def b(x):
                error = HTTPException(status_code=409)
                if x:
                    raise error


            def c(x):
                raise NotFound("item")


            def d(x):
                raise StarletteHTTPException(status_code=400)


            def e(x):
                raise ItemNotFound(x)


            class ItemService:
                def get(self, x):
                    raise HTTPException(404)
        """,
        "app/services/deps.py": """
            from fastapi import HTTPException


            def require_admin():
                raise HTTPException(status_code=403)
        """,
    }
    files["app/main.py"] = textwrap.dedent(ROUTES.format(pkg="app")) + textwrap.dedent("""
        from app.services.deps import require_admin


        @router.get("/admin", dependencies=[Depends(require_admin)])
        def admin_only():
            return {}
    """)
    found = run(tmp_path, monkeypatch, files, "FAL802")
    got = {(f.path, f.line) for f in found}
    assert got == {("app/services/items.py", n) for n in (14, 20, 24, 28, 37)}
    msgs = {f.line: f.message for f in found}
    assert "`HTTPException(status.HTTP_404_NOT_FOUND)`" in msgs[14]
    assert "`HTTPException(409)`" in msgs[20]
    assert "`NotFound`" in msgs[24]
    assert "`ItemService.get`" in msgs[37]


# ---------------------------------------------------------------------------
# the fixtures: every finding checked by hand

EXPECTED = {
    ("bigger_app", "FAL601"): {
        ("app/internal/admin.py", 22), ("app/internal/admin.py", 30), ("app/routers/auth.py", 20),
        ("app/routers/items.py", 28), ("app/routers/items.py", 37), ("app/routers/items.py", 49),
        ("app/routers/items.py", 63), ("app/routers/items.py", 75), ("app/routers/users.py", 24),
        ("app/routers/users.py", 29), ("app/routers/users.py", 41),
    },
    ("bigger_app", "FAL701"): {("app/models.py", 37)},
    ("factory_app", "FAL701"): {("app/models.py", n) for n in (50, 62, 63, 75)},
    ("src_layout", "FAL701"): {("src/shopapi/db/models.py", n) for n in (41, 52, 63)},
    ("annotated_app", "FAL701"): {("app/models.py", 33)},
    ("src_layout", "FAL601"): {("src/shopapi/api/checkout.py", 56), ("src/shopapi/auth/dependencies.py", 23)},
    ("factory_app", "FAL801"): {
        ("app/api/v1/endpoints/audit.py", 16), ("app/api/v1/endpoints/audit.py", 24),
        ("app/api/v1/endpoints/items.py", 16), ("app/api/v1/endpoints/orders.py", 19),
        ("app/api/v2.py", 25), ("app/api/v2.py", 29),
    },
    ("src_layout", "FAL801"): {
        ("src/shopapi/api/cart.py", 43), ("src/shopapi/api/catalog.py", 21), ("src/shopapi/api/catalog.py", 31),
        ("src/shopapi/api/catalog.py", 44), ("src/shopapi/api/catalog.py", 51), ("src/shopapi/api/catalog.py", 59),
        ("src/shopapi/api/checkout.py", 36), ("src/shopapi/api/checkout.py", 56),
    },
    ("annotated_app", "FAL801"): {
        ("app/legacy.py", 13), ("app/legacy.py", 19), ("app/routers/admin.py", 15), ("app/routers/articles.py", 19),
        ("app/routers/articles.py", 25), ("app/routers/articles.py", 52), ("app/routers/auth.py", 17),
        ("app/routers/users.py", 22), ("app/routers/users.py", 30), ("app/routers/users.py", 35),
    },
    ("factory_app", "FAL802"): {("app/services.py", n) for n in (38, 45, 68, 80, 86)},
    ("src_layout", "FAL802"): {("src/shopapi/services/carts.py", n) for n in (15, 33)},
    ("annotated_app", "FAL802"): {("app/services.py", 20)},
}
FIXTURE_NAMES = ("bigger_app", "factory_app", "src_layout", "annotated_app", "good_app")
CODES = ("FAL601", "FAL701", "FAL702", "FAL703", "FAL704", "FAL801", "FAL802")


@pytest.mark.parametrize("fixture", FIXTURE_NAMES)
@pytest.mark.parametrize("code", CODES)
def test_fixture_findings(fixture: str, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (FIXTURES / fixture).is_dir():
        pytest.skip(f"no fixture {fixture}")
    assert fixture_findings(fixture, code, monkeypatch) == EXPECTED.get((fixture, code), set())


# ---------------------------------------------------------------------------
# FAL803 database-query-in-middleware

MW_DB = """
    from sqlalchemy import create_engine
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
    from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

    engine = create_engine("sqlite://")
    async_engine = create_async_engine("sqlite+aiosqlite://")
    SessionLocal = sessionmaker(bind=engine)


    class Base(DeclarativeBase):
        pass


    class SettingsRepository:
        def __init__(self, db: Session) -> None:
            self.db = db

        def current(self) -> dict:
            return {}
"""


def test_fal803_pure_asgi_inherited_dispatch_ddl_and_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main = """
        from fastapi import FastAPI, Request
        from starlette.middleware.base import BaseHTTPMiddleware

        from app.db import Base, SessionLocal, SettingsRepository, async_engine, engine

        app = FastAPI()


        class SchemaOnEveryRequest:
            def __init__(self, app) -> None:
                self.app = app

            async def __call__(self, scope, receive, send) -> None:
                async with async_engine.begin() as conn:
                    await conn.run_sync(Base.metadata.create_all)
                await self.app(scope, receive, send)


        class BaseTiming(BaseHTTPMiddleware):
            async def dispatch(self, request: Request, call_next):
                with engine.connect() as conn:
                    request.state.conn = conn
                return await call_next(request)


        class Timing(BaseTiming):
            pass


        class SettingsMiddleware(BaseHTTPMiddleware):
            async def dispatch(self, request: Request, call_next):
                with SessionLocal() as db:
                    request.state.settings = SettingsRepository(db).current()
                return await call_next(request)


        class TokenAuthMiddleware(BaseHTTPMiddleware):
            async def dispatch(self, request: Request, call_next):
                with SessionLocal() as db:
                    request.state.principal = SettingsRepository(db).current()
                return await call_next(request)


        app.add_middleware(SchemaOnEveryRequest)
        app.add_middleware(Timing)
        app.add_middleware(SettingsMiddleware)
        app.add_middleware(TokenAuthMiddleware)
    """
    files = {"app/__init__.py": "", "app/db.py": MW_DB, "app/main.py": main}
    found = run(tmp_path, monkeypatch, files, "FAL803")
    assert lines(found) == {
        ("app/main.py", line_of(main, "async with async_engine.begin()")),
        ("app/main.py", line_of(main, "with engine.connect()")),
        ("app/main.py", line_of(main, "request.state.settings = SettingsRepository(db).current()")),
    }, [(f.line, f.message) for f in found]
    messages = " ".join(f.message for f in found)
    assert "Timing" in messages and "SettingsMiddleware" in messages and "TokenAuth" not in messages
    assert "repository call" in messages


def test_fal803_scoped_and_cached_lookup_is_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Early returns unless a path prefix and a token, and a cache read first: info, saying which requests
    reach the query; the same query for every request stays a warning."""
    case = page_case("layering", "FAL803", "Misreadings")
    found = {(f.path, f.line): f for f in run(tmp_path, monkeypatch, case.files, "FAL803")}
    roles = case.files["app/roles.py"]
    scoped = found[("app/roles.py", line_of(roles, "roles = await GrantRepository.grants_of"))]
    every = found[("app/roles.py", line_of(roles, "return await GrantRepository.grants_of"))]
    assert scoped.severity.value == "info" and every.severity.value == "warning"
    assert "only for requests that pass its early returns" in scoped.message
    assert "`cache.get()`" in scoped.message and "on every request" in every.message


def test_fal803_quiet_without_queries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main = """
        from fastapi import FastAPI, Request

        from app.db import SessionLocal

        app = FastAPI()


        @app.middleware("http")
        async def db_session(request: Request, call_next):
            request.state.db = SessionLocal()
            try:
                response = await call_next(request)
                request.state.db.commit()
                return response
            finally:
                request.state.db.close()


        @app.get("/items")
        def items(request: Request) -> list[int]:
            return list(request.state.db.scalars("select 1"))
    """
    files = {"app/__init__.py": "", "app/db.py": MW_DB, "app/main.py": main}
    assert run(tmp_path, monkeypatch, files, "FAL803") == []


def test_fal701_table_args_through_bases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = """
        from sqlalchemy import ForeignKey, Index, String
        from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column


        class Base(DeclarativeBase):
            pass


        class OwnedMixin:
            @declared_attr.directive
            def __table_args__(cls):
                return (Index(f"ix_{cls.__tablename__}_owner", "owner_id"),)


        class Note(OwnedMixin, Base):
            __tablename__ = "notes"

            id: Mapped[int] = mapped_column(primary_key=True)
            owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


        class Asset(Base):
            __tablename__ = "assets"
            __table_args__ = (Index("ix_assets_owner", "owner_id"),)

            id: Mapped[int] = mapped_column(primary_key=True)
            kind: Mapped[str] = mapped_column(String(20))
            owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
            __mapper_args__ = {"polymorphic_on": "kind"}


        class Image(Asset):
            __tablename__ = "images"

            id: Mapped[int] = mapped_column(ForeignKey("assets.id"), primary_key=True)
            album_id: Mapped[int] = mapped_column(ForeignKey("albums.id"))
            __table_args__ = ()


        class Video(Asset):
            __tablename__ = "videos"

            id: Mapped[int] = mapped_column(ForeignKey("assets.id"), primary_key=True)
            owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    """
    files = {"app/__init__.py": "", "app/models.py": models}
    found = run(tmp_path, monkeypatch, files, "FAL701")
    # the mixin's declared_attr indexes Note.owner_id; the joined child Video has its own table, which
    # the parent's plain __table_args__ do not index
    assert lines(found) == {
        ("app/models.py", line_of(models, 'album_id: Mapped[int] = mapped_column(ForeignKey("albums.id"))')),
        ("app/models.py", line_of(models, "class Video(Asset):") + 4),
    }, [(f.line, f.message) for f in found]


def test_fal701_message_prints_the_target_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = """
        from sqlalchemy import Column, ForeignKey, Integer
        from sqlalchemy.orm import DeclarativeBase


        class Base(DeclarativeBase):
            pass


        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)


        class Session_(Base):
            __tablename__ = "sessions"
            id = Column(Integer, primary_key=True)
            user_id = Column(Integer, ForeignKey(User.id))
    """
    files = {"app/__init__.py": "", "app/models.py": models}
    found = run(tmp_path, monkeypatch, files, "FAL701")
    assert len(found) == 1 and "-> `User.id`" in found[0].message, [f.message for f in found]


def test_fal701_weighs_use_of_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warning when the key is used to find or cascade rows; info when nothing uses it."""
    models = """
        from sqlalchemy import ForeignKey, ForeignKeyConstraint
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
        from sqlmodel import Field, Relationship, SQLModel


        class Base(DeclarativeBase):
            pass


        class Region(Base):
            __tablename__ = "regions"
            id: Mapped[int] = mapped_column(primary_key=True)


        class Author(Base):
            __tablename__ = "authors"
            id: Mapped[int] = mapped_column(primary_key=True)
            books: Mapped[list["Book"]] = relationship(back_populates="author", cascade="all, delete-orphan")
            bio: Mapped["Biography"] = relationship(uselist=False)


        class Book(Base):
            __tablename__ = "books"
            id: Mapped[int] = mapped_column(primary_key=True)
            author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
            author: Mapped[Author] = relationship(back_populates="books")
            region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
            region: Mapped[Region] = relationship()
            editor_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="SET NULL"))


        class Biography(Base):
            __tablename__ = "biographies"
            id: Mapped[int] = mapped_column(primary_key=True)
            author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))


        class Review(Base):
            __tablename__ = "reviews"
            __table_args__ = (ForeignKeyConstraint(["book_id"], ["books.id"], ondelete="CASCADE"),)
            id: Mapped[int] = mapped_column(primary_key=True)
            book_id: Mapped[int]
            shelf_id: Mapped[int] = mapped_column(ForeignKey("shelves.id"))
            tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"))


        class Note(Base):
            __tablename__ = "notes"
            id: Mapped[int] = mapped_column(primary_key=True)
            book_id: Mapped[int] = mapped_column(ForeignKey("books.id"))
            book = relationship("Book", backref="notes")


        class Team(SQLModel, table=True):
            id: int | None = Field(default=None, primary_key=True)
            heroes: list["Hero"] = Relationship(back_populates="team")


        class Hero(SQLModel, table=True):
            id: int | None = Field(default=None, primary_key=True)
            team_id: int | None = Field(default=None, foreign_key="team.id")
            team: Team | None = Relationship(back_populates="heroes")
    """
    service = """
        from sqlalchemy import select

        from app.models import Review


        def shelf_reviews(session, shelf_id):
            return session.scalars(select(Review).where(Review.shelf_id == shelf_id)).all()


        def tagged(session, tag_id):
            return session.query(Review).filter_by(tag_id=tag_id).all()


        def note_count(book):
            return len(book.notes)
    """
    # a one-off data fix in a migration script is no use of the key
    migration = """
        from app.models import Book

        revision = "0007"
        down_revision = "0006"


        def upgrade(session):
            session.query(Book).filter_by(region_id=1).delete()
    """
    files = {"app/__init__.py": "", "app/models.py": models, "app/service.py": service,
             "migrations/versions/0007_fix.py": migration}
    found = run(tmp_path, monkeypatch, files, "FAL701")
    by_col = {f.message.split("`")[1]: f for f in found}
    warn = {"Book.author_id", "Book.editor_id", "Biography.author_id", "Review.book_id", "Review.shelf_id",
            "Review.tag_id", "Note.book_id", "Hero.team_id"}
    assert set(by_col) == warn | {"Book.region_id"}, sorted(by_col)
    for name in warn:
        assert by_col[name].severity.value == "warning", (name, by_col[name].message)
        assert by_col[name].confidence.value == "high", name
    info = by_col["Book.region_id"]
    assert info.severity.value == "info" and info.confidence.value == "medium"
    assert "no use of it was seen" in info.message


def test_fal701_backref_counts_when_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backref loads the child rows through the key only when some code reads it: through the class
    (a loader option), a parameter annotated with the parent, a variable named for it, or a Pydantic model
    named for the parent that serialises it. An unread backref is no use of the key (info)."""
    models = """
        from sqlalchemy import ForeignKey
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


        class Base(DeclarativeBase):
            pass


        class Kind(Base):
            __tablename__ = "kinds"
            id: Mapped[int] = mapped_column(primary_key=True)


        class Board(Base):
            __tablename__ = "boards"
            id: Mapped[int] = mapped_column(primary_key=True)


        class Card(Base):
            __tablename__ = "cards"
            id: Mapped[int] = mapped_column(primary_key=True)
            kind_id: Mapped[int] = mapped_column(ForeignKey("kinds.id"))
            kind = relationship("Kind", backref="cards")
            board_id: Mapped[int] = mapped_column(ForeignKey("boards.id"))
            board = relationship("Board", backref="cards")


        class Label(Base):
            __tablename__ = "labels"
            id: Mapped[int] = mapped_column(primary_key=True)
            board_id: Mapped[int] = mapped_column(ForeignKey("boards.id"))
            board = relationship("Board", backref="labels")
            kind_id: Mapped[int] = mapped_column(ForeignKey("kinds.id"))
            kind = relationship("Kind", backref="labels")


        class Pin(Base):
            __tablename__ = "pins"
            id: Mapped[int] = mapped_column(primary_key=True)
            board_id: Mapped[int] = mapped_column(ForeignKey("boards.id"))
            board = relationship("Board", backref="pins")
            card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"))
            card = relationship("Card", backref="pins")
    """
    schemas = """
        from pydantic import BaseModel


        class BoardRead(BaseModel):
            id: int
            pins: list[int] = []


        class CardRead(BaseModel):
            id: int
            # a model named for another class: no read of the backref `Kind.labels`
            labels: list[int] = []
    """
    service = """
        from sqlalchemy import select
        from sqlalchemy.orm import selectinload

        from app.models import Board, Card


        def board_with_cards(session, board_id):
            return session.scalars(select(Board).options(selectinload(Board.cards))).first()


        def label_names(board: Board):
            return [label.id for label in board.labels]


        def first_pin(card):
            return card.pins[0]
    """
    files = {"app/__init__.py": "", "app/models.py": models, "app/schemas.py": schemas, "app/service.py": service}
    found = run(tmp_path, monkeypatch, files, "FAL701")
    sev = {f.message.split("`")[1]: f.severity.value for f in found}
    assert sev == {
        "Card.kind_id": "info",  # `Kind.cards` is read nowhere
        "Card.board_id": "warning",  # `selectinload(Board.cards)`
        "Label.board_id": "warning",  # `board: Board` ... `board.labels`
        "Label.kind_id": "info",  # `Kind.labels`: `CardRead.labels` is another model's field
        "Pin.board_id": "warning",  # `BoardRead.pins` serialises it
        "Pin.card_id": "warning",  # `card.pins`: a variable named for the class
    }, sev
    assert "which the code reads" in next(f.message for f in found if "Card.board_id" in f.message)


def test_fal701_cascade_from_a_soft_deleted_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ondelete`` is no use of the key when the parent table marks rows deleted (a ``deleted_at`` of a
    base class) and no code deletes its rows: the cascade never runs."""
    models = """
        from datetime import datetime

        from sqlalchemy import ForeignKey
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class Record(Base):
            __abstract__ = True
            id: Mapped[int] = mapped_column(primary_key=True)
            deleted_at: Mapped[datetime | None] = mapped_column(default=None)


        class Plan(Record):
            __tablename__ = "plans"


        class Coupon(Record):
            __tablename__ = "coupons"


        class Voucher(Record):
            __tablename__ = "vouchers"


        class Store(Base):
            __tablename__ = "stores"
            id: Mapped[int] = mapped_column(primary_key=True)


        class Line(Base):
            __tablename__ = "lines"
            id: Mapped[int] = mapped_column(primary_key=True)
            plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
            coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="SET NULL"))
            voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id", ondelete="CASCADE"))
            store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    """
    service = """
        from sqlalchemy import delete

        from app.models import Coupon, Plan, Voucher


        def retire(session, plan: Plan):
            plan.deleted_at = "now"


        async def purge_coupon(session, coupon: Coupon):
            await session.delete(coupon)


        def purge_vouchers(session):
            session.execute(delete(Voucher).where(Voucher.id < 10))


        def purge_drafts(session, account):
            # the rows of a relationship: a ``plan`` of ``draft_plans`` need not be a ``Plan``
            for plan in account.draft_plans:
                session.delete(plan)
    """
    files = {"app/__init__.py": "", "app/models.py": models, "app/service.py": service}
    found = run(tmp_path, monkeypatch, files, "FAL701")
    sev = {f.message.split("`")[1]: f.severity.value for f in found}
    assert sev == {
        "Line.plan_id": "info",  # plans are only ever soft-deleted
        "Line.coupon_id": "warning",  # `session.delete(coupon)` of a `Coupon`
        "Line.voucher_id": "warning",  # `delete(Voucher)`
        "Line.store_id": "warning",  # stores have no soft delete
    }, sev


def test_fal701_a_join_condition_or_a_script_is_no_lookup_by_the_key(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``Line.plan_id == Plan.id`` in a join runs whichever way the planner picks (from the lines to their plan
    it needs the plan's primary key, not an index on the key), and a backfill under ``scripts/`` runs once:
    neither makes the key's index matter. A filter by a value does."""
    models = """
        from sqlalchemy import Column, ForeignKey, Integer
        from sqlalchemy.orm import DeclarativeBase


        class Base(DeclarativeBase):
            pass


        class Plan(Base):
            __tablename__ = "plans"
            id = Column(Integer, primary_key=True)


        class Store(Base):
            __tablename__ = "stores"
            id = Column(Integer, primary_key=True)


        class Coupon(Base):
            __tablename__ = "coupons"
            id = Column(Integer, primary_key=True)


        class Line(Base):
            __tablename__ = "lines"
            id = Column(Integer, primary_key=True)
            plan_id = Column(Integer, ForeignKey("plans.id"))
            store_id = Column(Integer, ForeignKey("stores.id"))
            coupon_id = Column(Integer, ForeignKey("coupons.id"))
    """
    service = """
        from sqlalchemy import select

        from app.models import Line, Plan, Store


        def lines_with_plans(session):
            return session.execute(select(Line, Plan).join(Plan, Line.plan_id == Plan.id)).all()


        def lines_of_store(session, store_id: int):
            return session.scalars(select(Line).where(Line.store_id == store_id)).all()
    """
    script = """
        from sqlalchemy import select

        from app.models import Coupon, Line


        def backfill(session, coupon_id: int):
            for line in session.scalars(select(Line).where(Line.coupon_id == coupon_id)):
                line.id = line.id
    """
    files = {"app/__init__.py": "", "app/models.py": models, "app/service.py": service,
             "scripts/backfill.py": script}
    found = run(tmp_path, monkeypatch, files, "FAL701")
    sev = {f.message.split("`")[1]: f.severity.value for f in found}
    assert sev == {"Line.plan_id": "info", "Line.store_id": "warning", "Line.coupon_id": "info"}, sev


def test_fal701_a_filter_that_also_names_the_leading_column_is_served(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """``Member.team_id == t and Member.user_id == u`` is served by the primary key ``(team_id, user_id)``: no
    use of ``user_id`` on its own; ``Member.user_id == u`` alone (a user's teams) is one."""
    models = """
        from sqlalchemy import Column, ForeignKey, Integer
        from sqlalchemy.orm import DeclarativeBase


        class Base(DeclarativeBase):
            pass


        class Team(Base):
            __tablename__ = "teams"
            id = Column(Integer, primary_key=True)


        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)


        class Member(Base):
            __tablename__ = "members"
            team_id = Column(Integer, ForeignKey("teams.id"), primary_key=True)
            user_id = Column(Integer, ForeignKey("users.id"), primary_key=True)


        class Guest(Base):
            __tablename__ = "guests"
            team_id = Column(Integer, ForeignKey("teams.id"), primary_key=True)
            user_id = Column(Integer, ForeignKey("users.id"), primary_key=True)
    """
    service = """
        from sqlalchemy import select

        from app.models import Guest, Member


        def is_member(session, team_id: int, user_id: int) -> bool:
            stmt = select(Member).where(Member.team_id == team_id, Member.user_id == user_id)
            return session.scalar(stmt) is not None


        def teams_of_guest(session, user_id: int):
            return session.scalars(select(Guest).where(Guest.user_id == user_id)).all()
    """
    files = {"app/__init__.py": "", "app/models.py": models, "app/service.py": service}
    found = run(tmp_path, monkeypatch, files, "FAL701")
    sev = {f.message.split("`")[1]: f.severity.value for f in found}
    assert sev == {"Member.user_id": "info", "Guest.user_id": "warning"}, sev


def test_fal701_dropped_table_without_an_order_is_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Revisions without a literal ``revision`` cannot be ordered: a table dropped more often than created
    is gone (quiet), one created as often as dropped is not (fires); revisions on two branches keep a table
    created on the other branch than its drop."""
    model = """
        from sqlalchemy import ForeignKey
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class Gone(Base):
            __tablename__ = "gone"
            id: Mapped[int] = mapped_column(primary_key=True)
            owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))


        class Back(Base):
            __tablename__ = "back"
            id: Mapped[int] = mapped_column(primary_key=True)
            owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))


        class Side(Base):
            __tablename__ = "side"
            id: Mapped[int] = mapped_column(primary_key=True)
            owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))


        class Rebuilt(Base):
            __tablename__ = "rebuilt"
            id: Mapped[int] = mapped_column(primary_key=True)
            owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
        """
    files = {
        "app/models.py": model,
        "migrations/versions/a.py": """
            from alembic import op
            REVISION = make_id()


            def upgrade():
                op.drop_table("gone")
                op.execute("DROP TABLE IF EXISTS gone")
                op.create_table("gone")
                op.drop_table("back")
                op.execute("CREATE TABLE back (id int)")
            """,
        "migrations/versions/b.py": """
            from alembic import op
            revision = "b1"
            down_revision = None


            def upgrade():
                op.drop_table("side")
            """,
        "migrations/versions/c.py": """
            from alembic import op
            revision = "c1"
            down_revision = None


            def upgrade():
                op.rename_table("side_old", "side")
            """,
        # SQLite's table rebuild: the table is dropped, and a copy renamed to its name after
        "migrations/versions/d.py": """
            from alembic import op
            revision = "d1"
            down_revision = "c1"


            def upgrade():
                op.execute("CREATE TABLE rebuilt_new (id INTEGER PRIMARY KEY, owner_id INTEGER)")
                op.execute("DROP TABLE rebuilt")
                op.execute('ALTER TABLE "rebuilt_new" RENAME TO "rebuilt"')
            """,
    }
    found = run(tmp_path, monkeypatch, files, "FAL701")
    assert {f.message.split("`")[1] for f in found} == {"Back.owner_id", "Side.owner_id", "Rebuilt.owner_id"}


def test_fal703_weighs_lookups_by_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warning when code that runs looks rows up by the key; info (low confidence) when no lookup is
    seen, or when the only one is in code that nothing calls."""
    models = """
        from sqlalchemy import Column, ForeignKey, Integer, String
        from sqlalchemy.orm import DeclarativeBase


        class Base(DeclarativeBase):
            pass


        class Space(Base):
            __tablename__ = "spaces"
            id = Column(Integer, primary_key=True)
            slug = Column(String)


        class Category(Base):
            __tablename__ = "categories"
            id = Column(Integer, primary_key=True)
            space_id = Column(Integer, ForeignKey("spaces.id"), index=True)
            slug = Column(String)


        class Badge(Base):
            __tablename__ = "badges"
            id = Column(Integer, primary_key=True)
            slug = Column(String)


        class Customer(Base):
            __tablename__ = "customers"
            id = Column(Integer, primary_key=True)
            email = Column(String)
    """
    spaces = """
        from sqlalchemy import func, select

        from app.models import Customer, Space


        def get_by_slug(session, slug):
            return session.query(Space).filter(Space.slug == slug).one_or_none()


        def login(session, email):
            return session.scalars(select(Customer).where(func.lower(Customer.email) == email.lower())).one()
    """
    categories = """
        from app.models import Category


        def get_by_slug(session, space_id, slug):
            return session.query(Category).filter(Category.slug == slug, Category.space_id == space_id).one_or_none()
    """
    api = """
        from fastapi import FastAPI

        from app import spaces

        app = FastAPI()


        @app.get("/spaces/{slug}")
        def read_space(slug: str):
            return spaces.get_by_slug(None, slug)


        @app.post("/login")
        def login(email: str):
            return spaces.login(None, email)
    """
    files = {"app/__init__.py": "", "app/models.py": models, "app/spaces.py": spaces,
             "app/categories.py": categories, "app/api.py": api}
    found = run(tmp_path, monkeypatch, files, "FAL703")
    by = {f.message.split("`")[1]: f for f in found}
    assert {k: (f.severity.value, f.confidence.value) for k, f in by.items()} == {
        "Space.slug": ("warning", "medium"),  # looked up by a route
        "Customer.email": ("warning", "medium"),  # `func.lower(Customer.email) == ...` in a login
        "Category.slug": ("info", "low"),  # its lookup is called by nothing
        "Badge.slug": ("info", "low"),  # never looked up
    }
    assert "nothing calls" in by["Category.slug"].message and "app.categories" not in by["Category.slug"].message
    assert "no lookup by it was seen" in by["Badge.slug"].message


@pytest.mark.parametrize(("code", "section", "severities"), [
    ("FAL701", "Misreadings", {"Offer.category_id": "info", "Offer.listing_id": "warning",
                               "Offer.project_id": "info", "Offer.reviewer_id": "warning",
                               "Offer.replaced_id": "info", "Offer.parent_id": "warning"}),
    ("FAL703", "Example", {"User.email": "warning", "Team.slug": "warning", "Author.handle": "warning"}),
    ("FAL703", "Misreadings", {"Category.slug": "info", "Tag.slug": "warning"}),
])
def test_schema_pages_report_the_severities_they_say(code: str, section: str, severities: dict[str, str],
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule pages' cases that say "info, not a warning" (or a warning) in their comments report that."""
    case = page_case("schema", code, section)
    found = run(tmp_path, monkeypatch, case.files, code)
    sev = {f.message.split("`")[1]: f.severity.value for f in found}
    assert {k: sev.get(k) for k in severities} == severities, sev


@pytest.mark.parametrize(("section", "severities"), [
    ("Example", {"get_order": "warning", "cancel_order": "warning"}),
    ("Misreadings", {"resize": "warning", "check_quota": "info", "verify_scopes": "info",
                     "probe_connector": "warning", "load_connector": "info", "lock_connector": "warning"}),
])
def test_fal802_warns_where_a_job_reuses_the_service(section: str, severities: dict[str, str],
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAL802 is a warning where a caller the code marks as running outside requests (a task module, a
    function handed to ``add_task``) reaches the function, and info where only routes call it."""
    case = page_case("layering", "FAL802", section)
    found = run(tmp_path, monkeypatch, case.files, "FAL802")
    sev = {f.message.split("`")[1]: f.severity.value for f in found}
    assert sev == severities, sev
    if section == "Example":
        assert all("`cancel_unpaid` (a job, a consumer or a command" in f.message for f in found)
    else:
        by = {f.message.split("`")[1]: f for f in found}
        assert "`rebuild_thumbnail` (handed to a background task or queue" in by["resize"].message


def test_fal524_echo_of_the_request_body_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAL524's page: a response model that is the request body's own model sends back what the client
    typed (a warning, medium confidence, saying so); a `bool` flag named for a password is no secret."""
    from fastapi_arch_lint.findings import Confidence, Severity

    case = page_case("security", "FAL524", "Misreadings")
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, case.files, "FAL524")}
    echo = found["POST /signups"]
    assert (echo.severity, echo.confidence) == (Severity.WARNING, Confidence.MEDIUM)
    assert "what the client itself sent" in echo.message
    assert "GET /profile" not in found


def test_fal509_mode_dependent_and_hostname_only_contexts_are_warnings(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_arch_lint.findings import Severity

    case = page_case("security", "FAL509", "Misreadings")
    found = {(f.path, f.line): f.severity for f in run(tmp_path, monkeypatch, case.files, "FAL509")}
    assert found == {("app/db_ssl.py", 7): Severity.WARNING, ("app/db_ssl.py", 19): Severity.WARNING,
                     ("app/db_ssl.py", 26): Severity.ERROR, ("app/pool_ssl.py", 20): Severity.WARNING,
                     ("app/pool_ssl.py", 31): Severity.ERROR,
                     # an unverified context one branch of an `if` chooses, the other verifying; and its twin
                     ("app/mailer.py", 14): Severity.WARNING, ("app/mailer.py", 24): Severity.ERROR,
                     # `ssl=False` only when a setting declared `True` is off (info); and its twin
                     ("app/upstream_client.py", 20): Severity.INFO, ("app/upstream_client.py", 27): Severity.ERROR}, found


def _fk_schema(n: int, indexed: int) -> str:
    """A schema of ``n`` child tables, each with one foreign key to ``parents`` that ``Parent`` loads as a
    collection; the first ``indexed`` of them have ``index=True``."""
    out = ["from sqlalchemy import ForeignKey",
           "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship",
           "", "", "class Base(DeclarativeBase):", "    pass", "", "",
           "class Parent(Base):", '    __tablename__ = "parents"', "    id: Mapped[int] = mapped_column(primary_key=True)"]
    out += [f'    kids{i}: Mapped[list["Kid{i}"]] = relationship()' for i in range(n)]
    for i in range(n):
        idx = ", index=True" if i < indexed else ""
        out += ["", "", f"class Kid{i}(Base):", f'    __tablename__ = "kids{i}"',
                "    id: Mapped[int] = mapped_column(primary_key=True)",
                f'    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"){idx})']
    return "\n".join(out) + "\n"


def test_fal701_schema_without_fk_indexes_is_said_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema that indexes (almost) none of its keys gets one project-level warning listing the used keys;
    one that indexes most of them gets a finding per outlier; small schemas are judged key by key."""
    files = {"app/__init__.py": "", "app/models.py": _fk_schema(22, 1)}
    found = run(tmp_path, monkeypatch, files, "FAL701")
    assert len(found) == 1, [f.message for f in found]
    f = found[0]
    assert f.severity.value == "warning" and f.entity == "house-style FAL701 unindexed-foreign-keys"
    assert "indexes 1 of its 22 foreign keys; 21 of the 21 without an index are used" in f.message
    assert (f.path, f.line) == ("app/models.py", 45)  # ``Kid1.parent_id``: the first unindexed key
    assert len(f.related) == 20 and "`Kid2.parent_id`: `Parent.kids2` loads its collection" in f.related[0].message
    off = run(tmp_path, monkeypatch, files, "FAL701", {"house_style": False})
    assert len(off) == 21 and all(x.severity.value == "warning" for x in off)


def test_fal701_outliers_of_an_indexed_schema_and_small_schemas(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, {"app/__init__.py": "", "app/models.py": _fk_schema(22, 20)}, "FAL701")
    assert sorted(f.message.split("`")[1] for f in found) == ["Kid20.parent_id", "Kid21.parent_id"]
    small = run(tmp_path / "small", monkeypatch, {"app/__init__.py": "", "app/models.py": _fk_schema(19, 0)},
                "FAL701")
    assert len(small) == 19  # below 20 keys there is no policy to speak of: each key is its own finding


def test_fal601_file_io_in_a_helper_is_info_a_network_wait_is_named_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            import requests
            from fastapi import FastAPI

            app = FastAPI()

            def server_id() -> str:
                with open("server_id.txt") as f:
                    return f.read()

            def log_usage(props: dict) -> None:
                if props.get("server") is None:
                    props["server"] = server_id()

            @app.get("/stats")
            async def stats() -> dict:
                log_usage({})
                return {}

            @app.get("/direct")
            async def direct() -> dict:
                with open("config.txt") as f:
                    return {"config": f.read()}

            @app.post("/sms")
            async def send_sms(number: str) -> dict:
                log_usage({})
                requests.post("https://sms.example/send", json={"to": number}, timeout=5)
                return {}
        """,
    }
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, files, "FAL601")}
    assert found["async def stats"].severity.value == "info"
    assert found["async def direct"].severity.value == "warning"
    sms = found["async def send_sms"]
    assert sms.severity.value == "warning" and "requests.post" in sms.message.split(":", 1)[1].split(";")[0]


def test_fal601_a_local_session_that_is_added_to_keeps_its_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``db.add(row)`` changes the session, not what ``db`` is: only a list or set bound by assignment and
    grown in place (``result = []; result.append(...)``) loses its literal value."""
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI
            from sqlalchemy.orm import Session

            app = FastAPI()

            @app.post("/items")
            async def create_item(name: str) -> dict:
                db = Session()
                db.add(name)
                db.commit()
                return {}
        """,
    }
    found = run(tmp_path, monkeypatch, files, "FAL601")
    assert [f.message.split(":", 1)[1].split("(")[0].strip() for f in found] == ["`create_item -> db.commit`"]


def test_fal601_a_blocking_sink_shared_by_several_async_functions_is_reported_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three handlers whose only blocking call is the same ``requests.post`` in a shared logger: one finding,
    at that call, with each handler as a related place; a handler that blocks on something of its own as well
    keeps its own finding, and so does a helper only two handlers reach."""
    files = {
        "app/__init__.py": "",
        "app/log.py": """
            import requests

            def ship(event: str) -> None:
                requests.post("https://logs.example/ingest", json={"event": event}, timeout=2)

            def audit(event: str) -> None:
                requests.put("https://audit.example/events", json={"event": event}, timeout=2)
        """,
        "app/main.py": """
            import time

            from fastapi import FastAPI

            from app.log import audit, ship

            app = FastAPI()

            @app.get("/a")
            async def a() -> dict:
                ship("a")
                return {}

            @app.get("/b")
            async def b() -> dict:
                ship("b")
                return {}

            @app.get("/c")
            async def c() -> dict:
                ship("c")
                return {}

            @app.get("/d")
            async def d() -> dict:
                ship("d")
                time.sleep(1)
                return {}

            @app.get("/e")
            async def e() -> dict:
                audit("e")
                return {}

            @app.get("/f")
            async def f() -> dict:
                audit("f")
                return {}
        """,
    }
    found = run(tmp_path, monkeypatch, files, "FAL601")
    sinks = [f for f in found if f.path.endswith("log.py")]
    assert len(sinks) == 1 and sinks[0].line == 5 and sinks[0].severity.value == "warning"
    assert "3 async functions" in sinks[0].message and "requests.post" in sinks[0].message
    assert sorted(r.message.split("`")[1] for r in sinks[0].related) == ["async def a", "async def b", "async def c"]
    own = sorted(f.message.split("`")[1] for f in found if f.path.endswith("main.py"))
    assert own == ["async def d", "async def e", "async def f"]
