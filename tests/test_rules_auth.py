"""FAL4xx (authentication and access control): the cross-file fixture, the other fixtures, edge cases
beyond the rule pages, and the model facts these rules added (truth tests, mounted app ids, scoped
``Security`` dependencies)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import libcst as cst
import pytest

from fastapi_arch_lint.config import Config
from fastapi_arch_lint.engine import analyze, review
from fastapi_arch_lint.extract.collect import Collector
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.rule import load_rules
from fastapi_arch_lint.rules.auth.dependencies_as_handler_parameter import DependenciesAsHandlerParameter
from fastapi_arch_lint.rules.auth.mounted_app_bypasses_dependencies import MountedAppBypassesDependencies
from fastapi_arch_lint.rules.auth.object_id_without_owner_check import ObjectIdWithoutOwnerCheck
from fastapi_arch_lint.rules.auth.optional_auth_not_enforced import OptionalAuthNotEnforced
from fastapi_arch_lint.rules.auth.scopes_without_security_scopes import ScopesWithoutSecurityScopes
from fastapi_arch_lint.rules.auth.state_changing_route_without_auth import StateChangingRouteWithoutAuth
from fastapi_arch_lint.rules.auth.websocket_without_auth import WebsocketWithoutAuth

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class PerRouteFAL401(StateChangingRouteWithoutAuth):
    """FAL401 with `one-finding-per-open-app` off: each route of an app that authenticates none of its routes on its
    own, for the tests of the per-route judgement (severity, message) that such an app's one finding lists as
    related locations."""

    default_options = {**StateChangingRouteWithoutAuth.default_options, "one-finding-per-open-app": False}
AUTH_CODES = [c for c in load_rules() if c.startswith("FAL4")]


def fixture_findings(name: str, monkeypatch: pytest.MonkeyPatch) -> list[Finding]:
    root = FIXTURES / name
    monkeypatch.chdir(root)
    result = review(["."], Config(root=root), select=["FAL4"])
    assert not result.diagnostics, result.diagnostics
    return [f for f in result.findings if f.rule.startswith("FAL4")]


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: type, files: dict[str, str],
        options: dict[str, Any] | None = None) -> list[Finding]:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    return sorted(rule(options).check(model), key=lambda f: (f.path, f.line))


# -- metadata -------------------------------------------------------------------


def test_every_auth_rule_carries_security_tags() -> None:
    rules = load_rules()
    assert AUTH_CODES == ["FAL401", "FAL402", "FAL403", "FAL404", "FAL405", "FAL406", "FAL407", "FAL408", "FAL409"]
    for code in AUTH_CODES:
        cls = rules[code]
        assert cls.category() == "auth"
        assert cls.cwe and all(c.startswith("CWE-") for c in cls.cwe), code
        assert cls.owasp and all(o.startswith("API") and o.endswith(":2023") for o in cls.owasp), code
        assert cls.security_severity is not None and 0.1 <= cls.security_severity <= 10.0, code
    # issue 18: a warning when the object has an owner, info (low) when ownership is unclear
    assert rules["FAL403"].confidence is Confidence.MEDIUM
    assert rules["FAL403"].severity is Severity.WARNING
    assert Severity.INFO in rules["FAL403"].other_severities


# -- the cross-file fixture -------------------------------------------------------------

AUTH_GAP_EXPECTED = {
    # billing.router is included in app/main.py:25 without the dependency its siblings get (22-24)
    ("FAL401", "app/routers/billing.py", 36),  # POST /billing/invoices
    ("FAL401", "app/routers/billing.py", 44),  # DELETE /billing/invoices/{invoice_id}
    ("FAL401", "app/routers/billing.py", 50),  # POST /billing/invoices/{invoice_id}/payments
    ("FAL402", "app/routers/realtime.py", 29),  # WS /ws/timers
    ("FAL403", "app/routers/clients.py", 27),  # db.get(Client, client_id), no current user
    ("FAL403", "app/routers/time_entries.py", 29),  # db.get(TimeEntry, entry_id): the manager check never runs
    ("FAL404", "app/deps.py", 31),  # get_viewer never rejects a missing token
    ("FAL405", "app/routers/time_entries.py", 27),  # dependencies=[Depends(require_manager)] as a parameter
    ("FAL406", "app/routers/projects.py", 46),  # Security(get_current_user, scopes=["projects:archive"])
}


def test_auth_gap_app_exact_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    found = fixture_findings("auth_gap_app", monkeypatch)
    assert {(f.rule, f.path, f.line) for f in found} == AUTH_GAP_EXPECTED
    assert len(found) == len(AUTH_GAP_EXPECTED)


def test_auth_gap_app_fal401_names_the_include_chain_and_the_siblings(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [f for f in fixture_findings("auth_gap_app", monkeypatch) if f.rule == "FAL401"]
    assert len(found) == 3
    for f in found:
        assert f.severity is Severity.ERROR and f.confidence is Confidence.HIGH
        assert "include chain: app.include_router(billing.router) at app/main.py:25" in f.message
        assert "sibling includes attach `get_current_user`" in f.message
        related = {(r.path, r.line) for r in f.related}
        # the include that lacks auth, and the three sibling includes that have it
        assert related == {("app/main.py", 25), ("app/main.py", 22), ("app/main.py", 23), ("app/main.py", 24)}
        assert f.cwe == ("CWE-306",) and f.owasp == ("API2:2023", "API5:2023")
    delete = next(f for f in found if "DELETE" in f.message)
    assert delete.message.startswith("`DELETE /billing/invoices/{invoice_id}` (`delete_invoice`)")


def test_auth_gap_app_public_routes_stay_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    found = fixture_findings("auth_gap_app", monkeypatch)
    flagged = " ".join(f.message for f in found)
    for quiet in ("/auth/token", "/auth/signup", "/billing/webhooks/payments", "/ws/notifications", "/health"):
        assert quiet not in flagged


# -- the other fixtures ------------------------------------------------------------------


@pytest.mark.parametrize("name, expected", [
    ("bigger_app", set()),  # POST /users/ is open registration (register_user), POST /token is login
    ("factory_app", set()),  # POST /api/v1/users/signup is public on purpose
    ("src_layout", set()),  # POST /checkout/webhooks/payment checks an HMAC signature
    ("annotated_app", {("FAL402", "app/routers/realtime.py", 21)}),  # WS /ws/echo; /ws/heartbeat is public
    ("good_app", set()),
])
def test_other_fixtures(name: str, expected: set[tuple[str, str, int]], monkeypatch: pytest.MonkeyPatch) -> None:
    if not (FIXTURES / name).is_dir():
        pytest.skip(f"{name} not present")
    found = fixture_findings(name, monkeypatch)
    assert {(f.rule, f.path, f.line) for f in found} == expected


# -- FAL401 ----------------------------------------------------------------------------

DEPS = """
from typing import Annotated

from fastapi import Depends, Header, HTTPException
from fastapi.security import OAuth2PasswordBearer

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/token")


def get_current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> str:
    if not token:
        raise HTTPException(status_code=401)
    return token


def verify_key(x_api_key: Annotated[str, Header()]) -> None:
    if x_api_key != "k":
        raise HTTPException(status_code=401)
"""


def test_fal401_nested_chain_and_direct_app_routes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, {
        "app/__init__.py": "",
        "app/deps.py": DEPS,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from app.deps import get_current_user

            app = FastAPI()
            api = APIRouter(prefix="/api")
            admin = APIRouter(prefix="/admin")
            shop = APIRouter(prefix="/shop")


            @admin.post("/reset")
            def reset() -> None: ...


            @shop.put("/items/{item_id}")
            def put_item(item_id: int) -> None: ...


            @app.delete("/cache")
            def clear_cache() -> None: ...


            @app.post("/login")
            def login() -> None: ...


            @app.api_route("/sync", methods=["GET", "POST"])
            def sync() -> None: ...


            api.include_router(admin, dependencies=[Depends(get_current_user)])
            api.include_router(shop)
            app.include_router(api, prefix="/v1")
        """,
    })
    by_line = {f.line: f for f in found}
    assert sorted(by_line) == [15, 19, 27]
    shop = by_line[15]
    assert "`PUT /v1/api/shop/items/{item_id}` (`put_item`)" in shop.message
    assert "app.include_router(api, prefix='/v1') at app/main.py:33 -> api.include_router(shop) at app/main.py:32" in shop.message
    assert "sibling includes attach `get_current_user` (app/main.py:31)" in shop.message
    assert "registered directly on the app" in by_line[19].message
    assert "`POST /sync`" in by_line[27].message  # only the state-changing method is named


def test_fal401_options_and_signature_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            import hmac

            from fastapi import FastAPI, Header, Request

            app = FastAPI()


            @app.post("/hooks/github")
            async def github_hook(request: Request, x_hub_signature_256: str = Header()) -> None:
                if not hmac.compare_digest(x_hub_signature_256, "sha256=..."):
                    raise ValueError


            @app.post("/hooks/slack")
            async def slack_hook(request: Request) -> None: ...


            @app.post("/users")
            def register_user() -> None: ...


            @app.post("/contact")
            def contact() -> None: ...
        """,
    }
    found = run(tmp_path, monkeypatch, PerRouteFAL401, files)
    assert [f.line for f in found] == [15, 23]
    assert "webhook" in found[0].help and "compare_digest" in found[0].help
    found = run(tmp_path, monkeypatch, PerRouteFAL401, files,
                {"public-routes": ["/contact"], "public-handlers": []})
    assert [f.line for f in found] == [15, 19]


def test_fal401_hand_written_header_check_counts_as_auth_a_mere_reader_is_a_medium_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 9: ``verify_key`` reads the header and raises 401: the route is authenticated
    found = run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, {
        "app/__init__.py": "",
        "app/deps.py": DEPS + """

def read_key(x_api_key: Annotated[str | None, Header()] = None) -> str | None:
    return x_api_key
