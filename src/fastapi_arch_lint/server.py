"""``fastapi-arch-lint server``: a language server over stdio (pygls).

The editor's view of ``review``: diagnostics for every file of the project, a code action that
adds ``# noqa: CODE``, and a hover on a route decorator that shows the route as the model sees it.

Threads. pygls answers the editor on its asyncio loop (the main thread); every analysis runs in
one worker thread of ours, so a request (hover, code action, a change) is never blocked by a
review of a large project. A change (open, edit, save) asks for an analysis ``DEBOUNCE`` seconds
later; a newer change postpones it, and a run that a newer change makes stale is not published
(the next run is). The worker hands its results to the loop (``call_soon_threadsafe``), which
publishes them and keeps the model the hovers read: only the loop thread ever writes to the client.

What is reused: ``engine.review`` with the open documents' text (``unsaved``) in place of the
files on disk, and the facts cache (``.fastapi_arch_lint_cache``), so after the first run only the
edited files are parsed; the configuration is ``review``'s (``[tool.fastapi-arch-lint]``: select,
ignore, noqa, per-file-ignores, min-confidence), read again on each run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path
from pygls.workspace.position_codec import PositionCodec

from fastapi_arch_lint import __version__
from fastapi_arch_lint.cache import FactCache
from fastapi_arch_lint.findings import Diagnostic, Finding, Severity

if TYPE_CHECKING:
    from fastapi_arch_lint.config import Config
    from fastapi_arch_lint.model.app import AppModel, Route

SOURCE = "fastapi-arch-lint"
DEBOUNCE = 0.3  # seconds after the last change before the project is analyzed again

log = logging.getLogger(__name__)

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}

# as extract/parse.py reads them: "# noqa", "# noqa: FAL101", "# noqa: FAL101, FAL102"
_NOQA_RE = re.compile(r"#\s*noqa(?::[\s]*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?", re.IGNORECASE)
_WHERE_RE = re.compile(r"line (\d+), column (\d+)")


def uri_to_path(uri: str) -> Path | None:
    """The file a ``file:`` URI names (absolute, not resolved), or None for another scheme."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if os.name == "nt" and re.match(r"^/[A-Za-z]:", path):  # pragma: no cover
        path = path[1:]
    return Path(os.path.abspath(path))


@dataclass(slots=True)
class Outcome:
    """One analysis: the diagnostics of each file (by absolute path), the model for hovers, the
    findings by file for code actions, and messages for the client's log."""

    diagnostics: dict[Path, list[types.Diagnostic]] = field(default_factory=dict)
    findings: dict[Path, list[Finding]] = field(default_factory=dict)
    model: AppModel | None = None
    logs: list[tuple[types.MessageType, str]] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)  # also shown to the user (window/showMessage)
    notes: list[str] = field(default_factory=list)  # about the model: logged when they change
    seconds: float = 0.0


class Debouncer:
    """Runs ``work(generation)`` in one worker thread, ``delay`` seconds after the last ``request``.

    A request while the delay runs postpones the run; a request while a run is under way makes
    it stale (``stale(generation)``) and queues the next run."""

    def __init__(self, work: Callable[[int], None]) -> None:
        self._work = work
        self._cond = threading.Condition()
        self._due: float | None = None
        self._generation = 0
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="fastapi-arch-lint analysis", daemon=True)
        self._thread.start()

    def request(self, delay: float) -> None:
        with self._cond:
            self._generation += 1
            self._due = time.monotonic() + delay
            self._cond.notify()

    def stale(self, generation: int) -> bool:
        with self._cond:
            return generation != self._generation

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._due is not None:
                        left = self._due - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                    else:
                        self._cond.wait()
                if self._closed:
                    return
                self._due = None
                generation = self._generation
            try:
                self._work(generation)
            except Exception:  # pragma: no cover - ``work`` reports its own failures; the thread must live on
                log.exception("analysis %d failed", generation)


