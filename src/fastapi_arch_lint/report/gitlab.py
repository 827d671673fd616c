"""``review --format gitlab``: GitLab Code Quality JSON (an array; ``artifacts:reports:codequality``).

Fingerprints hash rule, repository-relative path and the finding's entity (its message
when it has none), never the line, and are re-salted when two findings collide.

The format is a bare array of issues: it has no place for a note about the run, so the line
about what the model could not resolve is not in it (``review`` prints it on standard error).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from fastapi_arch_lint.findings import Diagnostic, Finding
from fastapi_arch_lint.report._common import fingerprints, repo_relative

SEVERITIES = {"error": "major", "warning": "minor", "info": "info"}


def document(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic] = (), *, files: int = 0
             ) -> list[dict[str, object]]:
    rels = [repo_relative(f.path) for f in findings]
    out: list[dict[str, object]] = []
    for f, rel, fp in zip(findings, rels, fingerprints(findings, rels)):
        out.append({
            "description": f"{f.rule}: {f.message}",
            "check_name": f.rule,
            "fingerprint": fp,
            "severity": SEVERITIES[f.severity.value],
            "location": {"path": rel, "lines": {"begin": f.line, "end": max(f.end_line, f.line)}},
        })
    return out


def render(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic] = (), *, files: int = 0) -> str:
    return json.dumps(document(findings, diagnostics, files=files), indent=2, ensure_ascii=False)