""",
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from app.deps import read_key, verify_key

            app = FastAPI()


            @app.post("/jobs", dependencies=[Depends(verify_key)])
            def create_job() -> None: ...


            @app.post("/imports", dependencies=[Depends(read_key)])
            def create_import() -> None: ...
        """,
    })
    [f] = found
    assert "`POST /imports`" in f.message
    assert f.severity is Severity.WARNING and f.confidence is Confidence.MEDIUM
    assert "`read_key` reads the `x_api_key` header but never rejects" in f.message
    assert "auth-dependencies" in f.help
    assert ("app/deps.py", 21) in {(r.path, r.line) for r in f.related}


# -- FAL402 ----------------------------------------------------------------------------


def test_fal402_credentials_read_by_params_or_dependencies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, WebsocketWithoutAuth, {
        "app/__init__.py": "",
        "app/main.py": """
            from typing import Annotated

            from fastapi import Cookie, Depends, FastAPI, Query, WebSocket, WebSocketException, status

            app = FastAPI()


            def verify(token: str) -> str: ...


            async def get_cookie_or_token(
                websocket: WebSocket,
                session: Annotated[str | None, Cookie()] = None,
                token: Annotated[str | None, Query()] = None,
            ):
                if session is None and token is None:
                    raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION)
                return session or token


            @app.websocket("/items/{item_id}/ws")
            async def item_ws(websocket: WebSocket, item_id: str, cookie_or_token: Annotated[str, Depends(get_cookie_or_token)]):
                await websocket.accept()


            @app.websocket("/chat")
            async def chat(websocket: WebSocket, token: str = Query()):
                user = verify(token)
                await websocket.accept()


            @app.websocket("/token-unchecked")
            async def unchecked(websocket: WebSocket, token: str = Query()):
                await websocket.accept()


            @app.websocket("/ws/public/ping")
            async def ping(websocket: WebSocket):
                await websocket.accept()
        """,
    })
    assert [(f.line, "unchecked" in f.message) for f in found] == [(33, True)]


# -- FAL403 ----------------------------------------------------------------------------

BOLA_MODELS = """
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
"""


def test_fal403_through_a_service_and_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, ObjectIdWithoutOwnerCheck, {
        "app/__init__.py": "",
        "app/deps.py": DEPS + """

def get_current_superuser(user: Annotated[str, Depends(get_current_user)]) -> str:
    return user


def get_owned_document(document_id: int, user: Annotated[str, Depends(get_current_user)]) -> str:
    return user
""",
        "app/models.py": BOLA_MODELS,
        "app/services.py": """
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.models import Document


            def get_document(db: Session, document_id: int) -> Document | None:
                return db.scalar(select(Document).where(Document.id == document_id))


            def get_document_for(db: Session, document_id: int, user: str) -> Document | None:
                return db.scalar(select(Document).where(Document.id == document_id, Document.owner_id == user))
        """,
        "app/main.py": """
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            from app import services
            from app.deps import get_current_superuser, get_current_user, get_owned_document

            app = FastAPI(dependencies=[Depends(get_current_user)])


            @app.get("/documents/{document_id}")
            def read_document(document_id: int, db: Session) -> dict:
                doc = services.get_document(db, document_id)
                return {"title": doc.title}


            @app.get("/mine/{document_id}")
            def read_mine(document_id: int, db: Session, user: Annotated[str, Depends(get_current_user)]) -> dict:
                return {"title": services.get_document_for(db, document_id, user).title}


            @app.get("/admin/documents/{document_id}", dependencies=[Depends(get_current_superuser)])
            def admin_read(document_id: int, db: Session) -> dict:
                return {"title": services.get_document(db, document_id).title}


            @app.get("/owned/{document_id}", dependencies=[Depends(get_owned_document)])
            def owned(document_id: int, db: Session) -> dict:
                return {"title": services.get_document(db, document_id).title}
        """,
    })
    [f] = found
    assert (f.path, f.line) == ("app/main.py", 15)
    assert "`GET /documents/{document_id}` (`read_document`)" in f.message
    assert "get_document(...)" in f.message and "`owner_id`" in f.message
    assert f.confidence is Confidence.MEDIUM and f.severity is Severity.WARNING


# -- FAL404 ----------------------------------------------------------------------------


def test_fal404_scheme_straight_into_the_handler_and_other_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, OptionalAuthNotEnforced, {
        "app/__init__.py": "",
        "app/main.py": """
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

            app = FastAPI()
            maybe_bearer = HTTPBearer(auto_error=False)
            api_key = APIKeyHeader(name="X-API-Key")


            @app.post("/notes")
            def create_note(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(maybe_bearer)]) -> dict:
                return {"by": creds}


            @app.post("/drafts")
            def create_draft(
                creds: Annotated[HTTPAuthorizationCredentials | None, Depends(maybe_bearer)],
                key: Annotated[str, Depends(api_key)],
            ) -> dict:
                return {"by": key}


            @app.get("/feed")
            def feed(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(maybe_bearer)]) -> dict:
                if not creds:
                    return {"items": []}
                return {"items": [creds.credentials]}
        """,
    })
    [f] = found
    assert (f.path, f.line) == ("app/main.py", 13)
    assert "`create_note` receives `creds` from `maybe_bearer`" in f.message
    assert "`POST /notes`" in f.message and "/drafts" not in f.message


def test_fal404_optional_auth_by_hand_through_a_factory_and_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dependency factory picks the optional variant, which answers None without a cookie; one route reads the
    principal two services down, another hands it to a service that branches on None, a third is also guarded."""
    found = run(tmp_path, monkeypatch, OptionalAuthNotEnforced, {
        "app/__init__.py": "",
        "app/auth.py": """
            from typing import Annotated

            from fastapi import Cookie, Depends, HTTPException


            class Person:
                id: int = 0


            def _strict(session_id: Annotated[str | None, Cookie()] = None) -> Person:
                if session_id is None:
                    raise HTTPException(status_code=401)
                return Person()


            def _lenient(session_id: Annotated[str | None, Cookie()] = None) -> Person | None:
                if not session_id:
                    return None
                return Person()


            def person(required: bool = True):
                return _strict if required else _lenient
        """,
        "app/services.py": """
            def orders_of(person) -> list[int]:
                return _query(person)


            def _query(who) -> list[int]:
                return [who.id]


            def maybe_orders(person) -> list[int]:
                if person is None:
                    return []
                return orders_of(person)
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI

            from app.auth import person
            from app.services import maybe_orders, orders_of

            app = FastAPI()


            @app.get("/orders")
            def orders(who=Depends(person(required=False))) -> list[int]:
                return orders_of(who)


            @app.get("/orders/maybe")
            def some_orders(who=Depends(person(required=False))) -> list[int]:
                return maybe_orders(who)


            @app.get("/orders/strict")
            def strict_orders(who=Depends(person())) -> list[int]:
                return orders_of(who)
        """,
    })
    [f] = found
    assert (f.path, f.line) == ("app/main.py", 11)
    assert "`orders` takes the principal `who` from `_lenient`" in f.message
    assert "`session_id` is missing" in f.message and "`who.id`" in f.message
    assert "`GET /orders`" in f.message
    assert any(r.path == "app/services.py" and r.line == 7 for r in f.related)  # the read, two calls down
    assert any(r.path == "app/auth.py" and "returns `None`" in r.message for r in f.related)


# -- FAL405 ----------------------------------------------------------------------------


def test_fal405_in_a_dependency_and_not_other_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, DependenciesAsHandlerParameter, {
        "app/__init__.py": "",
        "app/main.py": """
            from typing import Annotated

            from fastapi import Depends, FastAPI, Query

            app = FastAPI()


            def audit() -> None: ...


            def paging(limit: int = 50, dependencies=(Depends(audit),)) -> int:
                return limit


            @app.get("/items")
            def items(page: Annotated[int, Depends(paging)], tags: list[str] = Query([])) -> list:
                return []


            @app.get("/other")
            def other(page: Annotated[int, Depends(paging)], dependencies: str = "none") -> list:
                return []
        """,
    })
    [f] = found
    assert (f.path, f.line) == ("app/main.py", 12)
    assert "dependency `paging` (used by `GET /items`)" in f.message


# -- FAL406 ----------------------------------------------------------------------------


def test_fal406_alias_in_another_module_and_consumer_below(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, ScopesWithoutSecurityScopes, {
        "app/__init__.py": "",
        "app/deps.py": """
            from typing import Annotated

            from fastapi import Depends, Security
            from fastapi.security import OAuth2PasswordBearer, SecurityScopes

            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/token", scopes={"admin": "Admin."})


            def check_scopes(security_scopes: SecurityScopes, token: Annotated[str, Depends(oauth2_scheme)]) -> str:
                return token


            def get_user(token: Annotated[str, Depends(oauth2_scheme)]) -> str:
                return token


            def get_checked_user(token: Annotated[str, Depends(check_scopes)]) -> str:
                return token


            AdminUser = Annotated[str, Security(get_user, scopes=["admin"])]
            CheckedAdmin = Annotated[str, Security(get_checked_user, scopes=["admin"])]
        """,
        "app/main.py": """
            from fastapi import FastAPI

            from app.deps import AdminUser, CheckedAdmin

            app = FastAPI()


            @app.delete("/users/{user_id}")
            def delete_user(user_id: int, admin: AdminUser) -> None: ...


            @app.delete("/teams/{team_id}")
            def delete_team(team_id: int, admin: CheckedAdmin) -> None: ...
        """,
    })
    [f] = found
    assert (f.path, f.line) == ("app/main.py", 10)
    assert "scopes `admin` through `get_user`" in f.message


def test_fal401_a_compute_only_post_in_an_app_without_any_auth_is_info(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # a local tool that authenticates nothing: its write route is an error, a POST that only computes adds
    # only that it can be called (info); in an app that authenticates some routes the same POST stays a warning
    tool = """
        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from {pkg}.db import Note, get_db

        app = FastAPI()


        @app.post("/notes")
        def add_note(text: str, db: Session = Depends(get_db)):
            db.add(Note(text=text))
            db.commit()


        @app.post("/summaries")
        def summarize(text: str):
            return {{"summary": text[:100]}}
    """
    db = """
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class Note(Base):
            __tablename__ = "notes"
            id: Mapped[int] = mapped_column(primary_key=True)
            text: Mapped[str]


        def get_db():
            yield None
    """
    files = {"tool/__init__.py": "", "tool/db.py": db, "tool/main.py": tool.format(pkg="tool")}
    found = run(tmp_path / "open", monkeypatch, PerRouteFAL401, files)
    assert sorted((f.message.split("`")[1], f.severity) for f in found) == [
        ("POST /notes", Severity.ERROR), ("POST /summaries", Severity.INFO)]
    # one cause, one finding: by default the app is reported once, at its constructor, an error listing both
    found = run(tmp_path / "open", monkeypatch, StateChangingRouteWithoutAuth, files)
    assert [(f.line, f.severity) for f in found] == [(7, Severity.ERROR)], [f.message for f in found]
    assert [r.message.split("`")[0:2] for r in found[0].related] == [["[error] ", "POST /notes"],
                                                                       ["[info] ", "POST /summaries"]]
    mixed = """
        from fastapi import Depends, FastAPI
        from fastapi.security import HTTPBearer
        from sqlalchemy.orm import Session

        from svc.db import Note, get_db

        app = FastAPI()
        bearer = HTTPBearer()


        @app.post("/notes")
        def add_note(text: str, db: Session = Depends(get_db)):
            db.add(Note(text=text))
            db.commit()


        @app.post("/summaries")
        def summarize(text: str):
            return {"summary": text[:100]}


        @app.delete("/notes/{note_id}", dependencies=[Depends(bearer)])
        def delete_note(note_id: int, db: Session = Depends(get_db)):
            db.commit()
    """
    found = run(tmp_path / "mixed", monkeypatch, StateChangingRouteWithoutAuth, {
        "svc/__init__.py": "",
        "svc/db.py": db,
        "svc/main.py": mixed,
    })
    assert sorted((f.message.split("`")[1], f.severity) for f in found) == [
        ("POST /notes", Severity.ERROR), ("POST /summaries", Severity.WARNING)]


def test_fal406_is_quiet_when_the_scoped_callable_cannot_be_read(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # ``Security(service.auth, scopes=[...])`` on an object set up at runtime: whether it takes
    # ``SecurityScopes`` is not known; the twin on a readable function that does not take them still fires
    found = run(tmp_path, monkeypatch, ScopesWithoutSecurityScopes, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI, Security
            from fastapi.security import OAuth2PasswordBearer

            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/token", scopes={"admin": "Admin."})
            app = FastAPI()


            def get_user(token: str = Security(oauth2_scheme)) -> str:
                return token


            def register(api) -> None:
                service = api.state.auth_service
                app.add_api_route("/keys", list_keys, methods=["GET"],
                                  dependencies=[Security(service, scopes=["keys:read"])])
                app.add_api_route("/users", list_users, methods=["GET"],
                                  dependencies=[Security(get_user, scopes=["users:read"])])


            def list_keys() -> list: ...


            def list_users() -> list: ...


            register(app)
        """,
    })
    assert [f.message.split("`")[1] for f in found] == ["GET /users"]


