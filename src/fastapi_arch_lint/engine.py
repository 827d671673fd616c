"""The pipeline: discover -> extract (per file) -> name modules -> link -> rules -> suppress -> sort."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi_arch_lint.cache import FactCache, decode_entry, encode_entry
from fastapi_arch_lint.config import Config
from fastapi_arch_lint.discovery import Discovered, SourceFile, assign_module_names, discover, package_root
from fastapi_arch_lint.extract.source import DEFAULT_MAX_FILE_BYTES, Extracted, digest, read_source
from fastapi_arch_lint.findings import Diagnostic, Finding
from fastapi_arch_lint.rule import select_rules
from fastapi_arch_lint.runner import run_rules
from fastapi_arch_lint.suppress import apply_noqa, apply_per_file_ignores

if TYPE_CHECKING:  # the model is imported where it is built: not by a run answered from the cache
    from fastapi_arch_lint.model.app import AppModel
    from fastapi_arch_lint.model.facts import ModuleFacts


@dataclass(slots=True)
class Analysis:
    model: AppModel | None  # None only for a review answered from the results cache
    files: list[SourceFile]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    facts: list[ModuleFacts] = field(default_factory=list)


def extract_source(source: bytes, display: str, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Extracted:
    """``extract.parse.extract_source``, imported on first use: a run answered from the
    cache never loads LibCST."""
    from fastapi_arch_lint.extract.parse import extract_source as extract

    return extract(source, display, max_bytes=max_bytes)


def _worker_start() -> None:
    """Pool worker set-up: the collector back on (a forked worker inherits the parent's
    paused one) and LibCST's constructors without validation for the worker's life."""
    import gc

    from fastapi_arch_lint.extract.unvalidated import for_this_process

    gc.enable()
    for_this_process()


def _extract_one(args: tuple[bytes, str, int, str]) -> bytes:
    """Worker: the facts (or diagnostic) of one file's bytes, encoded as a cache entry.

    Returning the encoded entry (not the objects) keeps the parent's decoding on the fast
    path and makes a fresh result and a cached one come from the very same bytes.
    """
    source, display, max_bytes, key = args
    ex = extract_source(source, display, max_bytes=max_bytes)
    return encode_entry(key, ex.facts, ex.diagnostic)


CRASH_MESSAGE = "the parser crashed on this file (deeply nested or gigantic expression?): skipped"
DEFAULT_FILE_TIMEOUT = 30.0  # seconds; LibCST's parser is quadratic on very long operator chains


_TIMEOUT_PREFIX = "skipped: analysis took longer than"


def _timeout_message(timeout: float) -> str:
    return f"{_TIMEOUT_PREFIX} {timeout:g} s"


def _kill(ex) -> None:  # type: ignore[no-untyped-def]
    for proc in list(getattr(ex, "_processes", {}).values()):
        try:
            proc.kill()
        except Exception:  # pragma: no cover - already gone
            pass
    ex.shutdown(wait=False, cancel_futures=True)


def _isolated(args: tuple[bytes, str, int, str], timeout: float) -> bytes | Diagnostic:
    """Extract one file in a process of its own: a native crash or a hang becomes a diagnostic."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    ex = ProcessPoolExecutor(1, mp_context=_mp_context(), initializer=_worker_start)
    try:
        return ex.submit(_extract_one, args).result(timeout=timeout)
    except BrokenProcessPool:
        return Diagnostic(args[1], CRASH_MESSAGE)
    except FutureTimeout:
        _kill(ex)
        return Diagnostic(args[1], _timeout_message(timeout))
    except Exception as exc:  # a bug, not the file's fault: say so, go on
        return Diagnostic(args[1], f"internal error while analyzing this file: {type(exc).__name__}: {exc}")
    finally:
        ex.shutdown(wait=False, cancel_futures=True)


def _mp_context():  # type: ignore[no-untyped-def]
    """How workers start: forked from this process on Linux when it runs no other thread
    (about 0.4 s less per run than starting a fork server that imports LibCST again, and
    this process has already imported it); else from a fork server, else spawned. Forking
    while another thread runs can deadlock the child, so a host program with threads (a
    library caller) gets the fork server."""
    import multiprocessing
    import sys
    import threading

    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    # workers fork from a server that has already imported LibCST and the extractor
    ctx.set_forkserver_preload(["fastapi_arch_lint.engine", "fastapi_arch_lint.extract.parse"])
    return ctx


