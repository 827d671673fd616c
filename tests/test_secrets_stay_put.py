"""Secrets stay put (issue 8, point 5).

* ``ANTHROPIC_API_KEY`` never appears in anything the tool prints: reports, ``inspect``,
  ``--dry-run`` briefs, usage and configuration errors, and the narrative's own errors, even
  when the (local, fake) API answers with an error that echoes the key back (that last case
  is an expected failure until the narrative client scrubs the key from API error texts).
* The facts cache holds no source text: no comment, no docstring, no line of code. It does
  keep the literal values the rules judge (a route's path, a hard-coded secret's value, a
  default): those are facts, and the entries are readable by their owner only.

No network: the only server is a fake Anthropic API on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from hostile import copy_bigger_app

KEY = f"sk-ant-api03-{uuid.uuid4().hex}{uuid.uuid4().hex}-fal-test"
CLI_TIMEOUT = 300


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    full["ANTHROPIC_API_KEY"] = KEY
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "fastapi_arch_lint", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=CLI_TIMEOUT, env=full)


def assert_no_key(p: subprocess.CompletedProcess[str], *files: Path) -> None:
    for where, text in (("stdout", p.stdout), ("stderr", p.stderr),
                        *((str(f), f.read_text(errors="replace")) for f in files if f.exists())):
        assert KEY not in text, f"the API key leaked into {where}"
        assert KEY[12:40] not in text, f"part of the API key leaked into {where}"
    assert "Traceback" not in p.stderr, p.stderr[-2000:]


@pytest.fixture(scope="module")
def app_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_bigger_app(tmp_path_factory.mktemp("secrets"))


@pytest.mark.parametrize("args", [
    ("review", "."),
    ("review", ".", "--format", "sarif"),
    ("review", ".", "--dry-run"),
    ("inspect", ".", "--format", "json"),
    ("review", ".", "--config", "missing.toml"),
], ids=lambda a: " ".join(a))
def test_api_key_never_printed(app_root: Path, args: tuple[str, ...], tmp_path: Path) -> None:
    out = tmp_path / "report.out"
    extra = ("-o", str(out)) if "--format" in args and args[0] == "review" else ()
    p = run(app_root, *args, *extra)
    assert p.returncode in (0, 1, 2)
    if args[0] == "review" and "--config" not in args:
        assert p.returncode == 1  # the review really ran (bigger_app has findings)
    assert_no_key(p, out)


class _EchoingAPI(BaseHTTPRequestHandler):
    """A fake Anthropic API that rejects every request and echoes the key it was sent."""

    seen: list[dict[str, str]] = []
    status = 401

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        auth = self.headers.get("authorization", "")
        key = self.headers.get("x-api-key") or (auth[7:] if auth.lower().startswith("bearer ") else auth)
        type(self).seen.append({"path": self.path, "key": key, "body": body.decode("utf-8", "replace")})
        payload = json.dumps({"type": "error", "error": {
            "type": "authentication_error" if self.status == 401 else "api_error",
            "message": f"invalid key: {key}"}}).encode()
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("x-echo-key", key)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def echoing_api() -> Iterator[tuple[str, type[_EchoingAPI]]]:
    handler = type("Handler", (_EchoingAPI,), {"seen": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [401])
def test_api_key_not_printed_when_the_api_echoes_it(app_root: Path, echoing_api, status: int,  # type: ignore[no-untyped-def]
                                                    tmp_path: Path) -> None:
    url, handler = echoing_api
    handler.status = status
    narrative = tmp_path / "narrative.md"
    p = run(app_root, "review", ".", "--narrative", "--narrative-output", str(narrative),
            env={"ANTHROPIC_BASE_URL": url})
    # the request really carried the key (so the check below means something) ...
    assert handler.seen, p.stderr
    assert handler.seen[0]["key"] == KEY
    # ... and the tool said the narrative failed without ever showing it
    assert p.returncode == 1  # bigger_app's findings; a failed narrative never changes the exit code
    assert "narrative" in p.stderr.lower()
    assert_no_key(p, narrative)


# ---------------------------------------------------------------------------
# the facts cache

PLANTED = """\
\"\"\"Module docstring {m}-module-docstring.\"\"\"
# a comment {m}-comment
from fastapi import APIRouter, FastAPI

app = FastAPI()
router = APIRouter(prefix="/things")
JWT_SECRET = "{m}-literal-secret-value"


class Settings:
    \"\"\"Class docstring {m}-class-docstring.\"\"\"

    region: str = "eu"  # {m}-trailing-comment


def helper_{u}(value: int) -> int:
    \"\"\"Function docstring {m}-function-docstring.\"\"\"
    intermediate_total_{u} = value * 1234567 + 7654321  # arithmetic code text
    return intermediate_total_{u} - 42


@router.get("/{{thing_id}}")
async def read_thing(thing_id: int) -> dict:
    # {m}-body-comment
    return {{"id": thing_id}}


app.include_router(router)
"""


def test_cache_holds_no_source_text(tmp_path: Path) -> None:
    marker = f"m{uuid.uuid4().hex[:16]}"
    unique = uuid.uuid4().hex[:8]
    source = PLANTED.format(m=marker, u=unique)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(source)
    cache = tmp_path / "facts-cache"  # this test's own (the suite shares one through the environment)
    p = run(tmp_path, "review", ".", "--format", "json", "--cache-dir", str(cache))
    assert p.returncode in (0, 1), p.stderr
    assert "Traceback" not in p.stderr
    if not cache.is_dir():
        pytest.skip("this build of the engine keeps no facts cache")
    entries = [f for f in cache.rglob("*") if f.is_file() and f.name not in ("CACHEDIR.TAG", ".gitignore")]
    assert entries, "the cache folder exists but holds no entry"
    blob = b"".join(f.read_bytes() for f in entries)

    # a second run, from the warm cache, says the same
    again = run(tmp_path, "review", ".", "--format", "json", "--cache-dir", str(cache))
    assert json.loads(again.stdout) == json.loads(p.stdout)

    for what in ("module-docstring", "comment", "class-docstring", "trailing-comment", "function-docstring",
                 "body-comment"):
        assert f"{marker}-{what}".encode() not in blob, f"the cache holds the {what}"
    # no line of code verbatim, and no stretch of the file's text
    for line in source.splitlines():
        text = line.strip()
        if len(text) >= 12 and not text.startswith(('"', "#")):
            assert text.encode() not in blob, f"the cache holds the source line {text!r}"
    assert b"1234567 + 7654321" not in blob
    # literal values the rules judge are facts, kept on purpose (FAL504 reads this one) ...
    assert f"{marker}-literal-secret-value".encode() in blob
    # ... so entries are private to their owner
    if sys.platform != "win32":
        for f in entries:
            assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f"{f} is readable by others"