def test_security_with_scopes_is_kept_next_to_a_plain_depends_of_the_same_callable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # model fact: FastAPI keys sub-dependencies by callable *and* scopes
    for name, text in {
        "app/__init__.py": "",
        "app/main.py": """
            from typing import Annotated

            from fastapi import Depends, FastAPI, Security
            from fastapi.security import OAuth2PasswordBearer

            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/token")


            def get_user(token: Annotated[str, Depends(oauth2_scheme)]) -> str:
                return token


            app = FastAPI(dependencies=[Depends(get_user)])


            @app.post("/archive")
            def archive(user: Annotated[str, Security(get_user, scopes=["archive"])]) -> None: ...
        """,
    }.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    [route] = analyze(["."]).model.routes
    uses = [(d.name, d.level, d.scopes) for d in route.dependencies if d.name == "app.main.get_user"]
    assert uses == [("app.main.get_user", "app", ()), ("app.main.get_user", "param", ("archive",))]
    assert {v.scopes for v in route.auth.via} == {(), ("archive",)}


# -- FAL407 ----------------------------------------------------------------------------


def test_fal407_by_share_and_unresolved_sub_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, MountedAppBypassesDependencies, {
        "app/__init__.py": "",
        "app/deps.py": DEPS,
        "app/admin.py": """
            from fastapi import FastAPI

            admin_app = FastAPI()


            @admin_app.post("/users/{user_id}/ban")
            def ban(user_id: int) -> None: ...


            @admin_app.get("/health")
            def health() -> dict:
                return {}
        """,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from starlette.applications import Starlette

            from app.admin import admin_app
            from app.deps import get_current_user

            app = FastAPI()
            router = APIRouter(dependencies=[Depends(get_current_user)])


            @router.get("/a")
            def a() -> None: ...


            @router.get("/b")
            def b() -> None: ...


            @app.get("/health")
            def health() -> dict:
                return {}


            app.include_router(router)
            app.mount("/admin", admin_app)
            app.mount("/legacy", Starlette())
        """,
    })
    [f] = found
    assert (f.path, f.line) == ("app/main.py", 26)
    assert "2 of 2 non-public routes of `app` are authenticated" in f.message
    assert "`/admin/users/{user_id}/ban`" in f.message and "/admin/health" not in f.message
    found = run(tmp_path, monkeypatch, MountedAppBypassesDependencies, {}, {"min-authenticated-share": 1.01})
    assert found == []


def test_fal407_app_level_auth_reports_opaque_sub_apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, MountedAppBypassesDependencies, {
        "app/__init__.py": "",
        "app/deps.py": DEPS,
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from fastapi.staticfiles import StaticFiles
            from starlette.applications import Starlette

            from app.deps import get_current_user

            app = FastAPI(dependencies=[Depends(get_current_user)])


            @app.get("/orders")
            def orders() -> list:
                return []


            app.mount("/legacy", Starlette())
            app.mount("/static", StaticFiles(directory="static"))
        """,
    })
    [f] = found
    assert (f.line, f.confidence) == (16, Confidence.MEDIUM)
    assert "app-level `get_current_user`" in f.message


def test_mount_names_the_mounted_project_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, text in {
        "app/__init__.py": "",
        "app/sub.py": "from fastapi import FastAPI\n\nsub_app = FastAPI()\n",
        "app/main.py": "from fastapi import FastAPI\nfrom fastapi.staticfiles import StaticFiles\n"
                       "from app.sub import sub_app\n\napp = FastAPI()\napp.mount('/sub', sub_app)\n"
                       "app.mount('/static', StaticFiles(directory='s'))\n",
    }.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    main = next(a for a in model.apps if a.id == "app.main:app")
    assert [(m.path, m.kind, m.app) for m in main.mounts] == [("/sub", "app", "app.sub:sub_app"), ("/static", "static", "")]
    assert any(a.id == "app.sub:sub_app" for a in model.apps)


# -- the truth-test fact ---------------------------------------------------------------


def test_function_facts_record_truth_tests() -> None:
    module = cst.parse_module(textwrap.dedent("""
        def dep(token, creds, user, n):
            if not token or creds.scheme != "Bearer":
                raise ValueError
            while n:
                n -= 1
            assert user.is_active
            return 1 if creds else 0
    """))
    _, scope, _ = Collector(module).collect()
    [fn] = scope.functions
    assert fn.truth_tests == frozenset({"token", "n", "user.is_active", "creds"})


def test_fal401_on_a_route_registered_under_a_condition_is_a_warning_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, PerRouteFAL401, {
        "app/__init__.py": "",
        "app/settings.py": """
            import os

            ENVIRONMENT = os.environ.get("ENVIRONMENT", "production")
        """,
        "app/main.py": """
            from fastapi import APIRouter, FastAPI

            from app.settings import ENVIRONMENT

            app = FastAPI()
            dev = APIRouter(prefix="/dev")
            ORDERS: list[int] = []


            @dev.post("/seed")
            def seed() -> None: ...


            @app.post("/orders")
            def order() -> None:
                ORDERS.append(1)  # a stub POST of an app without auth or data store is info


            if ENVIRONMENT == "local":
                app.include_router(dev)
        """,
    })
    by_path = {f.message.split("`")[1]: f for f in found}
    assert sorted(by_path) == ["POST /dev/seed", "POST /orders"]
    assert by_path["POST /orders"].severity is Severity.ERROR
    seed = by_path["POST /dev/seed"]
    assert seed.severity is Severity.WARNING and seed.confidence is Confidence.MEDIUM
    assert 'registered only if `ENVIRONMENT == "local"`' in seed.message


def test_fal403_is_quiet_on_class_based_views_that_reach_the_caller_through_self(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/models.py": """
            from sqlalchemy import Column, ForeignKey, Integer
            from sqlalchemy.orm import declarative_base

            Base = declarative_base()


            class Order(Base):
                __tablename__ = "orders"
                id = Column(Integer, primary_key=True)
                owner_id = Column(Integer, ForeignKey("users.id"))
        """,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from fastapi.security import OAuth2PasswordBearer
            from fastapi_utils.cbv import cbv
            from sqlalchemy.orm import Session

            from app.models import Order

            oauth2 = OAuth2PasswordBearer(tokenUrl="/token")
            router = APIRouter()


            def get_db() -> Session: ...


            def current_user(token: str = Depends(oauth2)) -> dict: ...


            @router.get("/orders/{order_id}")
            def read_order(order_id: int, db: Session = Depends(get_db), user: dict = Depends(current_user)):
                return db.get(Order, order_id)


            @cbv(router)
            class OrderViews:
                user: dict = Depends(current_user)
                db: Session = Depends(get_db)

                @property
                def orders(self):
                    return OrderRepository(self.db, owner=self.user["id"])

                @router.get("/mine/{order_id}")
                def mine(self, order_id: int):
                    return self.orders.get(order_id)

                @router.get("/any/{order_id}")
                def any_order(self, order_id: int):
                    return self.db.get(Order, order_id)


            class OrderRepository:
                def __init__(self, db: Session, owner: int) -> None:
                    self.db = db
                    self.owner = owner

                def get(self, order_id: int):
                    return self.db.get(Order, (order_id, self.owner))


            app = FastAPI()
            app.include_router(router)
        """,
    }
    found = run(tmp_path, monkeypatch, ObjectIdWithoutOwnerCheck, files)
    # the view's repository is built from the caller (scoped); its plain session is not: before issue 18
    # every class-based view was skipped, and ``any_order`` was missed
    assert [f.message.split("`")[1] for f in found] == ["GET /orders/{order_id}", "GET /any/{order_id}"]
    assert "the current user (`self.user`" in found[1].message