class ArchLintServer(LanguageServer):
    def __init__(self, *, no_cache: bool = False, cache_dir: str | None = None, jobs: int | None = None) -> None:
        super().__init__(SOURCE, __version__)
        self.no_cache = no_cache
        self.cache_dir = cache_dir
        self.jobs = jobs
        self.root: Path | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.shut_down = False
        self.model: AppModel | None = None
        self.findings: dict[Path, list[Finding]] = {}
        self.published: set[Path] = set()
        self.runs = 0
        # open documents: absolute path -> (uri, version, text), written on the loop, copied by the worker
        self._open: dict[Path, tuple[str, int | None, str]] = {}
        self._lock = threading.Lock()
        self._config_problem: str | None = None
        self._facts: dict[tuple[str, str], Any] = {}  # the last run's cache entries, decoded (_Remembered)
        self.debouncer: Debouncer | None = None
        self._notes: list[str] = []  # the last notes about the model that were logged

    # -- the project -------------------------------------------------------------------------

    def start(self, params: types.InitializeParams) -> None:
        """Find the project root: the first workspace folder (else the root URI, else the current
        folder), or the folder of the ``[tool.fastapi-arch-lint]`` pyproject.toml above it."""
        from fastapi_arch_lint.config import ConfigError, find_pyproject

        folder: Path | None = None
        for candidate in [*(f.uri for f in params.workspace_folders or []), params.root_uri or ""]:
            if candidate and (folder := uri_to_path(candidate)) is not None:
                break
        if folder is None and params.root_path:
            folder = Path(os.path.abspath(params.root_path))
        folder = folder or Path.cwd()
        try:
            found = find_pyproject(folder)
        except ConfigError:  # pragma: no cover - find_pyproject reports problems on load
            found = None
        self.root = found.parent if found is not None else folder
        # paths in findings are shown relative to the working directory: the project root here
        os.chdir(self.root)
        self.loop = asyncio.get_running_loop()
        self.debouncer = Debouncer(self._analyze)

    def config(self, outcome: Outcome) -> Config:
        from fastapi_arch_lint.config import Config, ConfigError, load_config

        assert self.root is not None
        try:
            config = load_config(start=self.root)
            self._config_problem = None
            return config
        except ConfigError as exc:  # the editor keeps working on the defaults; said once per problem
            if str(exc) != self._config_problem:
                self._config_problem = str(exc)
                outcome.logs.append((types.MessageType.Error, f"configuration: {exc}; using the defaults"))
                outcome.shown.append(f"fastapi-arch-lint: {exc}; using the default configuration")
            return Config(root=self.root)

    def changed(self, uri: str, version: int | None, text: str | None, delay: float = DEBOUNCE) -> None:
        """An open document's text changed (or closed, ``text`` None): analyze again soon."""
        path = uri_to_path(uri)
        if path is None or (path.suffix not in (".py", ".pyi") and path.name != "pyproject.toml"):
            return  # nothing the analysis reads (a pyproject.toml may change the configuration)
        if path.suffix in (".py", ".pyi"):
            with self._lock:
                if text is None:
                    self._open.pop(path, None)
                else:
                    self._open[path] = (uri, version, text)
        if self.debouncer is not None:
            self.debouncer.request(delay)

    # -- the worker ---------------------------------------------------------------------------

    def _analyze(self, generation: int) -> None:
        started = time.perf_counter()
        with self._lock:
            documents = dict(self._open)
        outcome = Outcome()
        from fastapi_arch_lint.engine import Cancelled

        try:
            self._review(documents, outcome, generation)
        except Cancelled:  # a newer change came while linking: the next run publishes
            if outcome.logs or outcome.shown:
                self._post(outcome, keep_previous=True, stale=True)
            return
        except Exception as exc:  # a bug: logged to the client, the server goes on
            import traceback

            outcome.logs.append((types.MessageType.Error,
                                 f"analysis failed: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
            outcome.diagnostics = {}
            outcome.model = None
            stale = self.debouncer is not None and self.debouncer.stale(generation)
            self._post(outcome, keep_previous=True, stale=stale)
            return
        outcome.seconds = time.perf_counter() - started
        stale = self.debouncer is not None and self.debouncer.stale(generation)
        self._post(outcome, keep_previous=False, stale=stale)

    def _post(self, outcome: Outcome, *, keep_previous: bool, stale: bool) -> None:
        if self.loop is None or self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(self._publish, outcome, keep_previous, stale)
        except RuntimeError:  # pragma: no cover - the loop closed meanwhile (exit)
            pass

    def _review(self, documents: Mapping[Path, tuple[str, int | None, str]], outcome: Outcome,
                generation: int) -> None:
        from fastapi_arch_lint.cache import resolve_cache_dir
        from fastapi_arch_lint.engine import review

        assert self.root is not None
        config = self.config(outcome)
        where = resolve_cache_dir(no_cache=self.no_cache, cli_dir=self.cache_dir, config_dir=config.cache_dir,
                                  root=Path(config.root) if config.path is not None else self.root)
        cache = _Remembered(where, max_bytes=config.max_file_bytes, memory=self._facts) if where is not None else None
        unsaved: dict[Path, bytes] = {}
        for path, (_, _, text) in documents.items():
            data = text.encode("utf-8", "surrogatepass")
            unsaved[path] = data
            unsaved[path.resolve()] = data  # discovery may have the path through a symlink or not
        debouncer = self.debouncer
        result = review([self.root], config, jobs=self.jobs, cache=cache, unsaved=unsaved,
                        cancelled=(lambda: debouncer.stale(generation)) if debouncer is not None else None)
        if cache is not None:
            cache.forget_unused()
        if cache is not None and cache.problem:
            outcome.logs.append((types.MessageType.Warning, f"facts not cached: {cache.problem}"))
        findings = [f for f in result.findings if f.confidence.rank >= config.min_confidence.rank]
        outcome.model = result.analysis.model
        texts = {path: text for path, (_, _, text) in documents.items()}
        lines = _Lines(texts)
        for f in findings:
            path = self.absolute(f.path)
            outcome.findings.setdefault(path, []).append(f)
            outcome.diagnostics.setdefault(path, []).append(self._diagnostic(f, lines))
        for d in result.diagnostics:
            self._problem(d, lines, outcome)

    def absolute(self, shown: str) -> Path:
        assert self.root is not None
        return Path(os.path.normpath(self.root / shown))

    def _position(self, lines: _Lines, path: Path, line: int, column: int) -> types.Position:
        """A 1-based line and column (code points) as the client's 0-based position."""
        text = lines.get(path)
        return self.workspace.position_codec.position_to_client_units(
            text, types.Position(line=max(line - 1, 0), character=max(column - 1, 0)))

    def _diagnostic(self, f: Finding, lines: _Lines) -> types.Diagnostic:
        path = self.absolute(f.path)
        start = self._position(lines, path, f.line, f.column)
        if (f.end_line, f.end_column) > (f.line, f.column):
            end = self._position(lines, path, f.end_line, f.end_column)
        else:  # no extent: to the end of the line
            text = lines.get(path)
            length = len(text[f.line - 1]) if 0 < f.line <= len(text) else f.column
            end = self._position(lines, path, f.line, length + 1)
        related = [
            types.DiagnosticRelatedInformation(
                location=types.Location(uri=from_fs_path(str(self.absolute(r.path))) or r.path,
                                        range=types.Range(start=types.Position(line=max(r.line - 1, 0), character=0),
                                                          end=types.Position(line=max(r.line - 1, 0), character=0))),
                message=r.message)
            for r in f.related if not r.path.startswith("<")
        ]
        message = f"{f.message}\nhelp: {f.help}" if f.help else f.message
        return types.Diagnostic(
            range=types.Range(start=start, end=end), message=message, severity=_SEVERITY[f.severity],
            code=f.rule, source=SOURCE, related_information=related or None,
            data={"rule": f.rule, "name": f.name, "confidence": f.confidence.value},
        )

    def _problem(self, d: Diagnostic, lines: _Lines, outcome: Outcome) -> None:
        """A file that could not be analyzed gets a diagnostic of its own; notes and internal
        errors go to the client's log."""
        if d.is_note:
            outcome.notes.append(d.message)
            return
        if d.path.startswith("<"):
            outcome.logs.append((types.MessageType.Error, d.message))
            return
        path = self.absolute(d.path)
        m = _WHERE_RE.search(d.message)
        line, column = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        start = self._position(lines, path, line, column)
        end = self._position(lines, path, line, column + 1)
        outcome.diagnostics.setdefault(path, []).append(types.Diagnostic(
            range=types.Range(start=start, end=end), message=f"not analyzed: {d.message}",
            severity=types.DiagnosticSeverity.Error, source=SOURCE))

    # -- on the loop --------------------------------------------------------------------------

    def _publish(self, outcome: Outcome, keep_previous: bool, stale: bool) -> None:
        for kind, message in outcome.logs:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))
        for message in outcome.shown:
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=message))
        if outcome.notes and outcome.notes != self._notes and not (keep_previous or stale):
            for message in outcome.notes:
                self.window_log_message(types.LogMessageParams(type=types.MessageType.Info, message=message))
            self._notes = outcome.notes
        if keep_previous or stale:  # a newer run is coming, or this one failed: keep what is shown
            return
        self.runs += 1
        self.model = outcome.model
        self.findings = outcome.findings
        with self._lock:
            versions = {path: version for path, (_, version, _) in self._open.items()}
        for path in sorted(self.published - outcome.diagnostics.keys()):
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=from_fs_path(str(path)) or "",
                                                                                  diagnostics=[]))
        for path, diagnostics in sorted(outcome.diagnostics.items()):
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                uri=from_fs_path(str(path)) or "", diagnostics=diagnostics, version=versions.get(path)))
        self.published = set(outcome.diagnostics)
        self.window_log_message(types.LogMessageParams(
            type=types.MessageType.Log,
            message=f"analysis {self.runs}: {sum(map(len, outcome.diagnostics.values()))} diagnostics "
                    f"in {len(outcome.diagnostics)} files, {outcome.seconds:.2f} s"))

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        doc = self.workspace.get_text_document(params.text_document.uri)
        try:
            lines = doc.lines
        except OSError:
            return []
        actions: list[types.CodeAction] = []
        path = uri_to_path(params.text_document.uri)
        for d in params.context.diagnostics:
            if d.source != SOURCE or not isinstance(d.code, str):
                continue
            finding = self._finding_at(path, d)
            if finding is not None:
                actions.extend(fix_actions(finding, doc.uri, lines, d))
            action = noqa_action(doc.uri, lines, d, self.workspace.position_codec)
            if action is not None:
                actions.append(action)
        return actions

    def _finding_at(self, path: Path | None, d: types.Diagnostic) -> Finding | None:
        for f in self.findings.get(path, []) if path is not None else []:
            if f.rule == d.code and f.line - 1 == d.range.start.line:
                return f
        return None

    def hover(self, params: types.HoverParams) -> types.Hover | None:
        path = uri_to_path(params.text_document.uri)
        if path is None or self.model is None or self.root is None:
            return None
        from fastapi_arch_lint.discovery import display_path

        shown = display_path(path, self.root)
        routes = routes_at(self.model, shown, params.position.line + 1)
        if not routes:
            return None
        from fastapi_arch_lint.model.unresolved import auth_uncertain_routes

        unknown = {id(r) for r in auth_uncertain_routes(self.model)}
        text = "\n\n---\n\n".join(hover_text(r, id(r) in unknown) for r in routes)
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))


