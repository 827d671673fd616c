"""``review --narrative``: the brief, redaction, the prompt, and the real ``anthropic`` client
against a fake Messages API on 127.0.0.1 (``tests/fakeanthropic.py``). No network.

The golden brief for ``tests/fixtures/bigger_app`` is ``tests/golden/bigger_app_brief.md``.
After an intended change to the brief (or to a rule's message, summary or advice, which the brief
quotes), regenerate it and review the diff:

    FAL_UPDATE_GOLDEN=1 python -m pytest tests/test_narrative.py -k golden
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fakeanthropic import FakeAnthropic, error, hang, malformed, message, sse_error
from fastapi_arch_lint.config import ConfigError, load_config
from fastapi_arch_lint.engine import review
from fastapi_arch_lint.narrative import dry_run_text, prompt, run
from fastapi_arch_lint.narrative.brief import BriefOptions, brief_for_review, estimate_tokens
from fastapi_arch_lint.narrative.client import (
    DEFAULT_MODEL,
    NarrativeError,
    NarrativeSettings,
    generate,
    resolve_settings,
    settings_from_config,
)
from fastapi_arch_lint.narrative.redact import PLACEHOLDER, Redactor, redact

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden" / "bigger_app_brief.md"

# planted in a copy of bigger_app: a FAL504 literal, and an Anthropic-shaped key next to it that no
# rule flags (only the shape pattern can catch it); the excerpt around the FAL504 line covers both
PLANTED_SECRET = "k3P9-hard-coded-signing-key-7Qx2"
PLANTED_ANTHROPIC = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdefghijKLMN"
PLANTED_GITHUB = "ghp_ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210"
STANDARDS_MARKER = "Team rule 7: every write goes through a service in app/services"

NARRATIVE = ("## Architecture Overview\n\nThe app routes through `app/main.py:9` (FAL504 at `app/config.py:11`).\n\n"
             "## Follow-up Questions\n\n- Who owns the admin token?\n")


def planted_copy(dest: Path, pyproject: str | None = None) -> Path:
    shutil.copytree(FIXTURES / "bigger_app", dest)
    config = dest / "app" / "config.py"
    config.write_text(config.read_text() + f'\n\nSECRET_KEY = "{PLANTED_SECRET}"\n'
                      f'ANTHROPIC_FALLBACK = "{PLANTED_ANTHROPIC}"\n')
    (dest / "CLAUDE.md").write_text(f"# Conventions\n\n{STANDARDS_MARKER}.\nStaging CI token: {PLANTED_GITHUB}\n")
    if pyproject is not None:
        (dest / "pyproject.toml").write_text(pyproject)
    return dest


_REVIEWS: dict[Path, object] = {}


def brief_in(root: Path, monkeypatch: pytest.MonkeyPatch, **options: object) -> str:
    """The brief as ``review`` builds it when run from ``root`` (display paths relative to it).

    The review of a fixture is computed once per session (the brief is a pure function of it)."""
    monkeypatch.chdir(root)
    key = root.resolve()
    if key not in _REVIEWS or not str(key).startswith(str(FIXTURES.resolve())):
        _REVIEWS[key] = review(["."], load_config(start=Path(".")))
    return brief_for_review(_REVIEWS[key], key, BriefOptions(**options)).text  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# redaction


@pytest.mark.parametrize("secret", [
    "AKIAIOSFODNN7EXAMPLE",
    "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "xoxb-123456789012-abcdefghijkl",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
])
def test_known_token_shapes_are_redacted_anywhere(secret: str) -> None:
    text = f"# a note\nsome prose mentioning {secret} inline\nx = '{secret}'\n"
    out, n = redact(text)
    assert secret not in out
    assert n == 2
    assert "some prose mentioning <redacted" in out


@pytest.mark.parametrize("line, secret", [
    ('SECRET_KEY = "hunter2"', "hunter2"),
    ('secret_key: str = "change-me"', "change-me"),
    ('app.add_middleware(SessionMiddleware, secret_key="s3ss10n")', "s3ss10n"),
    ('{"password": "pa55word", "user": "bob"}', "pa55word"),
    ('jwt_secret: SecretStr = SecretStr("abc123")', "abc123"),
    ('API_KEY = os.getenv("API_KEY", "fallback-value")', "fallback-value"),
    ('DATABASE_URL = "postgresql://app:Sup3rS3cret@db:5432/app"', "Sup3rS3cret"),
    ('DB_PASSWORD=Sup3rS3cretValue9', "Sup3rS3cretValue9"),
    ('digest = "0123456789abcdef0123456789abcdef01234567"', "0123456789abcdef0123456789abcdef01234567"),
    ('-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAxyz0123456789abcdef\n-----END RSA PRIVATE KEY-----',
     "MIIEowIBAAKCAQEAxyz0123456789abcdef"),
])
def test_secret_assignments_are_redacted(line: str, secret: str) -> None:
    out, n = redact(line)
    assert secret not in out and n >= 1


@pytest.mark.parametrize("line", [
    'token_type: str = "bearer"',
    'oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")',
    'SECRET_KEY = os.environ["SECRET_KEY"]',
    'jwt_algorithm: str = "HS256"',
    'password: str = Field(min_length=8)',
    'database_url: str = "sqlite://"',
    '| POST | `/token` | `login_for_access_token` `app/routers/auth.py:16` async | 200 |',
])
def test_ordinary_code_is_left_alone(line: str) -> None:
    assert redact(line) == (line, 0)


def test_literals_on_secret_finding_lines_are_redacted_in_the_source_and_everywhere() -> None:
    source = 'A = "keep me"\nKEY_MATERIAL = (\n    "first-part-of-a-long-key"\n    "second-part"\n)\nB = "also kept"\n'
    r = Redactor()
    out = r.redact_source(source, {2, 3})  # a finding spanning the assignment
    assert out.count("\n") == source.count("\n")  # line numbers are kept
    assert "first-part" not in out and "second-part" in out  # only literals starting in the span
    assert '"keep me"' in out and '"also kept"' in out
    # the matched value is scrubbed from any other text too (a model default, a middleware option)
    assert r.redact_text("default 'first-part-of-a-long-key' here") == f"default '{PLACEHOLDER}' here"


def test_untokenizable_source_falls_back_to_a_line_regex() -> None:
    source = 'def broken(:\n    TOKEN = "not-tokenizable-but-secret"\n'
    out = Redactor().redact_source(source, {2})
    assert "not-tokenizable" not in out and out.count("\n") == 2


# ---------------------------------------------------------------------------
# the brief


def test_golden_brief_for_bigger_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole brief for tests/fixtures/bigger_app. Regenerate with FAL_UPDATE_GOLDEN=1 (see the module docstring)."""
    text = brief_in(FIXTURES / "bigger_app", monkeypatch)
    if os.environ.get("FAL_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert str(FIXTURES) not in text and str(Path.home()) not in text  # paths are relative
    expected = GOLDEN.read_text(encoding="utf-8")
    assert text == expected, "brief changed: FAL_UPDATE_GOLDEN=1 python -m pytest tests/test_narrative.py -k golden"


def test_brief_has_the_app_summary_findings_and_redacted_excerpts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = planted_copy(tmp_path / "proj")
    text = brief_in(root, monkeypatch)
    # route table with effective auth and through what
    assert "| POST | `/token` | `login_for_access_token` `app/routers/auth.py:16` async | 200 |" in text
    assert ("| GET | `/items/` | `read_items` `app/routers/items.py:22` async | 200 |  | list[ItemRead] | "
            "OAuth2PasswordBearer through get_current_active_user > get_current_user > oauth2_scheme (router) |") in text
    assert "- `app.dependencies.get_token_header` (function, async) `app/dependencies.py:22`; 3 routes; attached at include" in text
    assert "- `items` (class `Item`, sqlalchemy) `app/models.py:28`:" in text
    # findings by area with rule summaries
    assert "### Injection, secrets and hardening" in text
    assert "#### FAL504 hardcoded-secret (3): A signing key, password, token or connection-string password" in text
    # the excerpt around the planted FAL504 line is there, with both literals redacted
    assert f'SECRET_KEY = "{PLACEHOLDER}"' in text
    assert 'ANTHROPIC_FALLBACK = "<redacted:api-key>"' in text
    assert 'secret_key: str = "<redacted>"' in text
    for secret in (PLANTED_SECRET, PLANTED_ANTHROPIC, PLANTED_GITHUB, "change-me-in-production", "fake-super-secret-token"):
        assert secret not in text
    # the standards file, itself redacted
    assert "## Project standards: `CLAUDE.md`" in text and STANDARDS_MARKER in text
    assert "Staging CI token: <redacted:github-token>" in text


def test_focus_narrows_the_brief_and_the_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    root = FIXTURES / "bigger_app"
    security = brief_in(root, monkeypatch, focus="security")
    assert "FAL504" in security and "FAL506" in security and "FAL601" not in security and "FAL701" not in security
    assert "## Tables" not in security and "## Dependency graph" in security
    database = brief_in(root, monkeypatch, focus="database")
    assert "FAL701" in database and "FAL601" in database and "FAL504" not in database
    assert "## Tables (2)" in database and "## Dependency graph" not in database
    assert "findings in areas outside the focus are left out" in database
    api = brief_in(root, monkeypatch, focus="api")
    assert "FAL206" in api and "FAL109" in api and "FAL504" not in api
    assert prompt.sections_for("security") == ("Architecture Overview", "Security Architecture",
                                               "Implementation Considerations", "Migration Path",
                                               "Testing Strategy", "Follow-up Questions")
    user = prompt.user_message("BRIEF", "database")
    assert "## Database Schema" in user and "## API Design" not in user and "<brief>\nBRIEF\n</brief>" in user
    assert all(f"## {s}" in prompt.user_message("BRIEF", None) for s in prompt.SECTIONS)


def test_excerpts_respect_the_line_and_character_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    root = FIXTURES / "bigger_app"
    full = brief_in(root, monkeypatch)
    small = brief_in(root, monkeypatch, excerpt_budget=800, excerpt_lines=5)
    assert small.count("```python") < full.count("```python")
    assert small.count("```python") >= 1
    blocks = small.split("```python\n")[1:]
    assert all(len(b.split("\n```")[0].splitlines()) <= 5 for b in blocks)
    assert sum(len(b.split("\n```")[0]) for b in blocks) <= 800
    # the most severe and certain findings come first: FAL506's timing leak (a high-confidence warning),
    # before FAL504's typed development defaults (warnings of medium confidence since issue 17)
    assert small.split("## Code excerpts")[1].split("```")[0].strip().endswith("(FAL506)")


def test_standards_file_is_truncated_to_its_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "proj"
    shutil.copytree(FIXTURES / "tutorial_jwt_app", root)
    (root / "AGENTS.md").write_text("A" * 5000 + " tail-of-agents")
    (root / "CONTRIBUTING.md").write_text("contributing text")
    text = brief_in(root, monkeypatch, standards_budget=1000)
    assert "## Project standards: `AGENTS.md`" in text and "[… truncated: 1000 of 5015 characters shown]" in text
    assert "tail-of-agents" not in text and "contributing text" not in text


def test_system_prompt_is_static_and_grounded() -> None:
    block = prompt.system_blocks()[0]
    assert block["cache_control"] == {"type": "ephemeral"}
    text = str(block["text"])
    for needle in ("elite backend architect", "FastAPI", "Start from why", "existing patterns", "simplest viable design",
                   "do not invent findings", "could not be resolved", "FAL504 hardcoded-secret (error)"):
        assert needle in text
    assert all(s in text for s in prompt.SECTIONS)
    assert prompt.system_blocks() == prompt.system_blocks()


def test_dry_run_text_estimates_tokens_and_cost() -> None:
    text = dry_run_text("B" * 4000, "S" * 8000, "U" * 4400, NarrativeSettings())
    assert "Dry run: nothing was sent" in text
    assert "4,000 characters, about 1,000 tokens" in text
    assert "about 3,100 input tokens" in text and "estimates (characters / 4)" in text
    # claude-sonnet-5-5: $2 / $10 per million tokens
    assert "input ≈ $0.0062, output at most 16,000 tokens ≈ $0.1600, total at most ≈ $0.1662" in text
    unknown = dry_run_text("B", "S", "U", NarrativeSettings(model="claude-somebody-9"))
    assert f"no price known for `claude-somebody-9`; with the default model `{DEFAULT_MODEL}`" in unknown
    assert estimate_tokens("abcdefgh") == 2


def test_narrative_config_is_validated() -> None:
    assert settings_from_config({"model": "claude-haiku-5-5", "max-output-tokens": 4000, "focus": "api",
                                 "timeout": 30}) == NarrativeSettings("claude-haiku-5-5", 4000, "api", 30.0)
    for table, needle in [({"modle": "x"}, "unknown key `modle`"), ({"max-output-tokens": "many"}, "integer"),
                          ({"focus": "ui"}, "must be one of api, database, security"), ({"timeout": 0}, "positive"),
                          ({"model": ""}, "model name")]:
        with pytest.raises(ConfigError, match=needle):
            settings_from_config(table, "pyproject.toml")
    s = resolve_settings({"model": "claude-haiku-5-5", "focus": "api"}, None, model="claude-opus-5-5", focus="security")
    assert (s.model, s.focus) == ("claude-opus-5-5", "security")


# ---------------------------------------------------------------------------
# the real client against the fake


@pytest.fixture()
def fake():
    with FakeAnthropic() as f:
        yield f


SYSTEM = prompt.system_blocks()
FAST = NarrativeSettings(timeout=5.0)


def test_success_json_reads_only_text_blocks(fake: FakeAnthropic) -> None:
    fake.push(message(NARRATIVE, thinking="SECRET THOUGHTS"))
    res = generate(SYSTEM, "the brief", FAST, api_key="test-key", base_url=fake.url, stream=False)
    assert res.text == NARRATIVE and "SECRET THOUGHTS" not in res.text
    assert (res.stop_reason, res.input_tokens, res.output_tokens, res.attempts) == ("end_turn", 1234, 321, 1)
    (req,) = fake.requests
    assert req.path == "/v1/messages" and req.headers.get("authorization") == "Bearer test-key"
    assert req.body["model"] == DEFAULT_MODEL and req.body["max_tokens"] == 16000
    assert req.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert req.body["messages"] == [{"role": "user", "content": "the brief"}]
    assert not {"temperature", "top_p", "top_k"} & set(req.body)


def test_streaming_skips_the_thinking_block_and_streams_text(fake: FakeAnthropic) -> None:
    fake.push(message("", thinking="private reasoning", chunks=["## Architecture", " Overview\n", "Text."]))
    seen: list[str] = []
    res = generate(SYSTEM, "the brief", FAST, api_key="k", base_url=fake.url, stream=True, on_text=seen.append)
    assert seen == ["## Architecture", " Overview\n", "Text."]
    assert res.text == "## Architecture Overview\nText." and res.output_tokens == 321
    assert fake.requests[0].body["stream"] is True


def test_401_is_one_line_naming_the_key(fake: FakeAnthropic) -> None:
    fake.push(error(401, "authentication_error", "invalid x-api-key"))
    with pytest.raises(NarrativeError) as exc:
        generate(SYSTEM, "b", FAST, api_key="bad", base_url=fake.url)
    assert str(exc.value) == ("the API rejected the key (401 authentication_error: invalid x-api-key); "
                              "check ANTHROPIC_API_KEY")
    assert len(fake.requests) == 1  # never retried


def test_429_then_success_honours_retry_after(fake: FakeAnthropic) -> None:
    fake.push(error(429, "rate_limit_error", "slow down", {"retry-after": "0.4"}), message(NARRATIVE))
    start = time.monotonic()
    res = generate(SYSTEM, "b", FAST, api_key="k", base_url=fake.url)
    assert time.monotonic() - start >= 0.4
    assert res.text == NARRATIVE and res.attempts == 2 and len(fake.requests) == 2


def test_429_asking_for_too_long_a_wait_is_reported_not_waited(fake: FakeAnthropic) -> None:
    fake.push(error(429, "rate_limit_error", "quota", {"retry-after": "3600"}))
    waits: list[float] = []
    with pytest.raises(NarrativeError, match=r"rate limited by the API \(429 rate_limit_error: quota\); "
                                             r"the API asks to wait 3600 s"):
        generate(SYSTEM, "b", FAST, api_key="k", base_url=fake.url, sleep=waits.append)
    assert waits == [] and len(fake.requests) == 1


def test_500_is_retried_a_bounded_number_of_times(fake: FakeAnthropic) -> None:
    fake.push(*[error(500, "api_error", "Internal server error")] * 5)
    waits: list[float] = []
    with pytest.raises(NarrativeError) as exc:
        generate(SYSTEM, "b", FAST, api_key="k", base_url=fake.url, sleep=waits.append)
    assert str(exc.value) == "the API failed (500 api_error: Internal server error) after 3 attempts"
    assert waits == [0.5, 1.0] and len(fake.requests) == 3


def test_error_event_before_any_text_is_retried(fake: FakeAnthropic) -> None:
    fake.push(sse_error("overloaded_error", "Overloaded"), message(NARRATIVE))
    res = generate(SYSTEM, "b", FAST, api_key="k", base_url=fake.url, sleep=lambda s: None)
    assert res.text == NARRATIVE and res.attempts == 2


def test_timeout_is_one_line(fake: FakeAnthropic) -> None:
    fake.push(hang(30))
    start = time.monotonic()
    with pytest.raises(NarrativeError) as exc:
        generate(SYSTEM, "b", NarrativeSettings(timeout=0.5), api_key="k", base_url=fake.url)
    assert time.monotonic() - start < 5
    assert str(exc.value).startswith(f"no answer from the API at {fake.url} within 0.5 s (timeout)")


@pytest.mark.parametrize("stream, reply", [
    (False, malformed("{this is not json")),
    (True, malformed("{this is not json", content_type="text/event-stream")),
    (False, malformed('{"type": "message", "content": "not a list"}')),
])
def test_malformed_answer_is_one_line(fake: FakeAnthropic, stream: bool, reply) -> None:  # type: ignore[no-untyped-def]
    fake.push(reply)
    with pytest.raises(NarrativeError) as exc:
        generate(SYSTEM, "b", FAST, api_key="k", base_url=fake.url, stream=stream)
    message_ = str(exc.value)
    assert "\n" not in message_
    assert "malformed response" in message_ or "contained no text" in message_


def test_unreachable_api_is_one_line() -> None:
    with FakeAnthropic() as f:
        url = f.url  # closed below: nothing listens there any more
    with pytest.raises(NarrativeError, match=r"cannot reach the API at http://127\.0\.0\.1:\d+ .* after 2 attempts"):
        generate(SYSTEM, "b", FAST, api_key="k", base_url=url, max_retries=1, sleep=lambda s: None)


def test_run_writes_file_and_step_summary_and_never_raises(tmp_path: Path, fake: FakeAnthropic,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    root = planted_copy(tmp_path / "proj")
    monkeypatch.chdir(root)
    result = review(["."], load_config(start=Path(".")))
    out, err = io.StringIO(), io.StringIO()
    summary = tmp_path / "summary.md"
    summary.write_text("existing\n")
    fake.push(message(NARRATIVE, thinking="t"))
    env = {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": fake.url, "GITHUB_STEP_SUMMARY": str(summary)}
    ok = run(result, NarrativeSettings(timeout=5), root=root, to_stdout=True, output=str(tmp_path / "n.md"),
             env=env, out=out, err=err)
    assert ok
    assert out.getvalue().startswith("\n# Architecture review\n") and NARRATIVE in out.getvalue()
    assert (tmp_path / "n.md").read_text().endswith(NARRATIVE)
    assert summary.read_text().startswith("existing\n") and NARRATIVE in summary.read_text()
    assert err.getvalue() == ("fastapi-arch-lint: narrative: claude-sonnet-5-5: 1,234 input tokens, 321 output tokens, "
                              "about $0.0057\n")
    # a failure is one line on err, nothing on out, and no exception
    out, err = io.StringIO(), io.StringIO()
    fake.push(error(400, "invalid_request_error", "max_tokens: too large"))
    assert not run(result, NarrativeSettings(timeout=5), root=root, env=env, out=out, err=err)
    assert out.getvalue() == ""
    assert err.getvalue() == ("fastapi-arch-lint: narrative: failed: the API refused the request "
                              "(400 invalid_request_error: max_tokens: too large)\n")


# ---------------------------------------------------------------------------
# the command line: python -m fastapi_arch_lint review <copy> --narrative


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("ANTHROPIC_") and k not in ("GITHUB_STEP_SUMMARY", "PRE_COMMIT")}
    return subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "review", ".", *args], cwd=cwd,
                          env={**base, **(env or {})}, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bigger_app with planted secrets and a CLAUDE.md: for what is sent."""
    return planted_copy(tmp_path_factory.mktemp("narrative") / "proj")


@pytest.fixture(scope="module")
def plain(project: Path) -> subprocess.CompletedProcess[str]:
    """The review without --narrative: what the report and exit code must stay."""
    p = cli(project)
    assert p.returncode == 1 and "FAL504" in p.stdout
    return p


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-file app with findings (a FAL504 error): the failure modes, where only the CLI's behaviour matters
    (a smaller tree keeps each run short)."""
    root = tmp_path_factory.mktemp("narrative-small") / "small"
    shutil.copytree(FIXTURES / "tutorial_jwt_app", root)
    return root


@pytest.fixture(scope="module")
def small_plain(small: Path) -> subprocess.CompletedProcess[str]:
    p = cli(small)
    assert p.returncode == 1 and "FAL504" in p.stdout
    return p


def test_cli_streams_the_narrative_after_the_complete_report(project: Path, plain, fake: FakeAnthropic,  # type: ignore[no-untyped-def]
                                                             tmp_path: Path) -> None:
    fake.push(message("", thinking="PRIVATE THINKING", chunks=["## Architecture Overview\n\n", "It streams.\n"]))
    summary = tmp_path / "summary.md"
    p = cli(project, "--narrative", "--narrative-output", str(tmp_path / "review.md"),
            env={"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.url, "GITHUB_STEP_SUMMARY": str(summary)})
    assert p.returncode == plain.returncode == 1
    assert p.stdout.startswith(plain.stdout)  # the deterministic report first, complete and unchanged
    narrative = p.stdout[len(plain.stdout):]
    assert narrative.startswith("\n# Architecture review\n")
    assert "## Architecture Overview\n\nIt streams.\n" in narrative and "PRIVATE THINKING" not in p.stdout
    assert p.stderr.startswith("fastapi-arch-lint: narrative: claude-sonnet-5-5: 1,234 input tokens")
    assert (tmp_path / "review.md").read_text().endswith("## Architecture Overview\n\nIt streams.\n")
    assert "It streams." in summary.read_text()
    # what was sent
    (req,) = fake.requests
    assert req.headers.get("authorization") == "Bearer test-key" or req.headers.get("x-api-key") == "test-key"
    assert req.body["stream"] is True and req.body["model"] == DEFAULT_MODEL
    assert req.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    sent = req.body["messages"][0]["content"]
    assert "| POST | `/token` | `login_for_access_token` `app/routers/auth.py:16` async | 200 |" in sent
    assert "## Routes (15)" in sent and "## Dependency graph" in sent
    for code in ("FAL504", "FAL506", "FAL601", "FAL701", "FAL206"):
        assert f"#### {code} " in sent
    assert "`app/config.py:11` [warning, medium confidence] `Settings.secret_key` defaults to" in sent
    assert STANDARDS_MARKER in sent
    raw = req.raw.decode()
    for secret in (PLANTED_SECRET, PLANTED_ANTHROPIC, "sk-ant-api03", PLANTED_GITHUB, "change-me-in-production"):
        assert secret not in raw
    assert 'ANTHROPIC_FALLBACK = \\"<redacted:api-key>\\"' in raw  # the line was in an excerpt, redacted


def test_cli_401_is_one_line_and_keeps_report_and_exit_code(small: Path, small_plain, fake: FakeAnthropic) -> None:  # type: ignore[no-untyped-def]
    fake.push(error(401, "authentication_error", "invalid x-api-key"))
    p = cli(small, "--narrative", env={"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": fake.url})
    assert p.returncode == 1
    assert p.stdout == small_plain.stdout
    assert p.stderr == ("fastapi-arch-lint: narrative: failed: the API rejected the key (401 authentication_error: "
                        "invalid x-api-key); check ANTHROPIC_API_KEY\n")


@pytest.mark.parametrize("replies, timeout, line", [
    ([error(500, "api_error", "boom", {"retry-after": "0"})] * 3, 5.0,
     "failed: the API failed (500 api_error: boom) after 3 attempts"),
    ([hang(30)], 0.5, "failed: no answer from the API at {url} within 0.5 s (timeout); "
                      "raise `timeout` under [tool.fastapi-arch-lint.narrative]"),
    ([malformed(content_type="text/event-stream")], 5.0,
     "failed: the API's answer could not be read (malformed response: not JSON: Expecting property name enclosed "
     "in double quotes: line 1 column 2 (char 1))"),
    ([error(429, "rate_limit_error", "slow down", {"retry-after": "0.3"}), message(NARRATIVE)], 5.0, None),
], ids=["500", "timeout", "malformed", "429-then-success"])
def test_run_failures_are_one_line_and_leave_stdout_alone(small: Path, fake: FakeAnthropic,  # type: ignore[no-untyped-def]
                                                          monkeypatch: pytest.MonkeyPatch, replies, timeout: float,
                                                          line: str | None) -> None:
    """What ``review --narrative`` runs after the report, in process (the CLI wiring is tested by the others)."""
    import io

    monkeypatch.chdir(small)
    if small not in _REVIEWS:
        _REVIEWS[small] = review(["."], load_config(start=Path(".")))
    fake.push(*replies)
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    ok = run(_REVIEWS[small], NarrativeSettings(timeout=timeout), root=small,  # type: ignore[arg-type]
             env={"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": fake.url}, out=out, err=err)
    if line is None:  # 429 then success: the retry-after was honoured
        assert ok and time.monotonic() - start >= 0.3 and NARRATIVE in out.getvalue()
        assert "(2 attempts)" in err.getvalue() and len(fake.requests) == 2
        return
    assert not ok and out.getvalue() == ""
    assert err.getvalue() == f"fastapi-arch-lint: narrative: {line.format(url=fake.url)}\n"


def test_cli_without_a_key_names_it_and_sends_nothing(small: Path, small_plain, fake: FakeAnthropic) -> None:  # type: ignore[no-untyped-def]
    p = cli(small, "--narrative", env={"ANTHROPIC_BASE_URL": fake.url})
    assert p.returncode == 1 and p.stdout == small_plain.stdout
    assert p.stderr.count("\n") == 1 and "ANTHROPIC_API_KEY is not set" in p.stderr
    assert fake.requests == []


def test_cli_exit_code_is_the_findings_alone(tmp_path: Path, fake: FakeAnthropic) -> None:
    root = tmp_path / "clean"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
                                          "@app.get(\"/health\")\ndef health() -> dict[str, str]:\n"
                                          "    return {\"status\": \"ok\"}\n")
    fake.push(*[error(500, "api_error", "boom", {"retry-after": "0"})] * 3)
    p = cli(root, "--narrative", env={"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": fake.url})
    assert p.returncode == 0
    assert p.stderr == "fastapi-arch-lint: narrative: failed: the API failed (500 api_error: boom) after 3 attempts\n"


def test_cli_dry_run_and_pre_commit_send_nothing(project: Path, plain, small: Path, small_plain,  # type: ignore[no-untyped-def]
                                                 fake: FakeAnthropic) -> None:  # type: ignore[no-untyped-def]
    env = {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": fake.url}
    p = cli(project, "--narrative", "--dry-run", env=env)
    assert p.returncode == 1 and p.stdout.startswith(plain.stdout)
    shown = p.stdout[len(plain.stdout):]
    assert "# Architecture brief: `proj`" in shown and "Dry run: nothing was sent." in shown
    assert "estimated cost with `claude-sonnet-5-5`" in shown and PLANTED_SECRET not in shown
    p = cli(small, "--narrative", env={**env, "PRE_COMMIT": "1"})
    assert p.returncode == 1 and p.stdout == small_plain.stdout
    assert p.stderr == ("fastapi-arch-lint: narrative: skipped: not run under pre-commit (PRE_COMMIT=1); run "
                        "`fastapi-arch-lint review --narrative` yourself or in CI\n")
    assert fake.requests == []


def test_cli_usage_errors_exit_2(small: Path) -> None:
    p = cli(small, "--narrative", "--format", "json")
    assert p.returncode == 2 and "--narrative-output FILE" in p.stderr and p.stdout == ""
    p = cli(small, "--narrative", "--focus", "ui")
    assert p.returncode == 2 and "ui" in p.stderr