def test_fal401_a_post_that_only_computes_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a POST with no write on its path, in a project whose other POSTs write: it may only compute (a
    # currency conversion, a decoder), so a missing login is worth a look, not near certain harm
    # (the app authenticates one route: in an app that authenticates none, such a POST is info, see
    # test_fal401_a_compute_only_post_in_an_app_without_any_auth_is_info)
    found = {f.line: f for f in run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from fastapi.security import HTTPBearer
            from sqlalchemy.orm import Session

            app = FastAPI()


            def get_db() -> Session: ...


            @app.post("/orders")
            def create_order(item: str, db: Session = Depends(get_db)) -> dict:
                db.add(item)
                db.commit()
                return {}


            @app.post("/conversion")
            def convert(amount: int, rate: float) -> dict:
                return {"converted": amount * rate}


            @app.get("/me", dependencies=[Depends(HTTPBearer())])
            def me() -> dict:
                return {}
        """,
    })}
    assert sorted(found) == [12, 19], found
    assert (found[12].severity, found[12].confidence) == (Severity.ERROR, Confidence.HIGH)
    assert "changes state" in found[12].message
    assert (found[19].severity, found[19].confidence) == (Severity.WARNING, Confidence.MEDIUM)
    assert "no write to a data store was seen" in found[19].message


def test_fal401_a_webhook_that_only_logs_its_signature_check_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the handler computes the body's signature and only logs whether the header matches: nothing is
    # rejected (so it is no authentication), but nothing is written either: the message must not say the
    # route changes state; the same receiver that stores the delivery does
    found = {f.line: f for f in run(tmp_path, monkeypatch, PerRouteFAL401, {
        "app/__init__.py": "",
        "app/main.py": """
            import hashlib
            import hmac
            import logging
            from typing import Annotated

            from fastapi import Depends, FastAPI, Header, Request
            from sqlalchemy.orm import Session

            app = FastAPI()
            log = logging.getLogger(__name__)
            HOOK_KEY = b"configured"


            def get_db() -> Session: ...


            def body_signature(body: bytes) -> str:
                return hmac.new(HOOK_KEY, body, hashlib.sha256).hexdigest()


            @app.post("/hooks/relay")
            async def relay_hook(request: Request, x_hook_signature: Annotated[str | None, Header()] = None) -> dict:
                body = await request.body()
                log.info("hook received, valid=%s", x_hook_signature == body_signature(body))
                return {"ok": True}


            @app.post("/hooks/deliveries")
            async def store_delivery(request: Request, db: Annotated[Session, Depends(get_db)],
                                     x_hook_signature: Annotated[str | None, Header()] = None) -> dict:
                body = await request.body()
                log.info("hook received, valid=%s", x_hook_signature == body_signature(body))
                db.add(body)
                db.commit()
                return {"ok": True}
        """,
    })}
    assert sorted(found) == [22, 29], found
    assert "changes state" not in found[22].message
    assert "no write to a data store was seen" in found[22].message
    assert (found[22].severity, found[22].confidence) == (Severity.WARNING, Confidence.MEDIUM)
    assert "changes state" in found[29].message
    assert (found[29].severity, found[29].confidence) == (Severity.WARNING, Confidence.MEDIUM)


def test_fal401_a_webhook_whose_whole_path_is_seen_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # no write is seen anywhere in the project (its store is an object the model cannot follow), but every call
    # on the echo's path is seen: logging, reading the body, hashing, answering: it does not change state. The
    # receiver that hands the body to the store it cannot see still may
    found = {f.line: f for f in run(tmp_path, monkeypatch, PerRouteFAL401, {
        "app/__init__.py": "",
        "app/main.py": """
            import hashlib
            import hmac
            import logging
            from typing import Annotated

            from fastapi import FastAPI, Header, Request, Response

            app = FastAPI()
            log = logging.getLogger(__name__)
            HOOK_KEY = b"configured"
            registry = {}


            def body_signature(body: str) -> str:
                return hmac.new(HOOK_KEY, body.encode(), hashlib.sha256).hexdigest()


            @app.post("/hooks/relay")
            async def relay_hook(request: Request, x_hook_signature: Annotated[str | None, Header()] = None):
                payload = await request.body()
                expected = body_signature(payload.decode("utf-8"))
                log.info("hook received, valid=%s", x_hook_signature == expected)
                return Response(content="ok", status_code=200)


            @app.post("/hooks/deliveries")
            async def store_delivery(request: Request, x_hook_signature: Annotated[str | None, Header()] = None):
                payload = await request.body()
                log.info("hook received, valid=%s", x_hook_signature == body_signature(payload.decode()))
                await registry["store"].deliveries.save(payload)
                return Response(content="ok", status_code=200)
        """,
    })}
    assert sorted(found) == [19, 27], found
    assert "changes state" not in found[19].message and "may only compute" in found[19].message
    assert (found[19].severity, found[19].confidence) == (Severity.WARNING, Confidence.MEDIUM)
    assert "changes state" in found[27].message


def test_fal401_a_checker_object_called_by_the_dependency_rejects(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # the dependency takes optional API-key schemes and hands them to a checker object; calling the object
    # runs its ``__call__``, whose helper raises 401 without a key: the routes are authenticated
    found = run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, {
        "app/__init__.py": "",
        "app/keys.py": """
            from fastapi import HTTPException, Request, Security
            from fastapi.security import APIKeyHeader

            key_header = APIKeyHeader(name="X-API-KEY", auto_error=False)


            class KeyChecker:
                def __init__(self, api_key: str | None) -> None:
                    self._api_key = api_key

                def _key(self, request: Request) -> str:
                    key = self._api_key or request.headers.get("X-API-KEY")
                    if not key:
                        raise HTTPException(status_code=401, detail="No API key")
                    return key

                async def __call__(self, request: Request) -> str:
                    return self._key(request)


            async def require_key(request: Request, api_key: str | None = Security(key_header)) -> str:
                check = KeyChecker(api_key)
                return await check(request)


            async def peek_key(request: Request, api_key: str | None = Security(key_header)) -> str | None:
                # the true twin: reads the optional key, rejects nothing
                return api_key
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI

            from app.keys import peek_key, require_key

            app = FastAPI()


            @app.delete("/wallets/{wallet_id}", dependencies=[Depends(require_key)])
            def delete_wallet(wallet_id: int) -> None: ...


            @app.delete("/drafts/{draft_id}", dependencies=[Depends(peek_key)])
            def delete_draft(draft_id: int) -> None: ...
        """,
    })
    assert [f.message.split("`")[1] for f in found] == ["DELETE /drafts/{draft_id}"], [f.message for f in found]


# -- FAL403: the principal flow (issue 18) -------------------------------------------------------

FLOW_MODELS = """
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    total: Mapped[int] = mapped_column()
    note: Mapped[str] = mapped_column(String(200))
"""


def test_fal403_follows_the_request_a_middleware_authenticated_three_calls_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, ObjectIdWithoutOwnerCheck, {
        "app/__init__.py": "",
        "app/models.py": FLOW_MODELS,
        "app/store.py": """
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.models import Invoice


            def by_id(db: Session, invoice_id: int, org_id: int) -> Invoice | None:
                return db.scalar(select(Invoice).where(Invoice.id == invoice_id, Invoice.org_id == org_id))


            def by_id_unscoped(db: Session, invoice_id: int, org_id: int) -> Invoice | None:
                if org_id is None:
                    pass
                return db.get(Invoice, invoice_id)
        """,
        "app/billing.py": """
            from fastapi import Request
            from sqlalchemy.orm import Session

            from app import store


            def invoice_for(db: Session, invoice_id: int, request: Request):
                return lookup(db, invoice_id, request.state.user)


            def lookup(db: Session, invoice_id: int, caller):
                return store.by_id(db, invoice_id, caller.org_id)


            def invoice_careless(db: Session, invoice_id: int, request: Request):
                return store.by_id_unscoped(db, invoice_id, request.state.user.org_id)
        """,
        "app/main.py": """
            from fastapi import FastAPI, Request
            from fastapi.responses import JSONResponse
            from sqlalchemy.orm import Session

            from app import billing

            app = FastAPI()
            db = Session()
            TOKENS = {"t": object()}


            @app.middleware("http")
            async def authenticate(request: Request, call_next):
                user = TOKENS.get(request.headers.get("Authorization", ""))
                if user is None:
                    return JSONResponse({"detail": "unauthorized"}, status_code=401)
                request.state.user = user
                return await call_next(request)


            @app.get("/invoices/{invoice_id}")
            def read_invoice(invoice_id: int, request: Request) -> dict:
                return {"total": billing.invoice_for(db, invoice_id, request).total}


            @app.get("/drafts/{invoice_id}")
            def read_draft(invoice_id: int, request: Request) -> dict:
                return {"total": billing.invoice_careless(db, invoice_id, request).total}
        """,
    })
    # read_invoice: scoped three calls down (invoice_for -> lookup -> by_id: org_id == caller.org_id);
    # read_draft: the caller's org reaches by_id_unscoped, which only tests it for None
    assert [(f.path, f.line) for f in found] == [("app/main.py", 29)]
    [f] = found
    assert f.severity is Severity.WARNING and "(`request`, from the request" in f.message and "`org_id`" in f.message
    assert "handed to `by_id_unscoped`, which never uses it in `invoice_careless`" in f.message


def test_principal_flow_names_each_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_arch_lint.rules.auth._principal import route_flow

    for name, text in {
        "app/__init__.py": "",
        "app/models.py": FLOW_MODELS,
        "app/main.py": """
            import logging
            from collections.abc import Callable
            from typing import Annotated

            from fastapi import Depends, FastAPI, HTTPException
            from fastapi.security import OAuth2PasswordBearer
            from ledger import remote_fetch
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.models import Invoice

            app = FastAPI()
            db = Session()
            oauth2 = OAuth2PasswordBearer(tokenUrl="/token")
            log = logging.getLogger(__name__)


            class Caller:
                id: int
                org_id: int
                role: str
                is_active: bool


            def get_current_user(token: Annotated[str, Depends(oauth2)]) -> Caller:
                return Caller()


            def needs(role: str) -> Callable[[Caller], Caller]:
                def checker(user: Annotated[Caller, Depends(get_current_user)]) -> Caller:
                    if user.role != role:
                        raise HTTPException(status_code=403)
                    return user
                return checker


            Me = Annotated[Caller, Depends(get_current_user)]


            @app.get("/a/{invoice_id}")
            def scoped(invoice_id: int, me: Me):
                org = me.org_id
                return db.scalar(select(Invoice).where(Invoice.id == invoice_id, Invoice.org_id == org))


            @app.get("/b/{invoice_id}")
            def early_return(invoice_id: int, me: Me):
                inv = db.get(Invoice, invoice_id)
                if inv.org_id != me.org_id:
                    return None
                return inv


            @app.get("/c/{invoice_id}")
            def noop(invoice_id: int, me: Me):
                inv = db.get(Invoice, invoice_id)
                if inv.org_id != me.org_id:
                    pass
                if not me.is_active:
                    raise HTTPException(status_code=401)
                log.info("read by %s", me.id)
                return inv


            @app.get("/d/{invoice_id}", dependencies=[Depends(needs("auditor"))])
            def role(invoice_id: int):
                return db.get(Invoice, invoice_id)


            @app.get("/e/{invoice_id}")
            def library(invoice_id: int, me: Me):
                return remote_fetch(invoice_id, me)
        """,
    }.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    flows = {r.path: route_flow(model, r) for r in model.routes}
    kinds = {path: sorted({u.kind for u in f.uses}) for path, f in flows.items()}
    assert kinds["/a/{invoice_id}"] == ["scope"]
    assert kinds["/b/{invoice_id}"] == ["reject"]
    assert kinds["/c/{invoice_id}"] == ["noop"]  # `pass` and a log line; `is_active` is authentication
    assert kinds["/d/{invoice_id}"] == ["role"]  # in the dependency factory's checker
    assert kinds["/e/{invoice_id}"] == ["opaque"]
    assert [s.name for s in flows["/a/{invoice_id}"].sources] == ["me"]
    assert not flows["/c/{invoice_id}"].checked and flows["/e/{invoice_id}"].checked
    found = ObjectIdWithoutOwnerCheck(None).check(model)
    assert [f.message.split("`")[1] for f in found] == ["GET /c/{invoice_id}"]


def test_route_dependencies_a_factory_caller_hands_over_leave_auth_unresolved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``@router.post(..., dependencies=route_dependencies)`` in a router factory: which dependencies run
    is up to its caller (here picked by a setting read at runtime), so the route's auth is unresolved,
    never "none"; its sibling without any still fires."""
    files = {
        "app/__init__.py": "",
        "app/hooks.py": """
            import os

            from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException

            def token_caller(authorization: str = Header("")) -> str:
                if not authorization.startswith("Bearer "):
                    raise HTTPException(status_code=401)
                return authorization

            def shared_secret(x_hook_secret: str = Header("")) -> None:
                if x_hook_secret != os.environ["HOOK_SECRET"]:
                    raise HTTPException(status_code=403)

            def hook_router(route_dependencies: list) -> APIRouter:
                router = APIRouter(prefix="/git")

                @router.post("/webhook", dependencies=route_dependencies)
                def receive_hook(payload: dict) -> dict:
                    return {"received": True}

                @router.post("/replay")
                def replay(payload: dict) -> dict:
                    return {"replayed": True}

                return router

            def git_hooks() -> APIRouter:
                guard = token_caller if os.environ.get("HOOK_AUTH") == "token" else shared_secret
                return hook_router([Depends(guard)])

            app = FastAPI()
            app.include_router(git_hooks())
        """,
    }
    found = run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, files)
    assert [(f.line, f.message.split("`")[1]) for f in found] == [(22, "POST /git/replay")]


def test_a_middleware_that_checks_the_admin_tree_apart_makes_its_routes_privileged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A middleware whose check (here in a function it calls) tests ``"/admin/" in request.url.path`` and
    then wants another credential (the operator's key) gates the admin tree: FAL408 and FAL403 stay quiet
    there, the same handler outside the tree is still reported."""
    files = {
        "app/__init__.py": "",
        "app/models.py": """
            from sqlalchemy import String
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class Account(Base):
                __tablename__ = "accounts"

                id: Mapped[int] = mapped_column(primary_key=True)
                email: Mapped[str] = mapped_column(String(255))
                is_admin: Mapped[bool] = mapped_column(default=False)
        """,
        "app/main.py": """
            import os

            from fastapi import FastAPI, HTTPException, Request
            from fastapi.responses import JSONResponse
            from sqlalchemy.orm import Session

            from app.models import Account

            ADMIN_KEY = os.environ["ADMIN_KEY"]
            ADMIN_MARK = "/admin/"


            def lookup(token: str) -> int | None:
                return int(token) if token.isdigit() else None


            def check_request(request: Request) -> None:
                token = request.headers.get("Authorization", "")
                if ADMIN_MARK in request.url.path:
                    # the admin tree takes the operator's key, not a user's token
                    if not token or token != ADMIN_KEY:
                        raise HTTPException(status_code=401)
                    request.state.admin = True
                    return
                if lookup(token) is None:
                    raise HTTPException(status_code=401)


            app = FastAPI()


            @app.middleware("http")
            async def authenticate(request: Request, call_next):
                try:
                    check_request(request)
                except HTTPException:
                    return JSONResponse(status_code=401, content={"detail": "Unauthorized"})
                return await call_next(request)


            @app.delete("/admin/accounts/{account_id}")
            def remove_account(account_id: int) -> dict:
                db = Session()
                db.delete(db.get(Account, account_id))
                db.commit()
                return {"removed": account_id}


            @app.delete("/accounts/{account_id}")
            def close_account(account_id: int) -> dict:
                db = Session()
                db.delete(db.get(Account, account_id))
                db.commit()
                return {"closed": account_id}
        """,
    }
    from fastapi_arch_lint.rules.auth.privileged_route_without_role_check import PrivilegedRouteWithoutRoleCheck

    assert run(tmp_path, monkeypatch, PrivilegedRouteWithoutRoleCheck, files) == []
    owner = run(tmp_path, monkeypatch, ObjectIdWithoutOwnerCheck, files)
    assert [(f.line, f.message.split("`")[1]) for f in owner] == [(53, "DELETE /accounts/{account_id}")]


def test_optional_key_handed_to_a_service_located_at_runtime_is_not_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ``auto_error=False`` key passed on to a service the registry hands out at run time may be
    rejected there: FAL401 does not call the route open; the same scheme read by a dependency that only
    returns it still leaves the route open."""
    files = {
        "app/__init__.py": "",
        "app/registry.py": """
            SERVICES: dict[str, object] = {}

            def service(name: str) -> object:
                return SERVICES[name]
        """,
        "app/main.py": """
            from typing import Annotated

            from fastapi import Depends, FastAPI, Security
            from fastapi.security import APIKeyHeader

            from app import registry

            api_key_header = APIKeyHeader(name="x-api-key", auto_error=False)
            app = FastAPI()

            async def key_caller(key: Annotated[str | None, Security(api_key_header)]) -> dict | None:
                return await registry.service("auth").caller_for_key(key)

            def key_echo(key: Annotated[str | None, Security(api_key_header)]) -> str | None:
                return key

            @app.post("/runs")
            async def start_run(caller: Annotated[dict | None, Depends(key_caller)]) -> dict:
                return {"started": True}

            @app.post("/echoes")
            def store_echo(key: Annotated[str | None, Depends(key_echo)]) -> dict:
                return {"stored": key}
        """,
    }
    found = run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, files)
    assert [f.message.split("`")[1] for f in found] == ["POST /echoes"]


def test_router_dependencies_built_by_appending_under_a_setting_are_unresolved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``def get_dependencies(): result = []; if KEY: result.append(Depends(check)); return result`` gives a
    router its dependencies at run time: not the empty list the local started as. Its routes' auth is
    unresolved (FAL401 quiet); a router with no dependencies at all still fires."""
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            import os

            from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException

            SESSION_KEY = os.environ.get("SESSION_KEY")

            def check_session_key(x_session_key: str = Header("")) -> None:
                if x_session_key != SESSION_KEY:
                    raise HTTPException(status_code=401)

            def get_dependencies() -> list:
                result = []
                if SESSION_KEY:
                    result.append(Depends(check_session_key))
                return result

            guarded = APIRouter(prefix="/api", dependencies=get_dependencies())
            open_router = APIRouter(prefix="/open")

            @guarded.delete("/secrets/{name}")
            def delete_secret(name: str) -> None: ...

            @open_router.delete("/notes/{name}")
            def delete_note(name: str) -> None: ...

            app = FastAPI()
            app.include_router(guarded)
            app.include_router(open_router)
        """,
    }
    found = run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, files)
    assert [f.message.split("`")[1] for f in found] == ["DELETE /open/notes/{name}"]


