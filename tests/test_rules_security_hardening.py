"""FAL501-FAL519 (JWT, secrets and hardening): fixtures, helpers and edge cases beyond the pages."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fastapi_arch_lint.analysis.calls import is_test_path, iter_calls
from fastapi_arch_lint.analysis.libraries import http_client_kind, jwt_decode_library, jwt_encode_library
from fastapi_arch_lint.analysis.names import dsn_password, is_compared_secret, is_secret_name
from fastapi_arch_lint.config import Config
from fastapi_arch_lint.engine import analyze, review
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import UNKNOWN
from fastapi_arch_lint.model.expr import Attr, Name
from fastapi_arch_lint.rule import load_rules
from fastapi_arch_lint.rules.security.cors_wildcard_with_credentials import CorsWildcardWithCredentials, wildcard
from fastapi_arch_lint.rules.security.debug_enabled import DebugEnabled
from fastapi_arch_lint.rules.security.hardcoded_secret import HardcodedSecret
from fastapi_arch_lint.rules.security.jwt_decode_without_algorithms import JwtDecodeWithoutAlgorithms
from fastapi_arch_lint.rules.security.jwt_decode_without_verification import JwtDecodeWithoutVerification
from fastapi_arch_lint.rules.security.jwt_without_expiry import JwtWithoutExpiry
from fastapi_arch_lint.rules.security.non_constant_time_secret_compare import NonConstantTimeSecretCompare
from fastapi_arch_lint.rules.security.outbound_request_without_timeout import OutboundRequestWithoutTimeout
from fastapi_arch_lint.rules.security.tls_verification_disabled import TlsVerificationDisabled
from fastapi_arch_lint.rules.security.weak_password_hash import WeakPasswordHash

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINE = sorted(code for code in load_rules() if 501 <= int(code[3:]) <= 519)


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: type, files: dict[str, str]) -> list[Finding]:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    return sorted(rule().check(model), key=lambda f: (f.path, f.line))


def lines(findings: list[Finding]) -> list[tuple[str, int]]:
    return [(f.path, f.line) for f in findings]


def review_fixture(name: str, monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, int, str]]:
    root = FIXTURES / name
    monkeypatch.chdir(root)
    result = review(["."], Config(root=root), select=MINE)
    assert not result.diagnostics, result.diagnostics
    return {(f.path, f.line, f.rule) for f in result.findings}


# ---------------------------------------------------------------------------
# metadata


def test_my_codes_are_registered_with_security_tags() -> None:
    assert MINE[:10] == [f"FAL5{n:02d}" for n in range(1, 11)]
    for code in MINE:
        cls = load_rules()[code]
        assert cls.category() == "security"
        assert cls.cwe and all(c.startswith("CWE-") for c in cls.cwe), code
        assert cls.owasp and all(o.endswith(":2023") and o.startswith("API") for o in cls.owasp), code
        assert isinstance(cls.security_severity, float) and 0.1 <= cls.security_severity <= 10.0, code


def test_severities_follow_the_brief() -> None:
    rules = load_rules()
    want = {"FAL501": Severity.ERROR, "FAL502": Severity.ERROR, "FAL503": Severity.INFO, "FAL504": Severity.ERROR,
            "FAL505": Severity.ERROR, "FAL506": Severity.WARNING, "FAL507": Severity.ERROR,
            "FAL508": Severity.WARNING, "FAL509": Severity.ERROR, "FAL510": Severity.WARNING}
    assert {c: rules[c].severity for c in want} == want


# ---------------------------------------------------------------------------
# fixtures: every finding checked by hand


def test_tutorial_jwt_app_draws_only_the_hardcoded_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """FastAPI's OAuth2 + JWT tutorial: pwdlib hashing, exp claim and pinned algorithms are right."""
    got = review_fixture("tutorial_jwt_app", monkeypatch)
    text = (FIXTURES / "tutorial_jwt_app" / "app" / "main.py").read_text(encoding="utf-8").splitlines()
    line = next(i for i, t in enumerate(text, start=1) if t.startswith("SECRET_KEY = "))
    assert got == {("app/main.py", line, "FAL504")}


def test_tutorial_secret_is_not_in_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    root = FIXTURES / "tutorial_jwt_app"
    monkeypatch.chdir(root)
    [f] = review(["."], Config(root=root), select=["FAL504"]).findings
    assert "09d25e09" not in f.message and "09d2" not in f.message and "09d2" not in f.help
    assert "64-character" in f.message and "`SECRET_KEY`" in f.message
    assert f.entity == "app.main.SECRET_KEY"


def test_hardcoded_secret_severity_follows_certainty(monkeypatch: pytest.MonkeyPatch) -> None:
    """A random-looking key is an error; a typed development default ("change-me-in-production") a
    warning with medium confidence, which the message calls a development default."""
    root = FIXTURES / "tutorial_jwt_app"
    monkeypatch.chdir(root)
    [f] = review(["."], Config(root=root), select=["FAL504"]).findings
    assert (f.severity, f.confidence) == (Severity.ERROR, Confidence.HIGH) and "looks like a real key" in f.message
    root = FIXTURES / "bigger_app"
    monkeypatch.chdir(root)
    found = review(["."], Config(root=root), select=["FAL504"]).findings
    assert found and all((f.severity, f.confidence) == (Severity.WARNING, Confidence.MEDIUM) for f in found)
    assert all("development default" in f.message for f in found)


