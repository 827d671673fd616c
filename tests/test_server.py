"""`fastapi-arch-lint server` driven as an editor drives it: JSON-RPC over stdio, framed by hand.

One server process for the whole module (a project analyzed once, then re-analyzed on each
change); every wait has a timeout, so a hang fails the test instead of blocking the run.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "auth_gap_app"
WAIT = 30.0  # seconds for any one answer (the fixture takes well under one)


class Client:
    """The editor's side: writes framed requests and notifications, reads framed messages in a
    thread (responses by id, notifications in arrival order)."""

    def __init__(self, cwd: Path, *options: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "fastapi_arch_lint", "server", *options], cwd=cwd,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.notifications: queue.Queue[dict[str, Any]] = queue.Queue()
        self.responses: dict[int, dict[str, Any]] = {}
        self.requests_seen: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        self._next_id = 0
        self._stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self._stderr.extend(self.proc.stderr), daemon=True).start()  # type: ignore[arg-type]

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = out.read(int(headers["content-length"]))
            message = json.loads(body)
            if "id" in message and "method" not in message:
                with self._arrived:
                    self.responses[message["id"]] = message
                    self._arrived.notify_all()
            elif "id" in message:  # a request from the server (registerCapability): answer null
                self.requests_seen.append(message)
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            else:
                self.notifications.put(message)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = WAIT) -> Any:
        self._next_id += 1
        ident = self._next_id
        self.send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self._arrived:
            while ident not in self.responses:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no answer to {method} within {timeout} s; server stderr:\n{self.stderr()}")
                self._arrived.wait(left)
        answer = self.responses.pop(ident)
        assert "error" not in answer, answer
        return answer["result"]

    def diagnostics(self, uri: str, until: Callable[[list[dict[str, Any]]], bool],
                    timeout: float = WAIT) -> list[dict[str, Any]]:
        """The diagnostics of the first publishDiagnostics for ``uri`` that satisfies ``until``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no matching diagnostics for {uri} within {timeout} s; server stderr:\n{self.stderr()}")
            try:
                message = self.notifications.get(timeout=left)
            except queue.Empty:
                continue
            if message["method"] == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri \
                    and until(message["params"]["diagnostics"]):
                return message["params"]["diagnostics"]

    def logs(self) -> list[str]:
        return [m["params"]["message"] for m in list(self.notifications.queue) if m["method"] == "window/logMessage"]

    def stderr(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")[-4000:]


def codes_at(diagnostics: list[dict[str, Any]], line: int) -> set[str]:
    """The rule codes of the diagnostics starting on ``line`` (1-based)."""
    return {d.get("code") for d in diagnostics if d["range"]["start"]["line"] == line - 1}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("server") / "auth_gap_app"
    shutil.copytree(FIXTURE, where)
    return where


@pytest.fixture(scope="module")
def client(project: Path) -> Iterator[Client]:
    c = Client(project)
    try:
        result = c.request("initialize", {"processId": None, "rootUri": project.as_uri(), "capabilities": {
            "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}}}})
        caps = result["capabilities"]
        assert caps["hoverProvider"] and caps["codeActionProvider"], caps
        assert result["serverInfo"]["name"] == "fastapi-arch-lint"
        c.notify("initialized", {})
        yield c
    finally:
        if c.proc.poll() is None:
            c.proc.kill()
        c.proc.wait(timeout=WAIT)


BILLING = "app/routers/billing.py"


def test_open_publishes_the_projects_findings(client: Client, project: Path) -> None:
    path = project / BILLING
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": path.read_text()}})
    diags = client.diagnostics(uri, lambda ds: bool(ds))
    # the creating POST without status_code= (FAL201) and the unauthenticated POST (FAL401)
    assert "FAL201" in codes_at(diags, 50)
    assert "FAL401" in codes_at(diags, 36)
    fal401 = next(d for d in diags if d.get("code") == "FAL401" and d["range"]["start"]["line"] == 35)
    assert fal401["severity"] == 1 and fal401["source"] == "fastapi-arch-lint"
    assert "changes state but no authentication reaches it" in fal401["message"]
    # related information points at the include that brings the router in
    related = {(r["location"]["uri"], r["location"]["range"]["start"]["line"]) for r in fal401["relatedInformation"]}
    assert ((project / "app/main.py").as_uri(), 24) in related
    fal201 = next(d for d in diags if d.get("code") == "FAL201")
    assert fal201["severity"] == 2
    assert fal201["range"]["start"] == {"line": 49, "character": 0}


def open_billing(client: Client, project: Path) -> str:
    """Open the billing router as on disk and wait for its analysis: a test that needs the document open
    must not rely on an earlier test having opened it (a ``-k`` selection runs it alone)."""
    path = project / BILLING
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": path.read_text()}})
    client.diagnostics(uri, lambda ds: "FAL201" in codes_at(ds, 50))
    return uri


def test_code_action_offers_the_findings_fix(client: Client, project: Path) -> None:
    """``review --fix``'s fix as a quick fix: FAL201's ``status_code`` on the decorator, as an edit of the lines
    it replaces in the editor's text; unsafe (a status code changes behaviour), so not the preferred action."""
    uri = open_billing(client, project)
    line = '@router.post("/invoices/{invoice_id}/payments", response_model=InvoiceRead)'
    fal201 = {"range": {"start": {"line": 49, "character": 0}, "end": {"line": 49, "character": len(line)}},
              "severity": 2, "code": "FAL201", "source": "fastapi-arch-lint", "message": "..."}
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": fal201["range"], "context": {"diagnostics": [fal201]}})
    fix = next(a for a in actions if a["title"].startswith("Fix FAL201"))
    assert fix["kind"] == "quickfix" and "unsafe" in fix["title"] and not fix.get("isPreferred")
    [edit] = fix["edit"]["changes"][uri]
    assert edit["range"]["start"] == {"line": 49, "character": 0}
    assert "status_code=" in edit["newText"] and '"/invoices/{invoice_id}/payments"' in edit["newText"]
    # the noqa action is still offered after it
    assert any(a["title"] == "Suppress FAL201 on this line" for a in actions)


def test_a_change_that_fixes_a_finding_clears_it(client: Client, project: Path) -> None:
    path = project / BILLING
    uri = open_billing(client, project)
    # line 50 (index 49): give the creating POST its 201, in the editor only
    old = '@router.post("/invoices/{invoice_id}/payments", response_model=InvoiceRead)'
    new = '@router.post("/invoices/{invoice_id}/payments", response_model=InvoiceRead, status_code=201)'
    assert path.read_text().splitlines()[49] == old
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": uri, "version": 2},
        "contentChanges": [{"range": {"start": {"line": 49, "character": 0}, "end": {"line": 49, "character": len(old)}},
                            "text": new}]})
    diags = client.diagnostics(uri, lambda ds: "FAL201" not in codes_at(ds, 50))
    assert "FAL401" in codes_at(diags, 36)  # the rest is still there
    assert not path.read_text().splitlines()[49].endswith("status_code=201)")  # nothing written to disk


def test_a_file_that_does_not_parse_gets_its_own_diagnostic(client: Client, project: Path) -> None:
    broken = project / "app" / "routers" / "broken.py"
    broken.write_text("def oops(:\n    pass\n")
    uri = broken.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": broken.read_text()}})
    diags = client.diagnostics(uri, lambda ds: bool(ds))
    assert len(diags) == 1 and diags[0]["message"].startswith("not analyzed: syntax error at line 1"), diags
    assert diags[0]["range"]["start"]["line"] == 0 and diags[0]["severity"] == 1
    # mended in the editor: its diagnostic is cleared
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": "def oops():\n    pass\n"}]})
    assert client.diagnostics(uri, lambda ds: not ds) == []
    broken.unlink()
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def test_save_republishes(client: Client, project: Path) -> None:
    path = project / BILLING
    uri = path.as_uri()
    text = path.read_text().replace('response_model=InvoiceRead)\ndef record_payment',
                                    'response_model=InvoiceRead, status_code=201)\ndef record_payment')
    path.write_text(text)
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    diags = client.diagnostics(uri, lambda ds: bool(ds))
    assert "FAL201" not in codes_at(diags, 50) and "FAL401" in codes_at(diags, 36)


def test_a_file_changed_outside_the_editor_is_analyzed_again(client: Client, project: Path) -> None:
    # the server asked to be told about files changed on disk (the test client answered yes)
    registered = [m for m in client.requests_seen if m["method"] == "client/registerCapability"]
    assert registered and registered[0]["params"]["registrations"][0]["method"] == "workspace/didChangeWatchedFiles"
    dashboard = project / "app/routers/dashboard.py"
    uri = dashboard.as_uri()
    before = dashboard.read_text()
    dashboard.write_text(before + "\n\n@router.get('/get-stats')\ndef stats() -> dict[str, int]:\n    return {}\n")
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": uri, "type": 2}]})
    diags = client.diagnostics(uri, lambda ds: any(d.get("code") == "FAL101" for d in ds))
    assert any("get-stats" in d["message"] for d in diags if d.get("code") == "FAL101")
    dashboard.write_text(before)
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": uri, "type": 2}]})
    client.diagnostics(uri, lambda ds: not any(d.get("code") == "FAL101" for d in ds))


def test_code_action_adds_noqa(client: Client, project: Path) -> None:
    uri = (project / BILLING).as_uri()
    line = '@router.post("/invoices", response_model=InvoiceRead, status_code=status.HTTP_201_CREATED)'
    diagnostic = {"range": {"start": {"line": 35, "character": 0}, "end": {"line": 35, "character": len(line)}},
                  "severity": 1, "code": "FAL401", "source": "fastapi-arch-lint", "message": "..."}
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}})
    noqa = next(a for a in actions if a["title"] == "Suppress FAL401 on this line")
    assert noqa["kind"] == "quickfix"
    assert noqa["edit"]["changes"][uri] == [{
        "range": {"start": {"line": 35, "character": len(line)}, "end": {"line": 35, "character": len(line)}},
        "newText": "  # noqa: FAL401"}]