def test_a_sign_in_callback_that_verifies_the_providers_id_token_is_authenticated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 'Sign in with Google' callback posts the provider's signed ID token; the handler verifies it
    (``id_token.verify_oauth2_token``) before it signs the user in: it authenticates its caller. A
    callback that only reads the posted credential still fires."""
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI, Form, HTTPException
            from google.auth.transport import requests as google_requests
            from google.oauth2 import id_token

            app = FastAPI()

            @app.post("/auth/google/callback")
            def google_callback(credential: str = Form(...)) -> dict:
                try:
                    info = id_token.verify_oauth2_token(credential, google_requests.Request(), "client-id")
                except ValueError:
                    raise HTTPException(status_code=401)
                return {"email": info["email"]}

            @app.post("/auth/other/callback")
            def other_callback(credential: str = Form(...)) -> dict:
                return {"credential": credential[:4]}
        """,
    }
    found = run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, files)
    assert [f.message.split("`")[1] for f in found] == ["POST /auth/other/callback"]


# -- dependencies whose code the analysis does not read ----------------------------


UNREAD_DEPENDENCIES = {
    "app/__init__.py": "",
    "app/main.py": """
        from types import FunctionType
        from functools import update_wrapper

        from fastapi import Depends, FastAPI, HTTPException, Security
        from fastapi.security import OAuth2PasswordBearer
        from sharedauth import get_current_user, require_role
        from sharedinfra import get_db

        oauth2 = OAuth2PasswordBearer(tokenUrl="/token")
        app = FastAPI()


        def copy_func(f):
            g = FunctionType(f.__code__, f.__globals__, name=f.__name__, argdefs=f.__defaults__)
            return update_wrapper(g, f)


        async def verify(token: str = Security(oauth2)) -> str:
            if token != "expected":
                raise HTTPException(status_code=401)
            return token


        verify_prod = copy_func(verify)


        @app.delete("/copied/{item_id}", dependencies=[Security(verify_prod)])
        async def delete_copied(item_id: int) -> None:
            return None


        @app.delete("/shared/{item_id}", dependencies=[Depends(get_current_user)])
        async def delete_shared(item_id: int) -> None:
            return None


        @app.delete("/roles/{item_id}", dependencies=[Depends(require_role("admin"))])
        async def delete_with_role(item_id: int) -> None:
            return None


        @app.delete("/open/{item_id}")
        async def delete_open(item_id: int, db=Depends(get_db)) -> None:
            return None
    """,
}


