"""The pipeline: discover -> extract (per file) -> name modules -> link -> rules -> suppress -> sort."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from fastapi_arch_lint.discovery import SourceFile, assign_module_names, discover
from fastapi_arch_lint.extract.link import Linker
from fastapi_arch_lint.extract.parse import DEFAULT_MAX_FILE_BYTES, Extracted, extract_file
from fastapi_arch_lint.findings import Diagnostic
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.facts import ModuleFacts


@dataclass(slots=True)
class Analysis:
    model: AppModel
    files: list[SourceFile]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    facts: list[ModuleFacts] = field(default_factory=list)


def _extract_one(args: tuple[str, str, int]) -> Extracted:
    path, display, max_bytes = args
    return extract_file(Path(path), display, max_bytes=max_bytes)


CRASH_MESSAGE = "the parser crashed on this file (deeply nested or gigantic expression?): skipped"
DEFAULT_FILE_TIMEOUT = 30.0  # seconds; LibCST's parser is quadratic on very long operator chains


def _kill(ex) -> None:  # type: ignore[no-untyped-def]
    for proc in list(getattr(ex, "_processes", {}).values()):
        try:
            proc.kill()
        except Exception:  # pragma: no cover - already gone
            pass
    ex.shutdown(wait=False, cancel_futures=True)


def _isolated(args: tuple[str, str, int], timeout: float) -> Extracted:
    """Extract one file in a process of its own: a native crash or a hang becomes a diagnostic."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    ex = ProcessPoolExecutor(1, mp_context=_mp_context())
    try:
        return ex.submit(_extract_one, args).result(timeout=timeout)
    except BrokenProcessPool:
        return Extracted(args[1], None, Diagnostic(args[1], CRASH_MESSAGE))
    except FutureTimeout:
        _kill(ex)
        return Extracted(args[1], None, Diagnostic(args[1], f"skipped: analysis took longer than {timeout:g} s"))
    finally:
        ex.shutdown(wait=False, cancel_futures=True)


def _mp_context():  # type: ignore[no-untyped-def]
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def default_jobs() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def extract_all(files: Sequence[SourceFile], *, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
                jobs: int | None = None, timeout: float = DEFAULT_FILE_TIMEOUT) -> list[Extracted]:
    """Facts of every file, in a process pool when ``jobs`` > 1.

    Workers only parse and collect; they return plain facts. If a worker dies (LibCST's
    native parser can overflow its stack) or a file takes longer than ``timeout``, the
    files still in flight are retried one per process, so the culprit becomes a
    diagnostic and every other file is analyzed.
    """
    jobs = default_jobs() if jobs is None else jobs
    work = [(str(f.path), f.display, max_bytes) for f in files]
    if jobs <= 1 or len(work) < 8:
        return [_extract_one(w) for w in work]
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    results: list[Extracted | None] = [None] * len(work)
    workers = min(jobs, max(1, len(work) // 4))
    ex = ProcessPoolExecutor(workers, mp_context=_mp_context())
    try:
        pending = {ex.submit(_extract_one, w): i for i, w in enumerate(work)}
        while pending:
            # a stall: nothing finished for ``timeout`` seconds, so the files in flight are stuck
            done, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:
                break
            for fut in done:
                i = pending.pop(fut)
                try:
                    results[i] = fut.result()
                except BrokenProcessPool:
                    pass
        stuck = set(pending.values()) if 0 < len(pending) <= workers else set()
    finally:
        _kill(ex)
    for i, res in enumerate(results):
        if res is None:
            if i in stuck:  # in flight for a whole ``timeout`` already
                results[i] = Extracted(work[i][1], None, Diagnostic(
                    work[i][1], f"skipped: analysis took longer than {timeout:g} s"))
            else:
                results[i] = _isolated(work[i], timeout)
    return [r for r in results if r is not None]


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
) -> Analysis:
    found = discover(targets, excludes, base=base)
    extracted = extract_all(found.files, max_bytes=max_bytes, jobs=jobs)
    diagnostics = list(found.diagnostics)
    diagnostics.extend(ex.diagnostic for ex in extracted if ex.diagnostic is not None)
    facts = name_modules(found.files, extracted)
    model = Linker(facts).link()
    diagnostics.sort(key=lambda d: (d.path, d.message))
    return Analysis(model, found.files, diagnostics, facts)


# ---------------------------------------------------------------------------
# review


@dataclass(slots=True)
class ReviewResult:
    findings: list["Finding"]
    diagnostics: list[Diagnostic]
    analysis: Analysis
    rules: list[type]


def run_rules(model: AppModel, rules: Sequence[type], options: dict[str, dict] | None = None
              ) -> tuple[list["Finding"], list[Diagnostic]]:
    """Run ``rules`` over ``model``. A rule that fails becomes a diagnostic, never a crash."""
    findings: list[Finding] = []
    diagnostics: list[Diagnostic] = []
    options = options or {}
    for cls in rules:
        rule = cls(options.get(cls.code))
        try:
            findings.extend(rule.check(model))
        except Exception as exc:  # a bug in one rule must not hide the others' findings
            diagnostics.append(Diagnostic("<internal>", f"rule {cls.code} ({cls.name}) failed: {type(exc).__name__}: {exc}"))
    return findings, diagnostics


def review(targets: Sequence[str | Path], config: "Config", *, select: Sequence[str] | None = None,
           ignore: Sequence[str] = (), extend_select: Sequence[str] = ()) -> ReviewResult:
    from fastapi_arch_lint.rule import select_rules
    from fastapi_arch_lint.suppress import apply_noqa, apply_per_file_ignores

    analysis = analyze(targets, excludes=config.all_excludes, base=config.root, max_bytes=config.max_file_bytes)
    # like ruff: an explicit --select replaces the file's select *and* ignore
    if select is not None:
        rules = select_rules(list(select), list(ignore), list(extend_select))
    else:
        rules = select_rules(config.select, [*config.ignore, *ignore], [*config.extend_select, *extend_select])
    findings, diags = run_rules(analysis.model, rules, config.rule_options)
    facts_by_path = {m.path: m for m in analysis.facts}
    findings = apply_noqa(findings, facts_by_path)
    findings = apply_per_file_ignores(findings, config.per_file_ignores, config.root)
    findings = sorted(set(findings), key=lambda f: (f.path, f.line, f.column, f.rule, f.message))
    return ReviewResult(findings, analysis.diagnostics + diags, analysis, rules)


from fastapi_arch_lint.config import Config  # noqa: E402
from fastapi_arch_lint.findings import Finding  # noqa: E402