@pytest.mark.parametrize("value", ["******", "***", "<your-api-key>", "xxxxxxxx", "sk-****", "AIza...", "dummy"])
def test_hardcoded_secret_masks_are_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "main.py").write_text(
        f'from fastapi import FastAPI\n\napp = FastAPI()\nDB_PASSWORD = "{value}"\n')
    monkeypatch.chdir(tmp_path)
    assert review(["."], Config(root=tmp_path), select=["FAL504"]).findings == []


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        # placeholder defaults are shipped secrets; ``x_token != settings.admin_token`` is the timing leak
        ("bigger_app", {("app/config.py", 11, "FAL504"), ("app/config.py", 14, "FAL504"),
                        ("app/dependencies.py", 23, "FAL506")}),
        # SECRET_KEY default; ``_hash`` stores passwords as plain sha256; CORS origins come from a
        # default_factory (unknown), so FAL507 stays quiet
        ("factory_app", {("app/core/config.py", 13, "FAL504"), ("app/services.py", 14, "FAL505")}),
        # the webhook secret default; blake2b of an API key and the HMAC with compare_digest are fine
        ("src_layout", {("src/shopapi/config.py", 13, "FAL504")}),
        # the jwt_secret default; sha256 of "{secret}:{password}" is a fast, peppered digest
        ("annotated_app", {("app/config.py", 9, "FAL504"), ("app/security.py", 24, "FAL505")}),
        ("good_app", set()),
        ("auth_gap_app", set()),
    ],
)
def test_fixture_findings(fixture: str, expected: set[tuple[str, int, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    if not (FIXTURES / fixture).is_dir():
        pytest.skip(f"{fixture} not present")
    assert review_fixture(fixture, monkeypatch) == expected


# ---------------------------------------------------------------------------
# helpers


@pytest.mark.parametrize("name", [
    "SECRET_KEY", "secret_key", "JWT_SECRET", "jwt_secret", "DB_PASSWORD", "password", "ADMIN_TOKEN", "API_KEY",
    "apiKey", "X-API-Key", "private_key", "SIGNING_KEY", "client_secret", "webhook_secret", "SECRET_KEY_V2",
    "passphrase", "refresh_token",
])
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", [
    "TOKEN_URL", "tokenUrl", "API_KEY_HEADER", "api_key_name", "token_type", "PASSWORD_MIN_LENGTH",
    "ACCESS_TOKEN_EXPIRE_MINUTES", "hashed_password", "password_hash", "SECRET_KEY_ENV", "primary_key",
    "sort_key", "cache_key", "jwt_algorithm", "public_key", "monkey", "tokenizer", "keyword", "SESSION_KEY",
])
def test_not_secret_names(name: str) -> None:
    assert not is_secret_name(name)


def test_compared_secret_names() -> None:
    for name in ("x_token", "api_key", "signature", "expected_digest", "password_hash", "X-API-Key", "otp"):
        assert is_compared_secret(name), name
    for name in ("token_type", "token_expires", "user_id", "username", "mac_address", "keys"):
        assert not is_compared_secret(name), name


def test_dsn_password() -> None:
    assert dsn_password("postgresql://app:s3cret@db:5432/app") == "postgresql"
    assert dsn_password("mysql+pymysql://root:pw@localhost/db") == "mysql+pymysql"
    assert dsn_password("redis://:hunter2@cache:6379/0") == "redis"
    for url in ("sqlite:///./app.db", "postgresql://app@db/app", "postgresql://app:${DB_PASSWORD}@db/app",
                "postgresql://{user}:{password}@db/app", "https://example.com/a:b@c",
                "postgresql://app:%s@db/app", "postgresql://app:***@db/app"):
        assert dsn_password(url) is None, url


def test_test_paths() -> None:
    for p in ("tests/test_auth.py", "tests/conftest.py", "app/tests/helpers.py", "test_main.py", "app/x_test.py",
              "src/pkg/test/util.py"):
        assert is_test_path(p), p
    for p in ("app/main.py", "app/testing_tools.py", "app/contest.py"):
        assert not is_test_path(p), p


def test_library_targets() -> None:
    for t in ("jwt.decode", "jwt.api_jwt.decode", "jwt.decode_complete", "jwt.PyJWT().decode", "jwt.PyJWS.decode"):
        assert jwt_decode_library(t) == "PyJWT", t
    assert jwt_decode_library("jose.jwt.decode") == "python-jose"
    assert jwt_decode_library("jwt.get_unverified_header") is None
    assert jwt_decode_library("authlib.jose.jwt.decode") is None
    assert jwt_encode_library("jwt.encode") == "PyJWT" and jwt_encode_library("jose.jwt.encode") == "python-jose"
    assert http_client_kind("requests.get") == "requests"
    assert http_client_kind("requests.Session().post") == "requests"
    assert http_client_kind("httpx.AsyncClient().get") == "httpx"
    assert http_client_kind("httpx.AsyncClient.get") == "httpx"
    assert http_client_kind("aiohttp.TCPConnector") == "aiohttp"
    assert http_client_kind("urllib.request.urlopen") == "urllib"
    assert http_client_kind("requests.exceptions.HTTPError") is None
    assert http_client_kind("sqlalchemy.orm.Session.get") is None


def test_cors_wildcard_detection() -> None:
    assert wildcard(("*",), None)
    assert wildcard("*", None)
    assert wildcard(None, ".*") and wildcard(None, r"https?://.*")
    assert wildcard(None, r"https://.*\.example\.com") is None
    assert wildcard(("https://app.example.com",), None) is None
    assert wildcard(None, "([") is None  # not a valid regex: nothing to say


def test_values_follow_imports_settings_and_locals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/config.py": """\
            from pydantic import Field
            from pydantic_settings import BaseSettings

            ALGORITHMS = ["HS256"]

            class Base(BaseSettings):
                DEBUG: bool = True

            class Settings(Base):
                origins: list[str] = Field(default=["*"])
                secret: str = Field(...)

            settings = Settings()
        """,
        "app/main.py": """\
            from functools import lru_cache
            from .config import ALGORITHMS, Settings, settings

            @lru_cache
            def get_settings() -> Settings:
                return Settings()

            def f():
                opts = dict(verify_signature=False)
                return opts
        """,
    }
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    r = model.values
    assert r.value(Name("ALGORITHMS"), "app.main") == ("HS256",)
    assert r.value(Attr(Name("settings"), "DEBUG"), "app.main") is True  # inherited default
    assert r.value(Attr(Name("settings"), "origins"), "app.main") == ("*",)
    assert r.value(Attr(Name("settings"), "secret"), "app.main") is UNKNOWN
    fn = model.functions["app.main.f"]
    assert r.value(Name("opts"), "app.main", fn) == {"verify_signature": False}


def test_values_take_the_binding_closest_before_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a function, assignments and imports count only before the line asked about (the latest
    wins); classes and functions count wherever they are. A module name is its last binding; at
    the same line an import beats an assignment."""
    (tmp_path / "m.py").write_text(textwrap.dedent("""\
        MODE = "first"

        def f():
            level = "low"
            use(level)
            level = "high"
            return level

        def g():
            x = "early"
            use(x)
            class x:
                pass

        MODE = "second"
        from os import sep as SEP; SEP = "assigned"
    """), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    r = model.values
    f, g = model.functions["m.f"], model.functions["m.g"]
    assert r.value(Name("MODE"), "m") == "second"
    assert r.value(Name("MODE"), "m", None, 3) == "second"
    assert r.value(Name("level"), "m", f, 5) == "low"
    assert r.value(Name("level"), "m", f, 7) == "high"
    assert r.value(Name("level"), "m", f, 3) is UNKNOWN  # nothing bound yet
    assert r.value(Name("x"), "m", g, 11) is UNKNOWN  # the class below (not a constant), not the string above
    assert r.instance_of(Name("x"), "m", g, 11) is None
    assert r.value(Name("SEP"), "m") is UNKNOWN  # the imported name, not the string assigned on the same line
    assert r.target(Name("SEP"), "m") == "os.sep"


def test_module_level_calls_are_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.py").write_text(
        "import ssl\nfrom passlib.context import CryptContext\n"
        "ctx = CryptContext(schemes=['bcrypt'])\nssl._create_unverified_context()\n"
        "class C:\n    x = CryptContext(schemes=['argon2'])\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    got = sorted((c.line, c.target) for c in iter_calls(model) if c.function is None)
    assert got == [(3, "passlib.context.CryptContext"), (4, "ssl._create_unverified_context"),
                   (6, "passlib.context.CryptContext")]


# ---------------------------------------------------------------------------
# JWT


def test_jwt_decode_variants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = """\
        import jwt
        from jwt import PyJWT
        from jose import jwt as jose_jwt

        NO_CHECK = {"verify_signature": False}
        KEY = object()

        def a(t):
            return jwt.decode(t, KEY, algorithms=["HS256"], options=NO_CHECK)

        def b(t):
            return PyJWT().decode(t, KEY, ["HS256"], dict(verify_signature=False))

        def c(t):
            return jose_jwt.decode(t, KEY, algorithms=["none"])

        def d(t, **kw):
            return jwt.decode(t, KEY, **kw)

        def e(t):
            return jwt.decode(t, KEY, algorithms=None)

        def f(t):
            return jwt.decode(t, KEY, ["RS256"], {"verify_aud": False})
    """
    files = {"app.py": src}
    assert lines(run(tmp_path, monkeypatch, JwtDecodeWithoutVerification, files)) == [
        ("app.py", 9), ("app.py", 12), ("app.py", 15)]
    # ``**kw`` may carry the algorithms; an explicit ``algorithms=None`` does not
    assert lines(run(tmp_path, monkeypatch, JwtDecodeWithoutAlgorithms, files)) == [("app.py", 21)]


def test_jwt_decode_in_tests_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"tests/test_tokens.py": """\
        import jwt

        def test_claims(token):
            assert jwt.decode(token, options={"verify_signature": False})["sub"] == "1"
    """}
    assert run(tmp_path, monkeypatch, JwtDecodeWithoutVerification, files) == []


def test_jwt_expiry_local_payload_tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = """\
        import jwt

        def add_expiry(claims):
            claims["exp"] = 1

        def via_helper(uid):
            claims = {"sub": uid}
            add_expiry(claims)
            return jwt.encode(claims, "k", algorithm="HS256")

        def via_update_kwarg(uid, exp):
            claims = {"sub": uid}
            claims.update(exp=exp)
            return jwt.encode(claims, "k", algorithm="HS256")

        def via_setdefault(uid, exp):
            claims = dict(sub=uid)
            claims.setdefault("exp", exp)
            return jwt.encode(claims, "k", algorithm="HS256")

        def via_spread(uid, extra):
            return jwt.encode({"sub": uid, **extra}, "k", algorithm="HS256")

        def from_param(data):
            return jwt.encode(data, "k", algorithm="HS256")

        def missing(uid):
            claims = dict(sub=uid)
            claims.update({"scope": "api"})
            return jwt.encode(payload=claims, key="k", algorithm="HS256")

        def reassigned(uid, other):
            claims = {"sub": uid}
            if other:
                claims = other
            return jwt.encode(claims, "k", algorithm="HS256")
    """
    got = run(tmp_path, monkeypatch, JwtWithoutExpiry, {"app.py": src})
    assert lines(got) == [("app.py", 30)]
    assert got[0].severity is Severity.INFO and "`claims`" in got[0].message


# ---------------------------------------------------------------------------
# secrets


def test_hardcoded_secret_positions_and_exclusions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = """\
        import os
        from enum import Enum

        import jwt
        from pydantic import BaseModel, Field, SecretStr

        SECRET_KEY = os.environ["SECRET_KEY"]
        JWT_SECRET = os.getenv("JWT_SECRET", "dev")
        API_KEY = "API_KEY"
        DB_PASSWORD = "${DB_PASSWORD}"
        EMPTY_TOKEN = ""
        CSRF_TOKEN = "csrftoken"; GOOGLE_APPLICATION_CREDENTIALS = "keys/service-account.json"
        DSN = "postgresql://app:pw@db/app"
        PUBLIC_DSN = "postgresql://app@db/app"

        class TokenKind(str, Enum):
            ACCESS_TOKEN = "access_token"

        class Settings(BaseModel):
            secret_key: SecretStr = SecretStr("abcdefgh")
            admin_password: str = Field("changeme", min_length=8)
            api_token: str = Field(default_factory=lambda: "x")
            other_token: str = Field(...)
            token_type: str = "bearer"

        def sign(payload, password="letmein"):
            return jwt.encode(payload, "my-signing-key", algorithm="HS256")
    """
    got = run(tmp_path, monkeypatch, HardcodedSecret, {"app/config.py": src})
    assert lines(got) == [
        ("app/config.py", 8), ("app/config.py", 13), ("app/config.py", 20), ("app/config.py", 21),
        ("app/config.py", 26), ("app/config.py", 27),
    ]
    by_line = {f.line: f for f in got}
    assert by_line[8].confidence is Confidence.MEDIUM and "os.getenv()" in by_line[8].message
    assert "placeholder" in by_line[21].message
    for f in got:
        for secret in ("letmein", "my-signing-key", "changeme", "abcdefgh", ":pw@"):
            assert secret not in f.message, f.message


def test_hardcoded_secret_skips_test_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"tests/conftest.py": 'SECRET_KEY = "test-secret"\n', "app/test_settings.py": 'PASSWORD = "pw"\n'}
    assert run(tmp_path, monkeypatch, HardcodedSecret, files) == []