def test_hover_on_a_route_decorator(client: Client, project: Path) -> None:
    uri = (project / "app/routers/clients.py").as_uri()
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 11, "character": 3}})
    text = hover["contents"]["value"]
    assert "**GET /clients**" in text
    # the auth as `inspect` prints it, each way's chain, the include chain
    assert "auth: `scheme OAuth2PasswordBearer [include: get_current_user > oauth2_scheme]`" in text
    assert "- scheme: `OAuth2PasswordBearer via get_current_user -> oauth2_scheme (include)` (app/security.py:11)" in text
    assert "include chain: `app.include_router(clients.router) at app/main.py:22`" in text
    # an unauthenticated one says so; a line that registers nothing has no hover
    billing = (project / BILLING).as_uri()
    hover = client.request("textDocument/hover", {"textDocument": {"uri": billing}, "position": {"line": 35, "character": 1}})
    assert "**POST /billing/invoices**" in hover["contents"]["value"]
    assert "auth: `none`" in hover["contents"]["value"]
    assert client.request("textDocument/hover", {"textDocument": {"uri": billing},
                                                 "position": {"line": 0, "character": 0}}) is None


def test_a_configuration_error_is_shown_and_the_defaults_used(client: Client, project: Path) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text('[tool.fastapi-arch-lint]\nselect = "FAL4"\n')
    client.notify("textDocument/didSave", {"textDocument": {"uri": pyproject.as_uri()}})
    deadline = time.monotonic() + WAIT
    while True:
        message = client.notifications.get(timeout=max(deadline - time.monotonic(), 0.01))
        if message["method"] == "window/showMessage":
            break
    assert message["params"]["type"] == 1
    assert "fastapi-arch-lint:" in message["params"]["message"] and "select" in message["params"]["message"]
    assert "using the default configuration" in message["params"]["message"]
    pyproject.write_text('[tool.fastapi-arch-lint]\nselect = ["FAL4"]\n')  # mended: only FAL4xx now
    client.notify("textDocument/didSave", {"textDocument": {"uri": pyproject.as_uri()}})
    diags = client.diagnostics((project / BILLING).as_uri(), lambda ds: all(d.get("code", "").startswith("FAL4") for d in ds))
    assert "FAL401" in codes_at(diags, 36)
    pyproject.unlink()


