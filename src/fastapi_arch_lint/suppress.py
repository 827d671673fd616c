"""Suppression: ``# noqa`` comments, file-level noqa and per-file-ignores."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi_arch_lint.discovery import glob_to_regex
from fastapi_arch_lint.findings import Finding
from fastapi_arch_lint.rule import matches

if TYPE_CHECKING:
    from fastapi_arch_lint.model.facts import ModuleFacts


def _suppressed_by(codes: frozenset[str] | None, rule: str) -> bool:
    if codes is None:
        return False
    if not codes:  # bare noqa
        return True
    return any(matches(c, rule) for c in codes)


def apply_noqa(findings: Iterable[Finding], facts_by_path: Mapping[str, ModuleFacts]) -> list[Finding]:
    kept = []
    for f in findings:
        facts = facts_by_path.get(f.path)
        if facts is not None:
            if _suppressed_by(facts.file_noqa, f.rule):
                continue
            if _suppressed_by(facts.noqa.get(f.line), f.rule):
                continue
        kept.append(f)
    return kept


def apply_per_file_ignores(
    findings: Iterable[Finding], per_file: Mapping[str, Sequence[str]], root: Path, cwd: Path | None = None
) -> list[Finding]:
    if not per_file:
        return list(findings)
    cwd = (cwd or Path.cwd()).resolve()
    compiled = [(glob_to_regex(g), codes) for g, codes in per_file.items()]
    kept = []
    for f in findings:
        p = (cwd / f.path).resolve()
        try:
            rel = p.relative_to(root.resolve()).as_posix()
        except ValueError:
            rel = f.path
        if any(rx.match(rel) and any(matches(c, f.rule) for c in codes) for rx, codes in compiled):
            continue
        kept.append(f)
    return kept