def test_weak_hash_prehash_and_breach_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = """\
        import hashlib

        import bcrypt

        def hash_password(password: str) -> bytes:
            return bcrypt.hashpw(hashlib.sha256(password.encode()).digest(), bcrypt.gensalt())

        def pwned_prefix(password: str) -> str:
            return hashlib.sha1(password.encode()).hexdigest()[:5]

        def legacy(raw_password: str) -> str:
            return hashlib.new("md5", raw_password.encode()).hexdigest()

        def store(pwd: str) -> str:
            return hashlib.sha512(pwd.encode()).hexdigest()
    """
    assert lines(run(tmp_path, monkeypatch, WeakPasswordHash, {"app.py": src})) == [("app.py", 12), ("app.py", 15)]


def test_compare_skips_sql_and_literals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = """\
        from sqlalchemy import select

        def check(db, token, api_key, headers, User, settings):
            db.execute(select(User).where(User.api_key == api_key))
            db.query(User).filter(token == User.token)
            if token == "" or token != None or len(api_key) == 40:
                return False
            if headers["X-API-Key"] == settings.api_key:
                return True
            return token in settings.tokens
    """
    assert lines(run(tmp_path, monkeypatch, NonConstantTimeSecretCompare, {"app.py": src})) == [("app.py", 8)]