class _Remembered(FactCache):
    """The facts cache with the entries of the last run kept decoded in memory: an unchanged
    file's facts are neither read from the database nor unpickled again (1.9 s of a 10 s
    re-analysis of a 400k-line project). Keyed by content and path, as the database answers."""

    def __init__(self, directory: Path, *, max_bytes: int, memory: dict[tuple[str, str], Any]) -> None:
        super().__init__(directory, max_bytes=max_bytes)
        self.memory = memory
        self.used: set[tuple[str, str]] = set()

    def fetch(self, key: str, display: str) -> Any:
        hit = self.memory.get((key, display))
        return _Decoded(hit) if hit is not None else super().fetch(key, display)

    def decode(self, entry: Any, key: str, display: str) -> Any:
        if isinstance(entry, _Decoded):
            hit = entry.facts
        else:
            hit = super().decode(entry, key, display)
            if hit is None:
                return None
            self.memory[(key, display)] = hit
        self.used.add((key, display))
        return hit

    def forget_unused(self) -> None:
        """Keep only this run's entries (an edited file's earlier versions go)."""
        for entry in self.memory.keys() - self.used:
            del self.memory[entry]


class _Decoded:
    """An entry ``_Remembered.fetch`` found in memory: its facts, decoded in an earlier run."""

    __slots__ = ("facts",)

    def __init__(self, facts: Any) -> None:
        self.facts = facts