def test_a_copy_of_an_auth_function_keeps_its_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ``update_wrapper(FunctionType(f.__code__, ...), f)`` runs f's code with f's signature
    run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, UNREAD_DEPENDENCIES)
    model = analyze(["."]).model
    copied = next(r for r in model.routes if r.path == "/copied/{item_id}")
    assert copied.auth.required and [v.chain for v in copied.auth.via] == [("verify", "oauth2")]


def test_a_dependency_the_analysis_cannot_read_leaves_auth_unknown(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # a guard from a package outside the analyzed tree may authenticate: no "no authentication" finding
    # there, and the route's auth is shown as unknown; a session dependency from one checks nobody
    found = run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, UNREAD_DEPENDENCIES)
    assert [(f.line, f.severity) for f in found] == [(43, Severity.ERROR)]
    assert "`DELETE /open/{item_id}`" in found[0].message
    model = analyze(["."]).model
    unknown = {d.name for r in model.routes for d in r.dependencies if d.kind == "unknown"}
    assert unknown == {"sharedauth.get_current_user", "sharedauth.require_role()"}


def test_fal401_switched_sign_up_is_public_and_one_time_setup_a_warning(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A route that refuses when a configured open-sign-up or guest-mode switch is off is public on purpose
    (quiet); one on another setting still fires as an error. A one-time setup that refuses once a configured
    flag says it has run, and sets the flag itself, is a warning that says so; the same refusal on a flag the
    route never sets keeps the error."""
    found = {f.line: f for f in run(tmp_path, monkeypatch, PerRouteFAL401, {
        "app/__init__.py": "",
        "app/main.py": """
            import os

            from fastapi import FastAPI, HTTPException


            class Settings:
                new_accounts_allowed: bool = os.environ.get("NEW_ACCOUNTS", "1") == "1"
                NOLOGIN_MODE_ENABLED: bool = False
                first_install: bool = True
                maintenance: bool = False


            settings = Settings()
            STORE: dict[str, str] = {}
            app = FastAPI()


            def open_account(name: str) -> str:
                if not settings.new_accounts_allowed:
                    raise ValueError("Account creation is disabled.")
                STORE[name] = ""
                return name


            @app.post("/accounts")
            def create_account(name: str) -> dict:
                return {"name": open_account(name)}


            @app.post("/guest/uploads")
            def guest_upload(text: str) -> dict:
                if not settings.NOLOGIN_MODE_ENABLED:
                    raise HTTPException(status_code=503)
                STORE["upload"] = text
                return {"ok": True}


            @app.post("/workspaces")
            def create_workspace(name: str) -> dict:
                if settings.maintenance:
                    raise HTTPException(status_code=503)
                STORE[name] = "workspace"
                return {"name": name}


            @app.put("/setup")
            def first_setup(password: str) -> dict:
                if not settings.first_install:
                    raise HTTPException(status_code=403)
                STORE["admin"] = password
                settings.first_install = False
                return {"ok": True}


            @app.put("/setup/again")
            def setup_again(password: str) -> dict:
                if not settings.first_install:
                    raise HTTPException(status_code=403)
                STORE["admin"] = password
                return {"ok": True}
        """,
    })}
    assert sorted(found) == [39, 47, 56], sorted(found)  # /workspaces, /setup, /setup/again
    assert found[39].severity is Severity.ERROR
    assert (found[47].severity, found[47].confidence) == (Severity.WARNING, Confidence.MEDIUM)
    assert "one-time setup" in found[47].message and "`settings.first_install`" in found[47].message
    assert found[56].severity is Severity.ERROR and "one-time setup" not in found[56].message


def test_fal401_first_admin_setup_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first-run route that refuses once an administrator exists (``if users.has_admin(): raise``) and then
    creates that administrator closes itself: a warning that says so. Without the refusal, or refusing on
    something else, it stays an error."""
    found = {f.line: f for f in run(tmp_path, monkeypatch, PerRouteFAL401, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI, HTTPException


            class Users:
                def __init__(self) -> None:
                    self.rows: dict[str, str] = {}

                def has_admin(self) -> bool:
                    return "admin" in self.rows

                def is_locked(self) -> bool:
                    return False

                def create_admin(self, email: str) -> str:
                    self.rows["admin"] = email
                    return email


            users = Users()
            app = FastAPI()


            @app.post("/setup")
            def setup_admin(email: str) -> dict:
                if users.has_admin():
                    raise HTTPException(status_code=400, detail="already configured")
                return {"admin": users.create_admin(email)}


            @app.post("/setup/unguarded")
            def setup_unguarded(email: str) -> dict:
                if users.is_locked():
                    raise HTTPException(status_code=400)
                return {"admin": users.create_admin(email)}
        """,
    })}
    assert sorted(found) == [24, 31], sorted(found)
    assert (found[24].severity, found[24].confidence) == (Severity.WARNING, Confidence.MEDIUM)
    assert "refuses once `users.has_admin()` says an administrator exists" in found[24].message
    assert found[31].severity is Severity.ERROR and "one-time setup" not in found[31].message


def test_fal401_post_queuing_a_task_that_writes_keeps_the_error(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A POST whose handler writes nothing itself but queues a task (``task.delay(...)``) whose code writes to
    the database changes state through the worker: an error naming the task. One that queues a task that only
    logs stays the 'may only compute' warning."""
    found = {f.line: f for f in run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, {
        "app/__init__.py": "",
        "app/tasks.py": """
            import logging

            from celery import Celery
            from sqlalchemy.orm import Session

            celery_app = Celery("app")
            log = logging.getLogger(__name__)


            @celery_app.task(name="store_note")
            def store_note_task(text: str) -> None:
                with Session() as session:
                    session.add(text)
                    session.commit()


            @celery_app.task(name="log_note")
            def log_note_task(text: str) -> None:
                log.info("note %s", text)
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from fastapi.security import HTTPBearer
            from sqlalchemy.orm import Session
            app = FastAPI()


            @app.post("/hooks/notes/{team_id}")
            def receive_note(team_id: int, text: str) -> dict:
                from app.tasks import store_note_task

                store_note_task.delay(text)
                return {"queued": True}


            @app.post("/hooks/pings")
            def receive_ping(text: str) -> dict:
                from app.tasks import log_note_task

                log_note_task.delay(text)
                return {"queued": True}


            @app.delete("/notes/{note_id}")
            def delete_note(note_id: int) -> None:
                with Session() as session:
                    session.delete(note_id)
                    session.commit()


            @app.get("/me", dependencies=[Depends(HTTPBearer())])  # the app authenticates some route
            def me() -> dict:
                return {}
        """,
    })}
    assert found[8].severity is Severity.ERROR and "it queues `store_note_task`" in found[8].message
    assert found[16].severity is Severity.WARNING and "may only compute" in found[16].message


def test_an_unresolved_dependency_list_of_a_parent_router_reaches_the_routes_below(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ``deps = [...]; if enabled: deps.append(Depends(auth))`` then ``APIRouter(dependencies=deps)``, with the
    # routes on child routers included into it: their auth is unknown, not absent (no FAL401 error); a
    # sibling router with no dependencies still fires
    found = run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, {
        "app/__init__.py": "",
        "app/items.py": """
            from fastapi import APIRouter

            router = APIRouter()

            @router.delete("/items/{item_id}")
            def delete_item(item_id: int) -> None:
                return None
        """,
        "app/open.py": """
            from fastapi import APIRouter

            router = APIRouter()

            @router.delete("/open/{item_id}")
            def delete_open(item_id: int) -> None:
                return None
        """,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException

            from app import items, open


            def require_token(authorization: str = Header("")) -> None:
                if authorization != "Bearer ok":
                    raise HTTPException(status_code=401)


            def create_api(auth_enabled: bool) -> APIRouter:
                dependencies = []
                if auth_enabled:
                    dependencies.append(Depends(require_token))
                api = APIRouter(prefix="/v1", dependencies=dependencies)
                inner = APIRouter()
                inner.include_router(items.router)
                api.include_router(inner)
                return api


            def create_app(auth_enabled: bool) -> FastAPI:
                app = FastAPI()
                app.include_router(create_api(auth_enabled))
                app.include_router(open.router)
                return app


            app = create_app(auth_enabled=True)
        """,
    })
    assert [f.message.split("`")[1] for f in found] == ["DELETE /open/{item_id}"]
    model = analyze(["."]).model
    below = next(r for r in model.routes if r.path == "/v1/items/{item_id}")
    assert [d.kind for d in below.dependencies] == ["unknown"]


def test_a_deny_all_dependency_is_auth_and_a_conditional_one_is_not(tmp_path: Path) -> None:
    """A dependency whose body raises 403 under no condition lets nobody through: the route's auth is that
    gate, not "none". One that raises only under a condition it does not tie to a credential, or returns
    first, is not a gate."""
    (tmp_path / "main.py").write_text(textwrap.dedent('''
        import os

        from fastapi import APIRouter, Depends, FastAPI, HTTPException


        class Closed:
            async def __call__(self) -> None:
                raise HTTPException(status_code=403, detail="not configured")


        class Sometimes:
            async def __call__(self) -> None:
                if os.environ.get("LOCKED"):
                    raise HTTPException(status_code=403)


        def early() -> None:
            return None
            raise HTTPException(status_code=403)


        app = FastAPI()


        @app.post("/closed", dependencies=[Depends(Closed())])
        def closed() -> None: ...


        @app.post("/sometimes", dependencies=[Depends(Sometimes())])
        def sometimes() -> None: ...


        @app.post("/early", dependencies=[Depends(early)])
        def early_route() -> None: ...
    '''))
    model = analyze([tmp_path], jobs=1).model
    auth = {r.path: r.auth for r in model.apps[0].routes}
    assert [(v.kind, v.name) for v in auth["/closed"].via] == [("dependency", "Closed()")]
    assert "on every request" in auth["/closed"].via[0].evidence
    assert auth["/sometimes"].via == () and auth["/early"].via == ()


def test_fal404_acting_user_hint_beside_a_refusing_key_dependency(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """An optional hint on a route whose other dependency refuses a request without a valid key (through a
    helper raising a project exception) is context: only the route with nothing else is listed."""
    from ruledocs import page_cases

    page = next((Path(__file__).resolve().parents[1] / "rules" / "auth").glob("FAL404-*.md"))
    case = next(c for c in page_cases(page) if c.section == "Misreadings")
    files = {"app/__init__.py": "", "app/routers/__init__.py": "",
             "app/routers/clients.py": case.files["app/routers/clients.py"],
             "app/main.py": "from fastapi import FastAPI\n\nfrom app.routers import clients\n\n"
                            "app = FastAPI()\napp.include_router(clients.router)\n"}
    found = run(tmp_path, monkeypatch, OptionalAuthNotEnforced, files)
    assert len(found) == 1 and "`GET /clients/open`" in found[0].message, [f.message for f in found]
    assert "/clients/messages" not in found[0].message


def test_fal403_global_tenant_listener_lowers_tenant_tables_to_info(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``do_orm_execute`` listener that filters every SELECT on ``tenant_id`` scopes a lookup by id of a table
    with that column to the caller's tenant: info naming the listener. A table without it stays a warning."""
    from ruledocs import page_cases

    page = next((Path(__file__).resolve().parents[1] / "rules" / "auth").glob("FAL403-*.md"))
    case = next(c for c in page_cases(page) if c.section == "Misreadings")
    files = {"app/__init__.py": "", **{k: v for k, v in case.files.items()
                                       if k in ("app/models.py", "app/deps.py", "app/tenancy.py")}}
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, ObjectIdWithoutOwnerCheck, files)}
    assert set(found) == {"DELETE /folders/{folder_id}", "DELETE /drafts/{draft_id}", "DELETE /notebooks/{notebook_id}",
                          "POST /folders/{folder_id}/purge"}, list(found)
    folder = found.pop("DELETE /folders/{folder_id}")
    assert folder.severity is Severity.INFO and "`_scope_to_tenant` filters every SELECT on `tenant_id`" in folder.message
    assert any("tenant filter" in r.message for r in folder.related)
    for f in found.values():  # no tenant column, a user column besides it, a bulk DELETE the listener does not see
        assert f.severity is Severity.WARNING and "any authenticated caller can reach any id" in f.message, f.message


def test_fal403_listener_that_only_reads_the_statement_scopes_nothing(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``do_orm_execute`` listener that only logs the statement (never rewrites it) filters nothing."""
    from ruledocs import page_cases

    page = next((Path(__file__).resolve().parents[1] / "rules" / "auth").glob("FAL403-*.md"))
    case = next(c for c in page_cases(page) if c.section == "Misreadings")
    tenancy = case.files["app/tenancy.py"].replace("        state.statement = stmt\n",
                                                    "        print(stmt, state.is_select)\n")
    assert tenancy != case.files["app/tenancy.py"]
    files = {"app/__init__.py": "", "app/models.py": case.files["app/models.py"], "app/deps.py": case.files["app/deps.py"],
             "app/tenancy.py": tenancy}
    found = run(tmp_path, monkeypatch, ObjectIdWithoutOwnerCheck, files)
    assert len(found) == 4 and all(f.severity is Severity.WARNING for f in found), [f.message for f in found]


@pytest.mark.parametrize("where", ["nested", "module"])
def test_fal403_tenant_listener_registered_with_event_listen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             where: str) -> None:
    """``event.listen(Session, "do_orm_execute", fn)``, in the registering function or at module level, is the
    same listener as the decorated one."""
    from ruledocs import page_cases

    page = next((Path(__file__).resolve().parents[1] / "rules" / "auth").glob("FAL403-*.md"))
    case = next(c for c in page_cases(page) if c.section == "Misreadings")
    tenancy = case.files["app/tenancy.py"].replace('    @event.listens_for(Session, "do_orm_execute")\n', "")
    body = tenancy.split("def register_tenant_filter() -> None:\n", 1)[1].split("\n\n\n", 1)[0]
    register = '    event.listen(Session, "do_orm_execute", _scope_to_tenant)\n'
    if where == "module":  # the listener moved out to module level, registered beside it
        listener = "\n".join(line[4:] for line in body.splitlines())
        tenancy = tenancy.replace("def register_tenant_filter() -> None:\n" + body, listener + "\n\n\n" + register[4:])
    else:
        tenancy = tenancy.replace(body, body + "\n\n" + register)
    assert "event.listen(" in tenancy and "listens_for" not in tenancy
    files = {"app/__init__.py": "", "app/models.py": case.files["app/models.py"], "app/deps.py": case.files["app/deps.py"],
             "app/tenancy.py": tenancy}
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, ObjectIdWithoutOwnerCheck, files)}
    assert found["DELETE /folders/{folder_id}"].severity is Severity.INFO, tenancy
    assert found["DELETE /drafts/{draft_id}"].severity is Severity.WARNING


def test_fal401_internal_service_without_auth_or_store_is_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An app none of whose routes authenticates, in a project where no write is seen: its RPC-style POSTs whose
    path uses no data store are info naming the app's open routes; one that appends to a module's list, or
    reaches a function whose module uses a Redis client, keeps the error (the page's worker)."""
    from ruledocs import page_cases

    page = next((Path(__file__).resolve().parents[1] / "rules" / "auth").glob("FAL401-*.md"))
    case = next(c for c in page_cases(page) if c.section == "Misreadings")
    files = {"worker/__init__.py": "", **{k: v for k, v in case.files.items() if k.startswith("worker/")}}
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, PerRouteFAL401, files)}
    assert {k: f.severity for k, f in found.items()} == {
        "POST /node_get_status": Severity.INFO, "POST /count_token": Severity.INFO,
        "POST /enqueue": Severity.ERROR, "POST /remember": Severity.ERROR}, [f.message for f in found.values()]
    status = found["POST /node_get_status"]
    assert "changes state" not in status.message and "authenticates none of its 4 routes" in status.message
    assert "changes state" in found["POST /remember"].message


def test_fal401_internal_service_unresolved_object_named_for_a_change_keeps_the_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In such a service, a call on an object the model cannot resolve (built in ``__main__`` by unpacking) whose
    method is named for a change (``register_node``) may keep something: the error stays. One named for a read
    (``get_status``) is info; so is an ``append`` to a local list, which is only the answer being built."""
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, PerRouteFAL401, {
        "svc/__init__.py": "",
        "svc/controller.py": """
            import uvicorn
            from fastapi import FastAPI, Request

            app = FastAPI()


            class Controller:
                def __init__(self) -> None:
                    self.workers: dict[str, dict] = {}

                def register_node(self, name: str) -> None:
                    print(name)

                def get_status(self) -> dict:
                    return {"workers": sorted(self.workers)}


            def build() -> tuple[dict, Controller]:
                return {}, Controller()


            @app.post("/register_node")
            async def register_node(request: Request) -> None:
                data = await request.json()
                controller.register_node(data["name"])


            @app.post("/get_status")
            async def get_status(request: Request) -> dict:
                names = []
                for name in controller.get_status()["workers"]:
                    names.append(name)
                return {"names": names}


            if __name__ == "__main__":
                args, controller = build()
                uvicorn.run(app, host="localhost")
        """,
    })}
    assert {k: f.severity for k, f in found.items()} == {
        "POST /register_node": Severity.ERROR, "POST /get_status": Severity.INFO}, [f.message for f in found.values()]


def test_fal401_internal_service_through_an_abstract_api_keeps_the_error(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A route that calls an abstract API (``API.create_item``, resolved through the annotation) runs the
    subclass's override, which writes: the error stays. A read through the same API is info."""
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, PerRouteFAL401, {
        "svc/__init__.py": "",
        "svc/api.py": """
            from abc import ABC, abstractmethod


            class API(ABC):
                @abstractmethod
                def create_item(self, name: str) -> dict:
                    pass

                def describe(self) -> dict:
                    return {"kind": "items"}


            class ServerAPI(API):
                def __init__(self) -> None:
                    self.items: dict[str, dict] = {}

                def create_item(self, name: str) -> dict:
                    self.items[name] = {"name": name}
                    return self.items[name]
        """,
        "svc/server.py": """
            from fastapi import FastAPI

            from svc.api import API, ServerAPI

            app = FastAPI()
            api: API = ServerAPI()


            @app.post("/items")
            def create_item(name: str) -> dict:
                return api.create_item(name)


            @app.post("/describe")
            def describe() -> dict:
                return api.describe()
        """,
    })}
    assert {k: f.severity for k, f in found.items()} == {
        "POST /items": Severity.ERROR, "POST /describe": Severity.INFO}, [f.message for f in found.values()]