# ---------------------------------------------------------------------------
# hardening


def test_cors_via_middleware_list_and_wrapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = """\
        from fastapi import FastAPI
        from starlette.middleware import Middleware
        from starlette.middleware.cors import CORSMiddleware

        ORIGINS = ["*"]

        app = FastAPI(middleware=[Middleware(CORSMiddleware, allow_origins=ORIGINS, allow_credentials=True)])
        inner = FastAPI()
        wrapped = CORSMiddleware(inner, allow_origin_regex=".*", allow_credentials=True)
        public = FastAPI(middleware=[Middleware(CORSMiddleware, allow_origins=["*"])])
    """
    got = run(tmp_path, monkeypatch, CorsWildcardWithCredentials, {"app.py": src})
    assert lines(got) == [("app.py", 7), ("app.py", 9)]


@pytest.mark.parametrize(("login", "severity"), [
    ("response.set_cookie('session', token)", Severity.ERROR),
    ("return None", Severity.WARNING),
])
def test_cors_wildcard_is_an_error_where_browsers_attach_a_credential(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, login: str, severity: Severity) -> None:
    """A wildcard with credentials is exploitable where the browser attaches a cookie (or HTTP Basic) by
    itself; with only a header token, it is a warning until a cookie is added."""
    src = f"""\
        from fastapi import FastAPI, Response
        from fastapi.middleware.cors import CORSMiddleware

        app = FastAPI()
        app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)

        @app.post("/login")
        def login(response: Response, token: str) -> None:
            {login}
    """
    got = run(tmp_path, monkeypatch, CorsWildcardWithCredentials, {"app.py": src})
    assert [f.severity for f in got] == [severity]


