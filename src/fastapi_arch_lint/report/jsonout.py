"""The ``review --format json`` document (a stable interface: keep the names)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence

from fastapi_arch_lint.findings import Diagnostic, Finding, split_diagnostics

VERSION = 1


# a fix's replaced lines: (path, start_line, end_line, text), see ``engine.fix_replacements``
Replacements = Mapping[Finding, Sequence[tuple[str, int, int, str]]]


def fix_json(f: Finding, replacements: Replacements | None = None) -> dict[str, object] | None:
    """``null``, or ``{applicability: "safe"|"unsafe", message, edits}`` (ruff's shape: each edit replaces
    ``location`` up to ``end_location`` by ``content``; whole lines here)."""
    if f.fix is None:
        return None
    edits = [{"path": path, "content": text, "location": {"row": start, "column": 1},
              "end_location": {"row": end + 1, "column": 1}}
             for path, start, end, text in (replacements or {}).get(f, ())]
    return {"applicability": f.fix.applicability, "message": f.fix.description, "edits": edits}


def finding_json(f: Finding, replacements: Replacements | None = None) -> dict[str, object]:
    return {
        "rule": f.rule,
        "name": f.name,
        "severity": f.severity.value,
        "confidence": f.confidence.value,
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "end_line": f.end_line,
        "end_column": f.end_column,
        "message": f.message,
        "help": f.help,
        "cwe": list(f.cwe),
        "owasp": list(f.owasp),
        "related": [{"path": r.path, "line": r.line, "message": r.message} for r in f.related],
        "fix": fix_json(f, replacements),
    }


def diagnostic_json(d: Diagnostic) -> dict[str, object]:
    """A file not analyzed: ``{path, message, kind: "not-analyzed"}``; the line about what the model
    could not resolve: ``{path: "<model>", message, kind: "unresolved", count, routes, locations}``."""
    if not d.is_note:
        return {"path": d.path, "message": d.message, "kind": "not-analyzed"}
    return {
        "path": d.path, "message": d.message, "kind": d.kind, "count": d.count, "routes": d.routes,
        "locations": [{"path": r.path, "line": r.line, "message": r.message} for r in d.locations],
    }


def document(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic], *, files: int = 0,
             replacements: Replacements | None = None) -> dict[str, object]:
    counts = Counter(f.severity.value for f in findings)
    problems, _ = split_diagnostics(diagnostics)
    return {
        "version": VERSION,
        "findings": [finding_json(f, replacements) for f in findings],
        "diagnostics": [diagnostic_json(d) for d in diagnostics],
        "summary": {
            "files": files,
            "findings": len(findings),
            "by_severity": {s: counts.get(s, 0) for s in ("error", "warning", "info")},
            "by_rule": dict(sorted(Counter(f.rule for f in findings).items())),
            "not_analyzed": len(problems),
            "fixable": {"safe": sum(1 for f in findings if f.fix is not None and f.fix.safe),
                        "unsafe": sum(1 for f in findings if f.fix is not None and not f.fix.safe)},
        },
    }


def render(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic], *, files: int = 0,
           replacements: Replacements | None = None) -> str:
    return json.dumps(document(findings, diagnostics, files=files, replacements=replacements), indent=2)