def test_fal401_auth_switched_on_by_configuration_is_info_not_optional(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A dependency that refuses a missing or unknown key whenever keys are configured (``if settings.api_keys:``)
    is authentication the operator switches on: info saying so, not "optional authentication". One that lets a
    request without a credential through whatever the configuration keeps the warning (the page's gateway)."""
    from ruledocs import page_cases

    page = next((Path(__file__).resolve().parents[1] / "rules" / "auth").glob("FAL401-*.md"))
    case = next(c for c in page_cases(page) if c.section == "Misreadings")
    files = {"gateway/__init__.py": "", "gateway/main.py": case.files["gateway/main.py"]}
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, files)}
    jobs, drafts = found["POST /v1/jobs"], found["POST /v1/drafts"]
    assert (jobs.severity, jobs.confidence) == (Severity.INFO, Confidence.MEDIUM), jobs.message
    assert "switched on by configuration: `check_api_key`" in jobs.message
    assert "`gateway_settings.api_keys`" in jobs.message and "optional" not in jobs.message
    assert (drafts.severity, drafts.confidence) == (Severity.WARNING, Confidence.MEDIUM), drafts.message
    assert "only optional authentication reaches it (`maybe_key` lets anonymous requests through)" in drafts.message
    # both store into a dict the module holds: neither is said to only compute
    assert "changes state" in jobs.message and "changes state" in drafts.message