def test_debug_variants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = """\
        import os

        from fastapi import FastAPI

        class MyApp(FastAPI):
            pass

        DEBUG = os.getenv("DEBUG") == "1"
        a = FastAPI(debug=DEBUG)
        b = MyApp(debug=True)
        c = FastAPI()
        c.debug = True
        d = FastAPI(debug=False)
    """
    got = run(tmp_path, monkeypatch, DebugEnabled, {"app.py": src})
    assert lines(got) == [("app.py", 10), ("app.py", 12)]


def test_tls_and_timeouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = """\
        import aiohttp
        import httpx
        import requests

        VERIFY = False

        def calls(url, **kw):
            requests.get(url, verify=VERIFY, timeout=5)
            requests.get(url, timeout=None)
            requests.get(url, **kw)
            httpx.get(url)
            httpx.post(url, timeout=None)
            aiohttp.TCPConnector(ssl=False)
            requests.head(url, verify=True, timeout=2)
    """
    files = {"app/clients.py": src}
    assert lines(run(tmp_path, monkeypatch, TlsVerificationDisabled, files)) == [
        ("app/clients.py", 8), ("app/clients.py", 13)]
    assert lines(run(tmp_path, monkeypatch, OutboundRequestWithoutTimeout, files)) == [
        ("app/clients.py", 9), ("app/clients.py", 12)]


