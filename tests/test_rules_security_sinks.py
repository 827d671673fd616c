"""FAL530-FAL535 (issue 18's sinks): the severities and confidences the pages cannot pin down, and the
name heuristics of FAL535. The pages under rules/security/ hold the examples and misreadings."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.rules.security.open_redirect import OpenRedirect
from fastapi_arch_lint.rules.security.predictable_token import PredictableToken, is_secret_name
from fastapi_arch_lint.rules.security.template_injection import TemplateInjection
from fastapi_arch_lint.rules.security.unsafe_deserialization import UnsafeDeserialization
from fastapi_arch_lint.rules.security.xml_external_entities import XmlExternalEntities
from test_rules_security_injection import run


def levels(found: list[Finding]) -> list[tuple[int, Severity, Confidence]]:
    return [(f.line, f.severity, f.confidence) for f in found]


MAIN = """\
from fastapi import FastAPI

from app.routes import router

app = FastAPI()
app.include_router(router)
"""


def test_yaml_loaders_by_certainty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, UnsafeDeserialization, {"app/main.py": MAIN, "app/routes.py": """\
        import yaml
        from yaml import FullLoader, SafeLoader
        from fastapi import APIRouter, Body

        router = APIRouter()


        @router.post("/a")
        def a(text: str = Body()):
            yaml.load(text)
            yaml.load(text, FullLoader)
            yaml.full_load(text)
            yaml.load(text, Loader=SafeLoader)
            yaml.safe_load(text)
            yaml.unsafe_load(text)
            return yaml.load_all(text, Loader=yaml.CUnsafeLoader)
        """})
    warn, error = (Severity.WARNING, Confidence.MEDIUM), (Severity.ERROR, Confidence.HIGH)
    assert levels(found) == [(10, *warn), (11, *warn), (12, *warn), (15, *error), (16, *error)]
    assert "without a `Loader`" in found[0].message


def test_lxml_parsers_by_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, XmlExternalEntities, {"app/main.py": MAIN, "app/routes.py": """\
        from lxml import etree
        from fastapi import APIRouter, Body

        router = APIRouter()
        OPEN = etree.XMLParser(resolve_entities=True, no_network=False)
        CLOSED = etree.XMLParser(resolve_entities=False)


        @router.post("/a")
        def a(text: str = Body(), parser_choice: str = Body()):
            etree.fromstring(text, OPEN)
            etree.fromstring(text, CLOSED)
            etree.fromstring(text, etree.XMLParser(remove_comments=True))
            etree.fromstring(text)
            local = etree.XMLParser(resolve_entities=True)
            etree.XML(text, parser=local)
            for _ in etree.iterparse(text, resolve_entities=False):
                pass
        """})
    warn, error = (Severity.WARNING, Confidence.LOW), (Severity.ERROR, Confidence.HIGH)
    assert levels(found) == [(11, *error), (13, *warn), (14, *warn), (16, *error)]


def test_lxml_default_parser_replaced_by_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, XmlExternalEntities, {"app/main.py": MAIN, "app/routes.py": """\
        from lxml import etree
        from fastapi import APIRouter, Body

        router = APIRouter()


        def configure():
            etree.set_default_parser(etree.XMLParser(resolve_entities=False))


        @router.post("/a")
        def a(text: str = Body()):
            return etree.fromstring(text)
        """})
    assert found == []


def test_open_redirect_slash_check_is_medium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, OpenRedirect, {"app/main.py": MAIN, "app/routes.py": """\
        from fastapi import APIRouter, HTTPException
        from fastapi.responses import RedirectResponse
        from starlette.responses import RedirectResponse as StarletteRedirect

        router = APIRouter()


        class HtmxRedirect(RedirectResponse):
            pass


        @router.get("/a")
        def a(next: str):
            if not next.startswith("/"):
                raise HTTPException(400)
            return RedirectResponse(next)


        @router.get("/b")
        def b(next: str):
            return HtmxRedirect(next)


        @router.get("/c")
        def c(next: str):
            return StarletteRedirect(f"/{next}")


        @router.get("/d")
        def d(next: str):
            return StarletteRedirect(f"https://example.com{next}")
        """})
    assert levels(found) == [(16, Severity.WARNING, Confidence.MEDIUM), (21, Severity.WARNING, Confidence.HIGH),
                             (26, Severity.WARNING, Confidence.HIGH), (31, Severity.WARNING, Confidence.HIGH)]
    assert "`//evil.example`" in found[0].message


def test_template_from_unresolved_environment_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, TemplateInjection, {"app/main.py": MAIN, "app/routes.py": """\
        from fastapi import APIRouter, Body, Request

        router = APIRouter()


        @router.post("/a")
        def a(request: Request, source: str = Body()):
            return request.app.state.jinja.from_string(source).render()


        @router.post("/b")
        def b(request: Request, version: str = Body()):
            # some library's parser, not a template environment
            return str(request.app.state.versions.from_string(version))
        """})
    assert levels(found) == [(8, Severity.WARNING, Confidence.MEDIUM)]


@pytest.mark.parametrize(("name", "secret"), [
    ("reset_token", True), ("user.api_key", True), ("generate_api_key", True), ("sessionId", True),
    ("verification_code", True), ("otp", True), ("password", True), ("new_password", True), ("csrf", True),
    ("invite_link", True), ("pin", True),
    ("token_length", False), ("max_tokens", False), ("tokens", False), ("new_key", False), ("cache_key", False),
    ("code", False), ("product_code", False), ("password_hint", False), ("otp_ttl", False), ("slug", False),
    ("pinned", False), ("token_type", False), ("email_id", False), ("next_token", False), ("page_token", False),
    ("sampled_token", False), ("request_id", False), ("session_key", True), ("email_code", True),
])
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_predictable_token_skips_tests_scripts_and_system_random(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = """\
        import random
        import secrets


        def make_token() -> str:
            return "".join(random.choices("abc", k=32))


        def make_password() -> str:
            return "".join(random.SystemRandom().choice("abc") for _ in range(16))


        def make_secret() -> str:
            return secrets.token_hex(16)


        def sampled_token(vocab: list[str], weights: list[float]) -> str:
            token = random.choices(vocab, weights=weights)[0]
            return token
        """
    found = run(tmp_path, monkeypatch, PredictableToken, {
        "app/tokens.py": body, "tests/test_tokens.py": body, "scripts/seed.py": body})
    assert [(f.path, f.line) for f in found] == [("app/tokens.py", 6)]


def test_dotted_token_cannot_leave_the_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `^[a-z0-9.]+$` holds no `/` or `:`: `evil.example` alone is a relative path on this host
    found = run(tmp_path, monkeypatch, OpenRedirect, {"app/main.py": MAIN, "app/routes.py": """\
        from typing import Annotated

        from fastapi import APIRouter, Query
        from fastapi.responses import RedirectResponse

        router = APIRouter()


        @router.get("/docs")
        def docs(version: Annotated[str, Query(pattern="^[a-z0-9.]+$")], page: str = "index"):
            if page == "latest":
                return RedirectResponse(version)
            return RedirectResponse(page)
        """})
    assert [f.line for f in found] == [13]


@pytest.mark.parametrize(("pattern", "confines"), [
    ("^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,4})?(-x-[a-zA-Z0-9]{1,8})?$", True), ("^(?:draft|final-v2)$", True),
    ("^(\\w+|x)$", True), ("^\\w+|x$", False), ("^(a|.*)$", False), ("^(a|b)/$", False), ("^(a$", False),
    ("^a)$", False),
])
def test_patterns_with_groups(pattern: str, confines: bool) -> None:
    from fastapi_arch_lint.analysis.taint import pattern_confines
    assert pattern_confines(pattern) is confines


def test_or_and_conditional_expressions_carry_taint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, OpenRedirect, {"app/main.py": MAIN, "app/routes.py": """\
        from fastapi import APIRouter
        from fastapi.responses import RedirectResponse

        router = APIRouter()
        HOME = "/"


        def is_local(url: str) -> bool:
            return url.startswith("/") and not url.startswith("//")


        @router.get("/a")
        def a(next: str | None = None, back: bool = False):
            if back:
                return RedirectResponse(HOME and next)
            if next == "":
                return RedirectResponse(next if next else HOME)
            return RedirectResponse(next if is_local(next) else HOME)
        """})
    assert [f.line for f in found] == [15, 17]


def test_fal535_a_value_named_only_a_nonce_is_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A nonce may only have to be unique (OAuth 1.0a): info that says what to check; a CSRF nonce stays a warning."""
    from ruledocs import page_cases

    page = next((Path(__file__).resolve().parents[1] / "rules" / "security").glob("FAL535-*.md"))
    files = next(c for c in page_cases(page) if c.section == "Misreadings").files
    found = [f for f in run(tmp_path, monkeypatch, PredictableToken, files) if f.path == "app/services/signing.py"]
    assert [(f.line, f.severity.value) for f in found] == [(6, "info"), (12, "warning")]
    assert "only has to be unique" in found[0].message and "the secret can be guessed" in found[1].message


def test_a_session_id_that_only_labels_records_is_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A random ``session_id`` read only into a tag string groups records: quiet. Kept by key in a store of
    sessions, compared, or returned, it is the session: it fires."""
    body = """\
        import random

        SESSIONS: dict = {}


        def tag_runs(runs: list) -> list:
            session_id = random.randint(0, 10**12)
            tag = f"batch_{session_id}"
            return [(run, tag) for run in runs]


        def open_session(user: str) -> None:
            session_id = random.randint(0, 10**12)
            SESSIONS[session_id] = user


        def check_session(sent: int) -> bool:
            session_id = random.randint(0, 10**12)
            return sent == session_id


        def new_session() -> dict:
            session_id = random.randint(0, 10**12)
            return {"id": session_id}
        """
    found = run(tmp_path, monkeypatch, PredictableToken, {"app/sessions.py": body})
    assert [f.line for f in found] == [13, 18, 23]