def test_fal401_internal_service_writing_a_file_keeps_the_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In such a service, a POST that writes the upload to disk (``open(path, "wb")`` and ``shutil.copyfileobj``
    in a helper), or removes a file, keeps something beyond the request: the error stays. One that only reads a
    file (``open(path)``) and answers is info."""
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, PerRouteFAL401, {
        "docs/__init__.py": "",
        "docs/files.py": """
            import os
            import shutil


            async def keep_upload(upload, folder: str) -> dict:
                target = os.path.join(folder, os.path.basename(upload.filename))
                with open(target, "wb") as out:
                    shutil.copyfileobj(upload.file, out)
                return {"path": target}


            async def read_notes(folder: str) -> str:
                with open(os.path.join(folder, "notes.txt")) as f:
                    return f.read()
        """,
        "docs/server.py": """
            from pathlib import Path

            from fastapi import FastAPI, UploadFile

            from docs.files import keep_upload, read_notes

            app = FastAPI()
            FOLDER = "docs-store"


            @app.post("/upload")
            async def upload(file: UploadFile):
                return await keep_upload(file, FOLDER)


            @app.post("/notes")
            async def notes():
                return {"notes": await read_notes(FOLDER)}


            @app.post("/forget")
            async def forget(name: str):
                Path(FOLDER, name).unlink()
                return {}
        """,
    })}
    assert {k: f.severity for k, f in found.items()} == {
        "POST /upload": Severity.ERROR, "POST /notes": Severity.INFO, "POST /forget": Severity.ERROR}, \
        [f.message for f in found.values()]


def test_fal401_an_app_that_authenticates_none_of_its_routes_is_one_finding(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """One cause, one finding: the page's apps that authenticate none of their routes are each reported once, at
    `app = FastAPI()` (`# expect:`), as an error (some route changes state); the routes marked
    `# listed: FAL401` are exactly its related locations, each at its own severity (error unless the marker
    names another), so the per-route twins of those apps still fire, inside the app's finding."""
    import re

    from ruledocs import page_cases

    listed_re = re.compile(r"#\s*listed:\s*FAL401(?:\s*\((\w+)\))?")
    page = next((Path(__file__).resolve().parents[1] / "rules" / "auth").glob("FAL401-*.md"))
    case = next(c for c in page_cases(page) if c.section == "Misreadings")
    for name, text in case.files.items():
        f = tmp_path / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    found = [f for f in review(["."], Config(root=tmp_path), select=["FAL401"]).findings if f.entity.startswith("app ")]
    want = {(name, i): m.group(1) or "error" for name, text in case.files.items()
            for i, line in enumerate(text.splitlines(), 1) if (m := listed_re.search(line))}
    got = {(r.path, r.line): r.message[1:r.message.index("]")] for f in found for r in f.related}
    assert got == want, [f.message for f in found]
    assert sorted((f.path, f.severity) for f in found) == [
        ("app/inbound.py", Severity.ERROR), ("app/onboarding.py", Severity.ERROR), ("worker/serve.py", Severity.ERROR)]
    worker = next(f for f in found if f.path == "worker/serve.py")
    assert worker.message.startswith("`app` authenticates none of its 4 routes: 2 of them change state"), worker.message
    assert "`POST /enqueue`, `POST /remember`" in worker.message and "2 more are open at a lower severity" in worker.message


def test_fal401_an_open_app_respects_a_routes_own_noqa_and_a_lone_route_keeps_its_finding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A route's own `# noqa: FAL401` keeps it out of its app's finding; an app left with one open route keeps that
    route's finding (at the route); the option off reports each route."""
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI

            app = FastAPI()
            ITEMS: dict[str, str] = {}


            @app.post("/items")
            def create_item(name: str) -> dict:
                ITEMS[name] = name
                return {}


            @app.delete("/items/{name}")  # noqa: FAL401
            def delete_item(name: str) -> dict:
                del ITEMS[name]
                return {}
        """,
    }
    found = run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, files)
    assert [(f.line, f.entity) for f in found] == [(8, "POST /items app.main.create_item")]
    files["app/main.py"] = files["app/main.py"].replace("  # noqa: FAL401", "")
    found = run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, files)
    assert [(f.line, f.severity) for f in found] == [(4, Severity.ERROR)], [f.message for f in found]
    assert [r.line for r in found[0].related] == [8, 14]
    assert "authenticates none of its 2 routes: 2 of them change state" in found[0].message
    found = run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, files, {"one-finding-per-open-app": False})
    assert [f.line for f in found] == [8, 14]


def test_fal401_a_post_to_a_search_with_no_write_seen_is_not_a_change(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A POST whose last literal segment names a read (``.../{index_id}/search``) and on whose path no write is seen
    is not said to change state, even where the project's writes are not seen (they go through objects the model
    cannot follow): a warning, info in an app that authenticates none of its routes. The twin writes (it stores
    the search in the database) and keeps the error; a POST to another action with no write seen keeps it too."""
    files = {
        "app/__init__.py": "",
        "app/db.py": """
            from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


            class Base(DeclarativeBase):
                pass


            class Search(Base):
                __tablename__ = "searches"
                id: Mapped[int] = mapped_column(primary_key=True)
                text: Mapped[str]


            def get_db():
                yield Session()
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from pydantic import BaseModel
            from sqlalchemy.orm import Session

            from app.db import Search, get_db

            app = FastAPI()


            class Query(BaseModel):
                query: str


            class Index:
                def lookup(self, text: str) -> list[str]:
                    return [text]


            @app.post("/indexes/{index_id}/search")
            def search_index(index_id: str, body: Query) -> list[str]:
                return Index().lookup(body.query)


            @app.post("/indexes/{index_id}/saved/search")
            def search_and_save(index_id: str, body: Query, db: Session = Depends(get_db)) -> list[str]:
                db.add(Search(text=body.query))
                db.commit()
                return []


            @app.post("/indexes/{index_id}/rebuild")
            def rebuild(index_id: str) -> dict:
                return {"index": index_id}
        """,
    }
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, PerRouteFAL401, files)}
    assert {k: f.severity for k, f in found.items()} == {
        "POST /indexes/{index_id}/search": Severity.INFO,
        "POST /indexes/{index_id}/saved/search": Severity.ERROR,
        "POST /indexes/{index_id}/rebuild": Severity.INFO,  # a POST that only computes, the project's writes seen
    }, [f.message for f in found.values()]
    search = found["POST /indexes/{index_id}/search"]
    assert "changes state" not in search.message and "is a POST to `search`" in search.message
    # in an app that authenticates another route, the search is a warning
    files["app/main.py"] = files["app/main.py"].replace("app = FastAPI()", """app = FastAPI()


            def require_key(x_api_key: str = Header()) -> None:
                if x_api_key != "k":
                    raise HTTPException(status_code=401)


            @app.delete("/indexes/{index_id}", dependencies=[Depends(require_key)])
            def drop(index_id: str) -> None:
                return None""").replace("from fastapi import Depends, FastAPI", "from fastapi import Depends, FastAPI, Header, HTTPException")
    found = {f.message.split("`")[1]: f for f in run(tmp_path, monkeypatch, StateChangingRouteWithoutAuth, files)}
    assert {k: f.severity for k, f in found.items()} == {
        "POST /indexes/{index_id}/search": Severity.WARNING,
        "POST /indexes/{index_id}/saved/search": Severity.ERROR,
        "POST /indexes/{index_id}/rebuild": Severity.WARNING,
    }, [f.message for f in found.values()]