class _Lines:
    """The lines of a file as the editor has it (open documents) or as it is on disk."""

    def __init__(self, open_texts: Mapping[Path, str]) -> None:
        self._texts = dict(open_texts)
        self._lines: dict[Path, list[str]] = {}

    def get(self, path: Path) -> list[str]:
        if path not in self._lines:
            text = self._texts.get(path)
            if text is None:
                try:
                    text = path.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    text = ""
            self._lines[path] = text.splitlines(keepends=True)
        return self._lines[path]


# -- code actions -------------------------------------------------------------------------------


def fix_actions(finding: Finding, uri: str, lines: Sequence[str], diagnostic: types.Diagnostic
                ) -> list[types.CodeAction]:
    """The finding's fix (``review --fix``'s) as a quick fix on the document's current text: the lines it
    replaces; an unsafe fix (one that changes behaviour) says so and is not the preferred action. None when
    the fix does not apply to the text as it is now (edited since the analysis)."""
    if finding.fix is None:
        return []
    from fastapi_arch_lint.engine import fix_text

    replaced = fix_text("".join(lines), finding)
    if not replaced:
        return []
    edits = [types.TextEdit(range=types.Range(start=types.Position(line=start - 1, character=0),
                                              end=types.Position(line=end, character=0)), new_text=text)
             for start, end, text in replaced]
    title = f"Fix {finding.rule}: {finding.fix.description}" + ("" if finding.fix.safe else " (unsafe: changes behaviour)")
    return [types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                             edit=types.WorkspaceEdit(changes={uri: edits}), is_preferred=finding.fix.safe)]