def test_fal510_timeout_none_written_on_a_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A literal ``timeout=None`` on one call is a decision (info); on a stream, the design (quiet); on a
    client, or reaching the call through a name bound to None, it stays a warning (a parameter is not followed)."""
    src = """\
        import httpx
        import requests

        NO_LIMIT = None

        async def calls(url, timeout=None):
            async with httpx.AsyncClient() as client:
                await client.post(url, timeout=None)
                async with client.stream("GET", url, timeout=None) as r:
                    pass
                await client.send(client.build_request("GET", url), stream=True, timeout=None)
                await client.get(url, timeout=timeout)
                requests.get(url, timeout=NO_LIMIT)
            return httpx.AsyncClient(timeout=None)
    """
    got = run(tmp_path, monkeypatch, OutboundRequestWithoutTimeout, {"app/clients.py": src})
    assert [(f.line, f.severity) for f in got] == [
        (8, Severity.INFO), (13, Severity.WARNING), (14, Severity.WARNING)]


def test_fal506_warning_only_where_a_request_runs_the_comparison(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/checks.py": """
            class Gate:
                def __init__(self, api_key: str) -> None:
                    self.api_key = api_key

                def __call__(self, x_api_key: str) -> None:
                    if x_api_key != self.api_key:
                        raise ValueError("bad key")


            def same_secret(client_secret: str, stored_secret: str) -> bool:
                return client_secret == stored_secret


            def settle(client_secret: str, stored_secret: str) -> bool:
                return client_secret == stored_secret
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI

            from app.checks import Gate, same_secret

            app = FastAPI()
            gate = Gate("k")


            @app.get("/items", dependencies=[Depends(gate)])
            def items(secret: str) -> bool:
                return same_secret(secret, "x")
        """,
    }
    found = {f.line: f for f in run(tmp_path, monkeypatch, NonConstantTimeSecretCompare, files)}
    assert found[7].severity == Severity.WARNING  # the dependency instance's ``__call__``
    assert found[12].severity == Severity.WARNING  # called by the handler
    assert found[16].severity == Severity.INFO  # nothing a request runs calls it
    assert "no client can time it" in found[16].message


def test_hardcoded_secret_follows_settings_fields_to_their_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A settings field's development default is a warning when a read of it signs (through project
    functions that pass it on), info when it is an outbound credential or the settings refuse it."""
    files = {
        "app/__init__.py": "",
        "app/config.py": """
            from functools import lru_cache

            from pydantic_settings import BaseSettings


            class Settings(BaseSettings):
                env: str = "dev"
                APP_KEY: str = "dev app key"
                CACHE_PASSWORD: str = "cache-dev"
                VENDOR_TOKEN: str = "vendor-dev"
                SIGNING_KEY: str = "dev cookie"

                def check(self) -> None:
                    if self.env == "prod" and self.SIGNING_KEY == "dev cookie":
                        raise RuntimeError("SIGNING_KEY")


            @lru_cache
            def get_settings() -> Settings:
                return Settings()
        """,
        "app/crypto.py": """
            import hashlib
            import hmac

            from app.config import get_settings


            def digest(value: str, key: str) -> str:
                return hmac.new(key.encode("utf-8"), value.encode(), hashlib.sha256).hexdigest()


            def token_digest(token: str, *, secret: str) -> str:
                return digest(token, secret)


            def fingerprint(token: str) -> str:
                return token_digest(token, secret=get_settings().APP_KEY)


            def cookie_mac(value: str) -> str:
                return digest(value, get_settings().SIGNING_KEY)
        """,
    }
    found = {f.entity.rsplit(".", 1)[-1]: f for f in run(tmp_path, monkeypatch, HardcodedSecret, files)}
    assert found["APP_KEY"].severity == Severity.WARNING
    assert "`hmac.new(...)` in `digest`" in found["APP_KEY"].message
    assert found["CACHE_PASSWORD"].severity == Severity.INFO and "outbound" in found["CACHE_PASSWORD"].message
    assert found["VENDOR_TOKEN"].severity == Severity.INFO
    assert found["SIGNING_KEY"].severity == Severity.INFO and "`Settings.check`" in found["SIGNING_KEY"].message


def test_jwt_decode_without_algorithms_python_jose_key_shapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """python-jose builds the key for the header's alg and refuses a key of another type: a JWK from a
    key set and a shared secret are info; a public key, or a module constant in a function that also
    reads a key set, stays an error."""
    files = {
        "app/__init__.py": "",
        "app/auth.py": """
            import httpx
            from jose import jwt

            ISSUER_PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----"
            APP_SECRET = "x"


            def from_key_set(token: str, url: str) -> dict:
                keys = httpx.get(url, timeout=5).json()["keys"]
                for jwk in keys:
                    chosen = jwk
                return jwt.decode(token, chosen)


            def with_secret(token: str) -> dict:
                return jwt.decode(token, APP_SECRET)


            def with_public_key(token: str, url: str) -> dict:
                keys = httpx.get(url, timeout=5).json()["keys"]
                return jwt.decode(token, ISSUER_PUBLIC_KEY) if keys else {}
        """,
    }
    found = {f.line: f.severity for f in run(tmp_path, monkeypatch, JwtDecodeWithoutAlgorithms, files)}
    assert found == {13: Severity.INFO, 17: Severity.INFO, 22: Severity.ERROR}


def test_hardcoded_secret_object_store_secret_key_is_outbound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Minio(secret_key=settings.STORE_PASSWORD)`` presents a password to a store: it signs nothing."""
    files = {
        "app/__init__.py": "",
        "app/config.py": """
            from minio import Minio
            from pydantic_settings import BaseSettings


            class Settings(BaseSettings):
                STORE_PASSWORD: str = "store-dev"


            settings = Settings()
            client = Minio("localhost:9000", secret_key=settings.STORE_PASSWORD)
        """,
    }
    [f] = run(tmp_path, monkeypatch, HardcodedSecret, files)
    assert f.severity == Severity.INFO and "outbound" in f.message


def test_fal501_unverified_claims_read_only_for_metadata_are_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only ``exp``/``iat``/``nbf``/``iss`` read, nothing handed on: info; ``sub`` read, or the claims
    returned whole or passed on, stays an error."""
    files = {"app/tokens.py": """
        import time

        import jwt


        def age(token: str) -> int:
            claims = jwt.decode(token, options={"verify_signature": False})
            return int(time.time() - claims["exp"])


        def subject(token: str) -> str:
            claims = jwt.decode(token, options={"verify_signature": False})
            if claims.get("exp", 0) < time.time():
                raise ValueError("expired")
            return claims.get("sub")


        def whole(token: str) -> dict:
            claims = jwt.decode(token, options={"verify_signature": False})
            print(claims.get("iss"))
            return claims


        def handed_on(token: str) -> None:
            claims = jwt.decode(token, options={"verify_signature": False})
            audit(claims)


        def audit(claims: dict) -> None: ...
    """}
    got = {(f.line, f.severity) for f in run(tmp_path, monkeypatch, JwtDecodeWithoutVerification, files)}
    assert got == {(8, Severity.INFO), (13, Severity.ERROR), (20, Severity.ERROR), (26, Severity.ERROR)}, got