def jobs_for(jobs: int | None, config: Config) -> int:
    """The processes a run uses: ``--jobs``, else the configuration's ``jobs``, else the CPU count."""
    return (jobs if jobs is not None else config.jobs) or default_jobs()


def default_jobs() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _pool_round(work: Sequence[tuple[bytes, str, int, str]], todo: list[int], workers: int, timeout: float,
                out: dict[int, bytes | Diagnostic], meanwhile: Callable[[], None] | None = None) -> str:
    """Run ``todo`` in a fresh pool, filling ``out``; say how the round ended:
    "done", "crash" (a worker died) or "stall" (nothing finished for ``timeout`` s).
    ``meanwhile()`` runs here once the work is handed out, while the workers parse."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ex = ProcessPoolExecutor(workers, mp_context=_mp_context(), initializer=_worker_start)
    ended = "done"
    try:
        pending = {ex.submit(_extract_one, work[i]): i for i in todo}
        if meanwhile is not None:
            meanwhile()
        while pending:
            done, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:
                ended = "stall"
                break
            for fut in done:
                i = pending.pop(fut)
                try:
                    out[i] = fut.result()
                except BrokenProcessPool:
                    ended = "crash"
                except Exception as exc:  # a bug, not the file's fault
                    out[i] = Diagnostic(work[i][1], f"internal error while analyzing this file: {type(exc).__name__}: {exc}")
    finally:
        _kill(ex)
    return ended


def _run_pool(work: Sequence[tuple[bytes, str, int, str]], jobs: int, timeout: float,
              meanwhile: Callable[[], None] | None = None) -> dict[int, bytes | Diagnostic]:
    """Encoded results by index; a ``Diagnostic`` for a file that crashed or hung a worker.

    Work is dispatched in index order and every worker takes the next file in that order,
    so when a worker dies the files it was running are the first ``workers`` unfinished
    ones: those are retried one per process (the culprit becomes a diagnostic), the rest
    go to a fresh pool. On a stall (nothing finished for ``timeout`` seconds) the first
    ``workers`` unfinished files have each been running that long: they are reported.
    Every round settles at least one file, so this ends. ``meanwhile()`` runs once, while the
    first round's workers parse.
    """
    out: dict[int, bytes | Diagnostic] = {}
    workers = min(jobs, max(1, len(work) // 4))
    todo = list(range(len(work)))
    while todo:
        ended = _pool_round(work, todo, workers, timeout, out, meanwhile)
        meanwhile = None
        todo = [i for i in todo if i not in out]
        if not todo:
            break
        if ended == "stall":
            for i in todo[:workers]:
                out[i] = Diagnostic(work[i][1], _timeout_message(timeout))
        else:  # a crash (or a pool that could not start): settle the suspects one by one
            for i in todo[:workers]:
                out[i] = _isolated(work[i], timeout)
        todo = todo[workers:]
    return out


def _from_an_empty_folder(fn, *args):  # type: ignore[no-untyped-def]
    """``fn(*args)`` with an empty temporary folder as the working directory.

    The pool's helper interpreters (forkserver, resource tracker, spawned workers) start as
    ``python -c ...``, which puts the working directory first on ``sys.path`` before their
    first import: run from the analyzed project, its ``multiprocessing.py`` would be executed.
    Started from an empty folder, nothing of the project can be imported.
    """
    import os
    import tempfile

    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="fastapi-arch-lint-", ignore_cleanup_errors=True) as empty:
        os.chdir(empty)
        try:
            return fn(*args)
        finally:
            os.chdir(here)


def read_sources(files: Sequence[SourceFile], max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[bytes | Diagnostic]:
    """The bytes of every file, or the diagnostic saying why it cannot be read."""
    return [read_source(f.path, f.display, max_bytes=max_bytes) for f in files]


def extract_all(files: Sequence[SourceFile], *, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
                jobs: int | None = None, timeout: float = DEFAULT_FILE_TIMEOUT,
                cache: FactCache | None = None, sources: Sequence[bytes | Diagnostic] | None = None
                ) -> list[Extracted]:
    """Facts of every file, from ``cache`` when it has them, else in a process pool when
    ``jobs`` > 1 (in this process when ``jobs`` is 1 or there are fewer than 8 files in all).

    The parent reads and hashes each file; only files the cache does not know are parsed.
    Workers only parse and collect and return encoded facts. A file that kills its worker
    (LibCST's native parser can overflow its stack) or takes longer than ``timeout`` becomes
    a diagnostic naming it, every other file is analyzed, and such a diagnostic is never
    cached. Results are in the order of ``files``. ``sources`` are the files' bytes when the
    caller has already read them (``read_sources``).
    """
    import gc

    # Facts are many small objects that live to the end of the run: while they pile up, the
    # cyclic collector would rescan them again and again (it tripled the time to load them
    # from the cache). It is paused here. Parsed in this process, each file's facts are frozen
    # as they come, and only a file that failed has its young objects collected first (its
    # exception and traceback are the reference cycles extraction leaves: ~5 objects per failed
    # file, 18 objects for all 1,503 good files of the medium benchmark, which young
    # collections every 64 files used to find by rescanning every fact once, 0.09 s).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if sources is None:
            sources = read_sources(files, max_bytes)
        return _extract_all(files, sources, max_bytes, default_jobs() if jobs is None else jobs, timeout, cache)
    finally:
        # The young collections above promoted every fact to an older generation, whose
        # collection is due as soon as the collector is back: it would scan them all once
        # more (0.25 s on the medium benchmark) to find no garbage. They are frozen instead;
        # ``analyze`` hands them back to the collector when it is done.
        gc.freeze()
        if gc_was_enabled:
            gc.enable()


def _extract_all(files: Sequence[SourceFile], sources: Sequence[bytes | Diagnostic], max_bytes: int, jobs: int,
                 timeout: float, cache: FactCache | None) -> list[Extracted]:
    import gc

    results: list[Extracted | None] = [None] * len(files)
    work: list[tuple[bytes, str, int, str]] = []
    slots: list[int] = []
    stored: list[tuple[int, Any, str]] = []  # cached entries, decoded by ``decode_stored``
    for i, (f, source) in enumerate(zip(files, sources)):
        if isinstance(source, Diagnostic):  # unreadable, too large, not a regular file: never cached
            results[i] = Extracted(f.display, None, source)
            continue
        key = cache.key(digest(source)) if cache is not None else ""
        if cache is not None:
            entry = cache.fetch(key, f.display)
            if entry is not None:
                stored.append((i, entry, key))
                continue
        work.append((source, f.display, max_bytes, key))
        slots.append(i)

    spoilt: list[tuple[int, str]] = []  # stored entries that do not decode (corrupt, foreign), with their keys

    def decode_stored() -> None:
        assert cache is not None or not stored
        for i, entry, key in stored:
            hit = cache.decode(entry, key, files[i].display)  # type: ignore[union-attr]
            if hit is None:
                spoilt.append((i, key))
            else:
                results[i] = Extracted(files[i].display, *hit)
        stored.clear()

    def parse_in_this_process(todo: list[tuple[bytes, str, int, str]], where: list[int]) -> None:
        from fastapi_arch_lint.extract.parse import extract_sources

        def done(n: int, ex: Extracted) -> None:
            if ex.facts is None:
                gc.collect(0)
            gc.freeze()  # an O(1) splice: young collections never see this file's objects again
            if cache is not None:
                key = todo[n][3]
                cache.write(key, encode_entry(key, ex.facts, ex.diagnostic))
            results[where[n]] = ex

        extract_sources([(source, display) for source, display, _, _ in todo], max_bytes=max_bytes, each=done)

    def parse_in_the_pool(todo: list[tuple[bytes, str, int, str]], where: list[int],
                          meanwhile: Callable[[], None] | None = None) -> None:
        # A few files (an edit since the last run) are parsed by workers that import LibCST themselves
        # while this process decodes the cached facts (``meanwhile``); many are parsed by workers forked
        # after this process imported it once.
        if len(todo) > 2 * jobs:
            import fastapi_arch_lint.extract.parse  # noqa: F401 - once here: forked workers inherit it

        encoded = _from_an_empty_folder(_run_pool, todo, jobs, timeout, meanwhile)
        for n, i in enumerate(where):
            display, key = todo[n][1], todo[n][3]
            got = encoded[n]
            if isinstance(got, Diagnostic):  # a crash, a hang or a bug: reported, never cached
                results[i] = Extracted(display, None, got)
                continue
            decoded = decode_entry(got, key, display)
            if decoded is None:  # pragma: no cover - the worker's own encoding always decodes
                results[i] = Extracted(display, None, Diagnostic(display, "internal error: unreadable result"))
                continue
            if cache is not None:
                cache.write(key, got)
            results[i] = Extracted(display, *decoded)

    # In this process only with one job or a tiny project. A big project's warm run with a few
    # changed files still parses them in a worker: one of them could be the file that crashes.
    # Nothing to parse (every file came from the cache): LibCST is not even imported.
    in_process = jobs <= 1 or len(files) < 8
    if work and not in_process:
        parse_in_the_pool(work, slots, decode_stored)
    decode_stored()
    if spoilt:  # rare: entries that did not decode are parsed like the files the cache lacked
        more = [(sources[i], files[i].display, max_bytes, key) for i, key in spoilt]  # type: ignore[misc]
        where = [i for i, _ in spoilt]
        if in_process:
            work, slots = work + more, slots + where
        else:
            parse_in_the_pool(more, where)
    if work and in_process:
        parse_in_this_process(work, slots)
    if cache is not None:
        cache.flush()
        cache.close()
    return [r for r in results if r is not None]


_HAND_BACK = True  # whether frozen objects are handed back to the collector (see frozen_until_exit)


def frozen_until_exit() -> None:
    """For a process that ends when the run does (the command line): what the run freezes
    stays frozen. Handing a large project's facts and model back to the collector after the
    rules made its next full collection scan them all once more, to free nothing that the exit
    would not (1 s on the large benchmark, while the findings were sorted)."""
    global _HAND_BACK
    _HAND_BACK = False


def collected_after_each_run() -> None:
    """For a process that outlives its runs (the language server, started through the command
    line, which calls ``frozen_until_exit`` first): what a run freezes is handed back to the
    collector when it ends, so the model of the run before is freed when the next replaces it."""
    global _HAND_BACK
    _HAND_BACK = True


@contextmanager
def _old_objects_frozen() -> Iterator[None]:
    """Keep the cyclic garbage collector out of the block: off, with the objects that exist now
    (the facts: about a million small objects on a 100k-line project) frozen.

    Linking and the rules allocate enough to trigger full collections, and each one rescanned
    every fact (0.7-0.9 s apiece on the medium benchmark) although none of them is garbage.
    What they make themselves (a few hundred thousand short-lived values while linking, many
    more in the rules) is in no reference cycle either (a collection after the rules finds no
    garbage), and young collections rescanned it for nothing (a third of linking, 0.4 s of the
    rules on the large benchmark). On leaving, what the block made is frozen with the rest (left
    young, the next young collection would scan the whole linked model) and everything is
    handed back to the collector, unless the process ends with the run (``frozen_until_exit``).
    This is the one place that decides collector policy after extraction."""
    import gc

    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if _HAND_BACK:
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def name_modules(files: Sequence[SourceFile], extracted: Sequence[Extracted]) -> list[ModuleFacts]:
    imported: set[str] = set()
    for ex in extracted:
        if ex.facts is None:
            continue
        for imp in ex.facts.imports:
            if imp.level == 0 and imp.module:
                imported.add(imp.module)
                if imp.name and imp.name != "*":
                    imported.add(f"{imp.module}.{imp.name}")
    names = assign_module_names(files, imported)
    out: list[ModuleFacts] = []
    for f, ex in zip(files, extracted):
        if ex.facts is None:
            continue
        module, is_pkg = names[f.path]
        out.append(replace(ex.facts, module=module, is_package=is_pkg))
    return out


def analyze(
    targets: Sequence[str | Path],
    *,
    excludes: Sequence[str] = (),
    base: Path | None = None,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    jobs: int | None = None,
    auth_names: dict[str, list[str]] | None = None,
    cache: FactCache | None = None,
    timeout: float = DEFAULT_FILE_TIMEOUT,
    found: Discovered | None = None,
    sources: Sequence[bytes | Diagnostic] | None = None,
) -> Analysis:
    """Discover, extract (``jobs`` processes, default: the CPU count; facts from ``cache``
    when given) and link. The result does not depend on ``jobs`` or ``cache``. ``found`` and
    ``sources`` are the discovery and the files' bytes when the caller already has them."""
    if found is None:
        found = discover(targets, excludes, base=base)
    extracted = extract_all(found.files, max_bytes=max_bytes, jobs=jobs, timeout=timeout, cache=cache,
                            sources=sources)
    diagnostics = list(found.diagnostics)
    diagnostics.extend(ex.diagnostic for ex in extracted if ex.diagnostic is not None)
    with _old_objects_frozen():
        facts = name_modules(found.files, extracted)
        from fastapi_arch_lint.link import Linker

        model = Linker(facts, auth_names=auth_names).link()
    diagnostics.sort(key=lambda d: (d.path, d.message))
    return Analysis(model, found.files, diagnostics, facts)


# ---------------------------------------------------------------------------
# review


class Cancelled(Exception):
    """A review stopped because its caller no longer wants the result (``review(cancelled=...)``)."""


# a review's rule selection: (select, ignore, extend-select), as ``rule.select_rules`` takes them
Selection = tuple[Sequence[str] | None, Sequence[str], Sequence[str]]


class ReviewResult:
    """What a review found. ``rules`` (the selected rules, for reports that describe them) is
    resolved on first use when the run was answered from the stored result: importing the
    rules is a fifth of such a run."""

    __slots__ = ("findings", "diagnostics", "analysis", "_rules", "_selection")

    def __init__(self, findings: list[Finding], diagnostics: list[Diagnostic], analysis: Analysis,
                 rules: list[type] | None = None,
                 selection: Selection | None = None) -> None:
        self.findings = findings
        self.diagnostics = diagnostics
        self.analysis = analysis
        self._rules = rules
        self._selection = selection

    @property
    def rules(self) -> list[type]:
        if self._rules is None:
            self._rules = select_rules(*self._selection) if self._selection is not None else []
        return self._rules


# diagnostics of a run that another run might not repeat (a crash or hang under load, a bug):
# such a run's result is never stored, as such a file's facts are never cached
_TRANSIENT = (CRASH_MESSAGE, _TIMEOUT_PREFIX, "internal error")


def review(targets: Sequence[str | Path], config: Config, *, select: Sequence[str] | None = None,
           ignore: Sequence[str] = (), extend_select: Sequence[str] = (), jobs: int | None = None,
           cache: FactCache | None = None, reuse_results: bool = False,
           unsaved: Mapping[Path, bytes] | None = None,
           cancelled: Callable[[], bool] | None = None) -> ReviewResult:
    """Findings and diagnostics of the files under ``targets``.

    With ``cache`` and ``reuse_results``, a run whose inputs are all unchanged (every file's
    bytes and path, the configuration, the selected rules and the tool's own code) is answered
    from the stored result of the last such run, without extracting, linking or running a
    rule: the result's ``analysis.model`` is then None, so callers that need the model (the
    narrative) leave ``reuse_results`` off.

    ``unsaved`` maps absolute paths of discovered files to the bytes to analyze instead of what
    is on disk (an editor's unsaved buffers, for the language server); the other files' facts
    still come from ``cache``. ``cancelled`` is asked after linking: when it answers true (an
    editor's newer change made this run stale) the run stops there with ``Cancelled``.
    """
    # like ruff: an explicit --select replaces the file's select *and* ignore
    selection: Selection
    if select is not None:
        selection = (list(select), list(ignore), list(extend_select))
    else:
        selection = (config.select, [*config.ignore, *ignore], [*config.extend_select, *extend_select])
    found = discover(targets, config.all_excludes, base=config.root)
    sources = read_sources(found.files, config.max_file_bytes)
    if unsaved:
        sources = [unsaved.get(f.path, source) for f, source in zip(found.files, sources)]
    stored: tuple[FactCache, str, str] | None = None  # where this run's result goes
    if cache is not None and reuse_results:
        # keyed on the selectors, not on the rules they select: the key also holds the tool's own
        # code, and the same selectors select the same rules of the same code
        slot, run_key = _run_key(cache, targets, config, selection, found, sources)
        stored = (cache, slot, run_key)
        hit = cache.load_result(slot, run_key)
        if hit is not None:
            findings, diagnostics = hit
            return ReviewResult(findings, diagnostics, Analysis(None, found.files, [], []), selection=selection)
    rules = select_rules(*selection)
    analysis = analyze(targets, excludes=config.all_excludes, base=config.root, max_bytes=config.max_file_bytes,
                       auth_names=config.auth_names, jobs=jobs_for(jobs, config), cache=cache,
                       timeout=config.file_timeout or DEFAULT_FILE_TIMEOUT, found=found, sources=sources)
    assert analysis.model is not None
    if cancelled is not None and cancelled():
        raise Cancelled
    with _old_objects_frozen():
        findings, diags = run_rules(analysis.model, rules, config.rule_options, jobs=jobs_for(jobs, config))
    facts_by_path = {m.path: m for m in analysis.facts}
    findings = apply_noqa(findings, facts_by_path)
    findings = apply_per_file_ignores(findings, config.per_file_ignores, config.root)
    findings = sorted(set(findings), key=lambda f: (f.path, f.line, f.column, f.rule, f.message))
    from fastapi_arch_lint.model.unresolved import diagnostic as routing_gaps

    gaps = routing_gaps(analysis.model)  # one line about routing the model could not resolve
    result = ReviewResult(findings, analysis.diagnostics + diags + ([gaps] if gaps else []), analysis, rules)
    if stored is not None and not any(d.message.startswith(_TRANSIENT) for d in result.diagnostics):
        store, slot, run_key = stored
        store.write_result(slot, run_key, result.findings, result.diagnostics)
    return result


def _run_key(cache: FactCache, targets: Sequence[str | Path], config: Config,
             selection: Selection,
             found: Discovered, sources: Sequence[bytes | Diagnostic]) -> tuple[str, str]:
    """``(slot, key)`` of a review: the slot names the project and settings (one stored result
    each, overwritten by the next run), the key everything the findings depend on."""
    import json

    ignored = {"jobs", "cache-dir", "file-timeout"}  # they change how, not what
    settings = json.dumps({
        "root": str(config.root),
        "targets": [str(Path(t).resolve()) for t in targets],
        "select": selection[0], "ignore": selection[1], "extend-select": selection[2],
        "options": config.rule_options,
        "per-file-ignores": config.per_file_ignores,
        "excludes": config.all_excludes,
        "max-file-bytes": config.max_file_bytes,
        "extra": {k: v for k, v in config.extra.items() if k not in ignored},
    }, sort_keys=True, default=str)
    inputs: list[str] = [settings]
    inputs.extend(f"{d.path}\0{d.message}\0{d.kind}" for d in found.diagnostics)
    roots: dict[Path, Path] = {}  # module names also depend on __init__.py files above the targets
    for f, source in zip(found.files, sources):
        parent = f.path.parent
        if parent not in roots:
            roots[parent] = package_root(f.path)
        what = source.message if isinstance(source, Diagnostic) else digest(source)
        inputs.append(f"{f.display}\0{f.path}\0{f.target}\0{roots[parent]}\0{what}")
    return cache.result_slot(settings), cache.result_key("\n".join(inputs))


# ---------------------------------------------------------------------------
# fixes (``review --fix`` / ``--diff``)


@dataclass(slots=True)
class FixRun:
    """What applying the fixes of a review's findings did (or, for ``--diff``, would do)."""

    fixed: list[Finding] = field(default_factory=list)  # findings whose fix was applied
    unsafe_left: int = 0  # findings with a fix that needs --unsafe-fixes
    skipped: list[tuple[Finding, str]] = field(default_factory=list)  # a fix that could not be applied, and why
    diffs: dict[str, str] = field(default_factory=dict)  # path -> unified diff
    files: dict[str, str] = field(default_factory=dict)  # path -> fixed text
    problems: list[Diagnostic] = field(default_factory=list)  # files not touched (unreadable, do not parse)


def fix_findings(findings: Sequence[Finding], *, unsafe: bool = False, write: bool = False) -> FixRun:
    """Apply the fixes of ``findings`` (safe ones, and unsafe ones with ``unsafe``) to their files
    (``extract.fix``); write the files with ``write``. Only the findings given (the reported ones:
    after ``# noqa``, ignores, baselines) are fixed."""
    from fastapi_arch_lint.extract.fix import apply_fixes, unified_diff

    run = FixRun()
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        if f.fix is None or not f.fix.edits:
            continue
        if not (f.fix.safe or unsafe):
            run.unsafe_left += 1
            continue
        by_path.setdefault(f.fix.edits[0].path, []).append(f)
    for path, group in sorted(by_path.items()):
        p = Path(path)
        try:
            with p.open(encoding="utf-8", newline="") as fh:
                source = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            run.problems.append(Diagnostic(path, f"not fixed: cannot read the file ({exc})"))
            continue
        fixes = list(dict.fromkeys(f.fix for f in group if f.fix is not None))
        done = apply_fixes(source, fixes, path)
        if done.problem:
            run.problems.append(Diagnostic(path, f"not fixed: {done.problem}"))
        applied = set(done.applied)
        why = {fx: reason for fx, reason in done.skipped}
        for f in group:
            if f.fix in applied:
                run.fixed.append(f)
            elif not done.problem:
                run.skipped.append((f, why.get(f.fix, "not applied")))
        if done.fixed is not None:
            run.files[path] = done.fixed
            run.diffs[path] = unified_diff(path, source, done.fixed)
            if write:  # atomically, through a symbolic link to the file it names
                p = p.resolve()
                tmp = p.with_name(f".{p.name}.fal-fix.tmp")
                with tmp.open("w", encoding="utf-8", newline="") as fh:
                    fh.write(done.fixed)
                import os
                import shutil

                shutil.copymode(p, tmp)
                os.replace(tmp, p)
    return run


def fix_text(source: str, finding: Finding) -> list[tuple[int, int, str]] | None:
    """The lines ``finding``'s fix replaces in ``source`` (an editor's unsaved text), as ``fix_replacements``
    gives them, or None when it has no fix or the fix does not apply to this text."""
    if finding.fix is None or not finding.fix.edits:
        return None
    from fastapi_arch_lint.extract.fix import apply_fixes, replacements

    done = apply_fixes(source, [finding.fix], finding.fix.edits[0].path)
    if done.fixed is None or finding.fix not in done.applied:
        return None
    return [(r.start_line, r.end_line, r.text) for r in replacements(source, done.fixed)]


def fix_replacements(findings: Sequence[Finding], cache: FactCache | None = None, *, jobs: int = 1
                     ) -> dict[Finding, list[tuple[str, int, int, str]]]:
    """For each finding with a fix that applies on its own: ``(path, start_line, end_line, text)``, the
    lines it replaces (1-based, inclusive; ``end_line == start_line - 1`` inserts before ``start_line``)
    and their new text, for the JSON and SARIF reports. Nothing is written. What the cache lacks costs a
    LibCST parse and transform per fix: with ``jobs`` > 1 they are shared with a forked copy of this
    process (``runner.in_two_processes``)."""
    from functools import partial

    from fastapi_arch_lint.runner import MAX_TASKS, in_two_processes

    out: dict[Finding, list[tuple[str, int, int, str]]] = {}
    sources: dict[str, str | None] = {}
    todo: list[tuple[Finding, str, str, str]] = []  # (finding, path, source, cache key) not in the cache
    for f in findings:
        if f.fix is None or not f.fix.edits:
            continue
        path = f.fix.edits[0].path
        if path not in sources:
            try:
                with Path(path).open(encoding="utf-8", newline="") as fh:
                    sources[path] = fh.read()
            except (OSError, UnicodeDecodeError):
                sources[path] = None
        source = sources[path]
        if source is None:
            continue
        key = cache.key(hashlib.sha256(b"fix lines\0" + source.encode("utf-8", "surrogatepass") + b"\0"
                                       + repr(f.fix).encode("utf-8", "surrogatepass")).hexdigest()) if cache else ""
        lines = cache.load_lines(key) if cache is not None else None
        if lines is None:
            todo.append((f, path, source, key))
        elif lines:
            out[f] = [(path, start, end, text) for start, end, text in lines]
    # LibCST only for what is not cached; in batches a one-byte queue can number
    size = -(-len(todo) // MAX_TASKS) or 1
    batches = [todo[i:i + size] for i in range(0, len(todo), size)]
    done = in_two_processes([partial(_fix_lines, batch) for batch in batches]) if jobs > 1 else {}
    for n, batch in enumerate(batches):
        for (f, path, _, key), lines in zip(batch, done[n] if n in done else _fix_lines(batch)):
            if cache is not None:
                cache.write_lines(key, lines)
            if lines:
                out[f] = [(path, start, end, text) for start, end, text in lines]
    if cache is not None:
        cache.flush()
    return out


def _fix_lines(batch: Sequence[tuple[Finding, str, str, str]]) -> list[list[tuple[int, int, str]]]:
    return [fix_text(source, f) or [] for f, _, source, _ in batch]