def noqa_action(uri: str, lines: Sequence[str], d: types.Diagnostic, codec: PositionCodec
                ) -> types.CodeAction | None:
    """"Suppress CODE on this line": ``# noqa: CODE`` at the end of the diagnostic's first line,
    merged into a ``# noqa: X`` already there; None when the line cannot carry a comment (it ends
    inside a string) or already suppresses the rule."""
    code = str(d.code)
    index = d.range.start.line
    if index >= len(lines) or index in _string_lines(lines):
        return None
    line = lines[index]
    body = line.rstrip("\r\n")
    m = _NOQA_RE.search(body)
    if m is not None:
        if m.group("codes") is None:  # a bare noqa suppresses everything already
            return None
        codes = [c for c in re.split(r"[\s,]+", m.group("codes")) if c]
        if code.upper() in (c.upper() for c in codes):
            return None
        start, end = m.span("codes")
        new_text, at, until = ", ".join([*codes, code]), start, end
    else:
        stripped = body.rstrip()
        new_text, at, until = f"{'  ' if stripped.strip() else ''}# noqa: {code}", len(stripped), len(body)
    # positions in the client's units: this line's text before the edit
    start_pos = codec.position_to_client_units(lines, types.Position(line=index, character=at))
    end_pos = codec.position_to_client_units(lines, types.Position(line=index, character=until))
    edit = types.TextEdit(range=types.Range(start=start_pos, end=end_pos), new_text=new_text)
    return types.CodeAction(
        title=f"Suppress {code} on this line", kind=types.CodeActionKind.QuickFix, diagnostics=[d],
        edit=types.WorkspaceEdit(changes={uri: [edit]}),
    )


def _string_lines(lines: Sequence[str]) -> set[int]:
    """0-based lines whose end lies inside a string that spans lines (a comment there would be text)."""
    import io
    import tokenize

    inside: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO("".join(lines)).readline):
            if tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
                inside.update(range(tok.start[0] - 1, tok.end[0] - 1))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return inside


# -- hover --------------------------------------------------------------------------------------


def routes_at(model: AppModel, shown: str, line: int) -> list[Route]:
    """The routes a line registers: a decorator (any of its lines, down to the handler's ``def``,
    the nearest decorator above when a handler has several), an ``add_api_route`` call, or the
    handler's ``def`` line (every route of the handler)."""
    here = [r for r in model.routes if r.registered.path == shown]
    on_def = [r for r in here if r.handler.path == shown and r.handler.line == line]
    if on_def:
        return on_def
    above = [r for r in here if r.registered.line <= line
             and (r.registered.line == line or (r.handler.path == shown and line < r.handler.line))]
    if not above:
        return []
    nearest = max(r.registered.line for r in above)
    return [r for r in above if r.registered.line == nearest]