def test_shutdown_and_exit(client: Client) -> None:
    assert client.request("shutdown", None) is None
    client.notify("exit", None)
    assert client.proc.wait(timeout=WAIT) == 0


# -- the pieces, in this process ---------------------------------------------------------------


def _diag(line: int, code: str) -> Any:
    from lsprotocol import types

    return types.Diagnostic(range=types.Range(start=types.Position(line=line, character=0),
                                              end=types.Position(line=line, character=1)),
                            message="m", code=code, source="fastapi-arch-lint")


def _noqa(lines: list[str], line: int, code: str) -> tuple[tuple[int, int], str] | None:
    from pygls.workspace.position_codec import PositionCodec

    from fastapi_arch_lint.server import noqa_action

    action = noqa_action("file:///x.py", lines, _diag(line, code), PositionCodec())
    if action is None:
        return None
    (edit,) = action.edit.changes["file:///x.py"]
    assert edit.range.start.line == edit.range.end.line == line
    return (edit.range.start.character, edit.range.end.character), edit.new_text


def test_noqa_action_appends_merges_and_declines() -> None:
    lines = ['@router.get("/a")\n', '@router.get("/b")  # noqa: FAL101\n', "x = 1  # noqa\n",
             'q = """\n', 'text"""\n', "y = '\U0001F600'  \n"]
    assert _noqa(lines, 0, "FAL401") == ((17, 17), "  # noqa: FAL401")
    assert _noqa(lines, 1, "FAL401") == ((27, 33), "FAL101, FAL401")  # merged into the codes there
    assert _noqa(lines, 1, "FAL101") is None  # already suppressed
    assert _noqa(lines, 2, "FAL401") is None  # a bare noqa suppresses everything
    assert _noqa(lines, 3, "FAL401") is None  # the line ends inside a string: a comment would be text
    # trailing blanks replaced; columns in UTF-16 units (the emoji is two)
    assert _noqa(lines, 5, "FAL401") == ((8, 10), "  # noqa: FAL401")