def test_fal504_a_dunder_marker_for_not_configured_yet_is_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``PENDING_BOT_TOKEN = "__pending_bot_token__"`` stored as the value of a channel not set up yet and
    refused when seen: a public marker; the same constant holding a key still fires."""
    code = """
        from fastapi import FastAPI, HTTPException, Request

        PENDING_BOT_TOKEN = "{value}"
        STORE = {{"t1": {{"bot_token": PENDING_BOT_TOKEN}}}}
        app = FastAPI()


        def redact(cfg: dict) -> str:
            return PENDING_BOT_TOKEN if cfg["bot_token"] == PENDING_BOT_TOKEN else "****"


        async def validate_channel_token(token: str, request: Request) -> dict:
            cfg = STORE.get(token)
            if cfg is None:
                raise HTTPException(401)
            if cfg["bot_token"] == PENDING_BOT_TOKEN:
                raise HTTPException(401)
            return cfg
    """
    marker = run(tmp_path / "a", monkeypatch, HardcodedSecret,
                 {"app/__init__.py": "", "app/main.py": code.format(value="__app_pending_bot_token__")})
    key = run(tmp_path / "b", monkeypatch, HardcodedSecret,
              {"app/__init__.py": "", "app/main.py": code.format(value="xoxb-5k2j9f8e7d6c5b4a3z2y1x0w")})
    assert marker == [] and [f.line for f in key] == [4], (marker, key)


def test_a_label_constant_named_like_a_secret_is_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``AUTH_METHOD_API_KEY = "api_key"`` (how a caller authenticated) and ``REASON_MISSING_SECRET =
    "missing_secret"`` (a rejection's reason code): lower-case words of the constant's own name under a
    qualifier are labels. Compared with what a request says, they leak nothing (FAL506); a weak default
    such as ``SECRET_KEY = "secret-key-for-jwt"`` still fires (FAL504)."""
    files = {"app/__init__.py": "", "app/main.py": """
        from fastapi import FastAPI, Header, HTTPException

        AUTH_METHOD_API_KEY = "api_key"
        REASON_MISSING_SECRET = "missing_secret"
        JWT_SECRET_KEY = "key-for-jwt-signing-secret"
        app = FastAPI()


        def reason(have: str | None) -> str:
            return REASON_MISSING_SECRET if not have else "ok"


        @app.get("/subjects")
        def subjects(x_auth_method: str = Header()) -> dict:
            if x_auth_method == AUTH_METHOD_API_KEY:
                raise HTTPException(403)
            return {"reason": reason(x_auth_method), "key": JWT_SECRET_KEY[:0]}
    """}
    secrets_ = run(tmp_path / "a", monkeypatch, HardcodedSecret, files)
    timing = run(tmp_path / "b", monkeypatch, NonConstantTimeSecretCompare, files)
    assert [f.entity for f in secrets_] == ["app.main.JWT_SECRET_KEY"], secrets_
    assert timing == [], timing


def test_compare_whose_outcome_only_logs_is_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A comparison a request runs whose ``if`` only writes a log line refuses and grants nothing: info. The
    same comparison that rejects, that returns, or that also changes state stays a warning."""
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            import logging

            from fastapi import FastAPI, HTTPException

            app = FastAPI()
            logger = logging.getLogger(__name__)
            stored = {"key": "k"}


            @app.post("/projects/register")
            def register(ssh_private_key: str) -> dict:
                if stored["key"] != ssh_private_key:
                    logger.warning("the key of project %s changed", str(len(stored)))
                stored["key"] = ssh_private_key
                return {}


            @app.post("/projects/check")
            def check(ssh_private_key: str) -> dict:
                if stored["key"] != ssh_private_key:
                    logger.warning("wrong key")
                    raise HTTPException(status_code=403)
                return {}


            @app.post("/projects/early")
            def early(ssh_private_key: str) -> dict:
                if stored["key"] != ssh_private_key:
                    logger.warning("wrong key")
                    return {"ok": False}
                return {"ok": True}


            @app.post("/projects/flag")
            def flag(ssh_private_key: str) -> dict:
                changed = False
                if stored["key"] != ssh_private_key:
                    logger.warning("the key changed")
                    changed = True
                return {"changed": changed}
        """,
    }
    found = {f.line: f for f in run(tmp_path, monkeypatch, NonConstantTimeSecretCompare, files)}
    assert {line: f.severity for line, f in found.items()} == {
        13: Severity.INFO, 21: Severity.WARNING, 29: Severity.WARNING, 38: Severity.WARNING}, found
    assert "only decides a log line" in found[13].message


def _page_case(code: str, section: str):  # type: ignore[no-untyped-def]
    from ruledocs import page_cases

    page = next((Path(__file__).resolve().parents[1] / "rules" / "security").glob(f"{code}-*.md"))
    return next(c for c in page_cases(page) if c.section == section)