def hover_text(r: Route, auth_unknown: bool = False) -> str:
    """Markdown: the full path and method, the effective auth as ``inspect`` prints it with each
    way's chain (``auth_unknown``: none is seen, but something unresolved above the route may add
    some), and the include chain."""
    from fastapi_arch_lint.report.inspect import UNKNOWN_AUTH, auth_text

    lines = [f"**{r.display()}**  `{r.handler.qualname}`"]
    extra = []
    if r.status_code is not None and r.kind == "http":
        extra.append(f"status {r.status_code}")
    if r.response_model:
        extra.append(f"response model `{r.response_model}`")
    if r.path_unresolved:
        extra.append("a prefix or the path is unresolved")
    if r.conditional:
        extra.append(f"only if `{r.conditional}`")
    if extra:
        lines.append("; ".join(extra))
    # code spans: names such as get_current_user are not Markdown
    if r.auth.via:
        lines.append(f"auth: `{auth_text(r)}`")
    elif auth_unknown:
        lines.append(f"auth: `unknown` ({UNKNOWN_AUTH.split(': ', 1)[1]})")
    else:
        lines.append("auth: `none` (no authentication reaches this route)")
    for v in r.auth.via:
        where = f" ({v.path}:{v.line})" if v.path else ""
        lines.append(f"- {v.kind}: `{v.describe()}`{where}")
    if r.privileged:
        lines.append(f"privileged only: {r.privileged}")
    lines.append(f"include chain: `{include_chain_text(r)}`")
    return "  \n".join(lines)


def include_chain_text(r: Route) -> str:
    if not r.include_chain:
        return f"registered directly on the app `{r.app}`"
    steps = [f"{s.parent}.include_router({s.child}{', prefix=' + repr(s.prefix) if s.prefix else ''}) "
             f"at {s.path}:{s.line}{f' (if {s.condition})' if s.condition else ''}"
             for s in r.include_chain]
    return " -> ".join(steps)


# -- wiring -------------------------------------------------------------------------------------


def build(**options: Any) -> ArchLintServer:
    server = ArchLintServer(**options)

    @server.feature(types.INITIALIZE)
    def initialize(ls: ArchLintServer, params: types.InitializeParams) -> None:
        ls.start(params)

    @server.feature(types.INITIALIZED)
    def initialized(ls: ArchLintServer, params: types.InitializedParams) -> None:
        if ls.debouncer is not None:
            ls.debouncer.request(0)  # the whole project, once, right away
        watched = ls.client_capabilities.workspace and ls.client_capabilities.workspace.did_change_watched_files
        if watched and watched.dynamic_registration:  # files changed outside the editor (a checkout, a pull)
            ls.client_register_capability(types.RegistrationParams(registrations=[types.Registration(
                id="fastapi-arch-lint-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[
                    types.FileSystemWatcher(glob_pattern="**/*.py"), types.FileSystemWatcher(glob_pattern="**/*.pyi"),
                    types.FileSystemWatcher(glob_pattern="**/pyproject.toml")]))]))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def files_changed(ls: ArchLintServer, params: types.DidChangeWatchedFilesParams) -> None:
        if ls.debouncer is not None:
            ls.debouncer.request(DEBOUNCE)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ArchLintServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        ls.changed(doc.uri, doc.version, doc.text)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ArchLintServer, params: types.DidChangeTextDocumentParams) -> None:
        doc = ls.workspace.get_text_document(params.text_document.uri)  # pygls has applied the changes
        ls.changed(doc.uri, params.text_document.version, doc.source)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: ArchLintServer, params: types.DidSaveTextDocumentParams) -> None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        ls.changed(doc.uri, doc.version, doc.source, delay=0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ArchLintServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.changed(params.text_document.uri, None, None)  # the file on disk is what counts again

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    def code_action(ls: ArchLintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return ls.code_actions(params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: ArchLintServer, params: types.HoverParams) -> types.Hover | None:
        return ls.hover(params)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: ArchLintServer, params: None) -> None:
        ls.shut_down = True
        if ls.debouncer is not None:
            ls.debouncer.close()

    return server


def serve(*, no_cache: bool = False, cache_dir: str | None = None, jobs: int | None = None) -> int:
    """Serve on stdin/stdout until the client says exit; the exit code: 0 after a shutdown request,
    else 1 (as the protocol asks)."""
    from fastapi_arch_lint.engine import collected_after_each_run

    collected_after_each_run()  # a long-lived process: each run's model is freed by the next
    server = build(no_cache=no_cache, cache_dir=cache_dir, jobs=jobs)
    server.start_io()
    if sys.stdout is not None and sys.stdout.closed:  # pygls closes it on exit: nothing left to flush
        sys.stdout = None  # type: ignore[assignment]
    return 0 if server.shut_down else 1