def test_debouncer_runs_once_after_the_last_request_and_marks_stale_runs() -> None:
    from fastapi_arch_lint.server import Debouncer

    runs: list[int] = []
    started, release = threading.Event(), threading.Event()

    def work(generation: int) -> None:
        runs.append(generation)
        started.set()
        release.wait(WAIT)

    d = Debouncer(work)
    try:
        for _ in range(3):  # a burst of changes: one run, for the last
            d.request(0.2)
        assert started.wait(WAIT)
        assert runs == [3]
        started.clear()
        d.request(0.0)  # a change while the run is under way makes it stale
        assert d.stale(3) and not d.stale(4)
        release.set()
        assert started.wait(WAIT)
        assert runs == [3, 4]
    finally:
        release.set()
        d.close()


def test_an_analysis_that_fails_is_logged_to_the_client_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from fastapi_arch_lint import engine
    from fastapi_arch_lint.server import build

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    class Writer:
        def __init__(self) -> None:
            self.data: list[bytes] = []

        def write(self, data: bytes) -> None:
            self.data.append(data)

    monkeypatch.setattr(engine, "review", boom)
    server = build()
    writer = Writer()
    server.protocol.set_writer(writer)
    loop = asyncio.new_event_loop()
    try:
        server.root, server.loop = tmp_path, loop
        server._analyze(1)  # what the worker thread runs
        loop.run_until_complete(asyncio.sleep(0.05))
    finally:
        loop.close()
    sent = b"".join(writer.data).decode()
    assert '"method": "window/logMessage"' in sent and "analysis failed: RuntimeError: boom" in sent
    assert "publishDiagnostics" not in sent  # what was shown stays


def test_the_readmes_editor_snippets_start_this_server() -> None:
    import re

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Editor integration", 1)[1].split("\n## ", 1)[0]
    blocks = dict.fromkeys(("json", "lua", "toml"), "")
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", section, re.S):
        blocks[lang] += body
    vscode = json.loads(blocks["json"])
    assert (vscode["glspc.server.command"], vscode["glspc.server.commandArguments"]) == ("fastapi-arch-lint", ["server"])
    helix = tomllib.loads(blocks["toml"])
    assert helix["language-server"]["fastapi-arch-lint"] == {"command": "fastapi-arch-lint", "args": ["server"]}
    assert "fastapi-arch-lint" in helix["language"][0]["language-servers"]
    assert blocks["lua"].count('cmd = { "fastapi-arch-lint", "server" }') == 2


@pytest.mark.parametrize("jobs", [1, 2])
def test_facts_of_unchanged_files_are_kept_decoded_between_runs(tmp_path: Path, jobs: int,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's facts cache answers an unchanged file from memory: the second run decodes nothing
    (the engine fetches every entry before it decodes any, so the memory must answer both steps)."""
    from fastapi_arch_lint import cache as cache_module
    from fastapi_arch_lint import engine
    from fastapi_arch_lint.server import _Remembered

    target = Path(__file__).parent / "fixtures" / "factory_app"
    memory: dict[tuple[str, str], Any] = {}
    cold = engine.analyze([target], base=target, jobs=jobs, cache=_Remembered(tmp_path / "c", max_bytes=1_000_000,
                                                                              memory=memory))
    first = _Remembered(tmp_path / "c", max_bytes=1_000_000, memory=memory)  # read from the database once
    engine.analyze([target], base=target, jobs=jobs, cache=first)
    assert memory and len(memory) == len(first.used)

    def no_decoding(*args: object) -> None:
        raise AssertionError("an unchanged file's facts are decoded again")

    monkeypatch.setattr(cache_module, "decode_entry", no_decoding)
    second = _Remembered(tmp_path / "c", max_bytes=1_000_000, memory=memory)
    again = engine.analyze([target], base=target, jobs=jobs, cache=second)
    assert again.model == cold.model and second.used == set(memory)