def test_fal506_token_compared_after_its_signature_was_verified_is_info(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every caller decodes the token with the server's key before the comparison: a rotation check, info;
    the same comparison without the signature check stays a warning."""
    text = _page_case("FAL506", "Misreadings").files["app/api/refresh.py"]
    files = {"app/__init__.py": "", "app/api/__init__.py": "", "app/api/refresh.py": text,
             "app/main.py": "from fastapi import FastAPI\n\nfrom app.api import refresh\n\n"
                            "app = FastAPI()\napp.include_router(refresh.router)\n"}
    found = {f.message.split("`")[3]: f for f in run(tmp_path, monkeypatch, NonConstantTimeSecretCompare, files)}
    assert found["rotate"].severity == Severity.INFO and "`refresh` has verified its JWT signature" in \
        found["rotate"].message
    assert found["rotate_unchecked"].severity == Severity.WARNING


def test_fal507_app_without_auth_or_cookies_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second app with no auth, cookies or sessions: a warning even though the project's main app uses
    cookies; the main app stays an error."""
    files = _page_case("FAL507", "Misreadings").files
    found = {f.path: f for f in run(tmp_path, monkeypatch, CorsWildcardWithCredentials, files)}
    assert found["app/main.py"].severity == Severity.ERROR
    assert found["plugins/prompt_server.py"].severity == Severity.WARNING
    assert "nothing on this app (1 route) is authenticated" in found["plugins/prompt_server.py"].message


def test_fal510_standalone_script_is_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A script no module of the app imports (top-level code, or a function only its ``__main__`` block runs):
    info that says a hang stops the script; the same call in a module a route reaches stays a warning."""
    files = _page_case("FAL510", "Misreadings").files
    found = {f.path: f for f in run(tmp_path, monkeypatch, OutboundRequestWithoutTimeout, files)
             if f.path.startswith(("app/ops/", "app/plugin_"))}
    assert {p: f.severity for p, f in found.items()} == {
        "app/ops/approve_pending.py": Severity.INFO, "app/plugin_sync.py": Severity.INFO,
        "app/plugin_index.py": Severity.WARNING}, found
    assert "a script that no module of the app imports" in found["app/ops/approve_pending.py"].message
    assert "a hang stops the program that uses it, not a server worker" in found["app/plugin_sync.py"].message


def test_fal510_api_client_no_route_runs_is_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's own SDK client, which no route runs: info; the service a route calls stays a warning."""
    files = _page_case("FAL510", "Misreadings").files
    found = {(f.path, f.line): f.severity for f in run(tmp_path, monkeypatch, OutboundRequestWithoutTimeout, files)}
    assert {k: v for k, v in found.items() if k[0] == "app/sdk/client.py"} == {
        ("app/sdk/client.py", 9): Severity.INFO, ("app/sdk/client.py", 16): Severity.INFO}, found
    assert found[("app/services/carrier.py", 7)] == Severity.WARNING


def test_fal501_unverified_audience_that_only_picks_the_verifying_key_is_info(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``aud``/``kid`` read of an unverified decode only to choose the key of a verified decode of the same
    token (in the function, or in every caller's ``key=``): info. Handed back to a caller that grants on it,
    read for anything else, or a verified decode without algorithms: still an error."""
    files = {"app/tokens.py": """
        import jwt

        SECRET = "a"
        OTHER_SECRET = "b"


        def by_kid(token: str, keys: dict[str, str]) -> dict:
            header = jwt.decode(token, options={"verify_signature": False})
            key = keys[header["kid"]]
            return jwt.decode(token, key, algorithms=["RS256"])


        def is_other(token: str) -> bool:
            unverified = jwt.decode(token, options={"verify_signature": False})
            audience = unverified.get("aud")
            return audience == "other"


        def claims(token: str) -> dict:
            return jwt.decode(jwt=token, key=OTHER_SECRET if is_other(token) else SECRET, algorithms=["HS256"])


        def is_admin(token: str) -> bool:
            unverified = jwt.decode(token, options={"verify_signature": False})
            return unverified.get("aud") == "admin"


        def admin(token: str) -> dict:
            if is_admin(token):
                return {"admin": True}
            return jwt.decode(token, SECRET, algorithms=["HS256"])


        def audience_granted(token: str, keys: dict[str, str]) -> dict:
            unverified = jwt.decode(token, options={"verify_signature": False})
            if unverified["aud"] == "admin":
                return {"admin": True}
            return jwt.decode(token, keys[unverified["aud"]], algorithms=["RS256"])


        def audience_returned(token: str, keys: dict[str, str]) -> str:
            unverified = jwt.decode(token, options={"verify_signature": False})
            jwt.decode(token, keys[unverified["aud"]], algorithms=["RS256"])
            return unverified["aud"]
    """}
    got = {(f.line, f.severity) for f in run(tmp_path, monkeypatch, JwtDecodeWithoutVerification, files)}
    assert got == {(9, Severity.INFO), (15, Severity.INFO), (25, Severity.ERROR), (36, Severity.ERROR),
                   (43, Severity.ERROR)}, got
