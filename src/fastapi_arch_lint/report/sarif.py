"""``review --format sarif``: SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer).

* URIs are relative to the git top-level folder of the file (found by walking up to a
  ``.git`` entry, no subprocess), else to the current folder (``report._common``).
* ``tool.driver.rules`` lists every rule that ran, with descriptions and help taken from
  the rule's documentation page.
* ``partialFingerprints["fastapiArchLint/v1"]`` hashes rule + path + the finding's entity
  (its message when it has none), never the line number, so it survives code moving
  (``report._common``, shared with the GitLab format and baselines).
  GitHub's own ``primaryLocationLineHash`` is left to ``upload-sarif`` to compute.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from fastapi_arch_lint import __version__
from fastapi_arch_lint.findings import Diagnostic, Finding, split_diagnostics
from fastapi_arch_lint.report._common import fingerprints, repo_relative

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/fastapi-arch-lint/"
FINGERPRINT_KEY = "fastapiArchLint/v1"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
PRECISION = {"high": "high", "medium": "medium", "low": "low"}
MAX_NOTE_LOCATIONS = 100  # where the unresolved items are (the notification's locations), at most
MAX_TEXT = 1000  # GitHub: shortDescription/fullDescription/help.text at most 1024 characters


def _trim(text: str, limit: int = MAX_TEXT) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip() + "…"


# ---------------------------------------------------------------- SARIF

def _cwe_number(cwe: str) -> str:
    return cwe.upper().removeprefix("CWE-").strip()


def _prose(markdown: str) -> str:
    """The first paragraph of ``markdown`` that is prose: not code, not a "file.py:" caption."""
    import re

    text = re.sub(r"```.*?```", "\n\n", markdown, flags=re.S)
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(line.strip() for line in para.strip().splitlines())
        if para and not para.endswith(":"):
            return para
    return ""


def rule_descriptor(cls: type) -> dict[str, object]:
    from fastapi_arch_lint.rule import doc_sections, first_paragraph, rule_doc

    doc = rule_doc(cls)
    sections = doc_sections(doc).sections if doc else {}
    what = first_paragraph(sections.get("What it does", "")) or cls.summary
    why = sections.get("Why is this bad?", "").strip()
    use = sections.get("Use instead", "").strip()
    md_parts = []
    if why:
        md_parts.append(f"## Why is this bad?\n{why}")
    if use:
        md_parts.append(f"## Use instead\n{use}")
    markdown = "\n\n".join(md_parts) or cls.summary
    text = first_paragraph(why) if why else cls.summary
    use_first = _prose(use)
    if use_first:
        text = f"{text}\n\nUse instead: {use_first}"
    tags: list[str] = []
    is_security = bool(cls.cwe) or cls.security_severity is not None or cls.category() in ("auth", "security")
    if is_security:
        tags.append("security")
    tags.append(cls.category())
    for cwe in cls.cwe:
        tags.append(f"external/cwe/cwe-{_cwe_number(cwe)}")
    for owasp in cls.owasp:
        tags.append(f"external/owasp/{owasp.lower()}")
    tags = list(dict.fromkeys(tags))  # SARIF tags are a set
    props: dict[str, object] = {"tags": tags[:20], "precision": PRECISION.get(cls.confidence.value, "medium")}
    if cls.security_severity is not None:
        props["security-severity"] = f"{float(cls.security_severity):.1f}"
    return {
        "id": cls.code,
        "name": cls.name,
        "shortDescription": {"text": _trim(cls.summary)},
        "fullDescription": {"text": _trim(what)},
        "help": {"text": _trim(text), "markdown": markdown},
        "defaultConfiguration": {"level": LEVELS[cls.severity.value]},
        "properties": props,
    }


def _location(rel: str, line: int, col: int | None = None, end_line: int | None = None,
              end_col: int | None = None) -> dict[str, object]:
    region: dict[str, int] = {"startLine": max(line, 1)}
    if col:
        region["startColumn"] = max(col, 1)
    if end_line:
        region["endLine"] = max(end_line, region["startLine"])
    if end_col and col:
        if region.get("endLine", region["startLine"]) == region["startLine"]:
            end_col = max(end_col, region["startColumn"])
        region["endColumn"] = max(end_col, 1)
    return {"physicalLocation": {"artifactLocation": {"uri": quote(rel, safe="/")}, "region": region}}


def _fixes(f: Finding, replacements: Sequence[tuple[str, int, int, str]]) -> list[dict[str, object]]:
    """SARIF ``fixes``: the fix's replaced lines (a region of whole lines, or an empty region where lines
    are inserted)."""
    changes: dict[str, list[dict[str, object]]] = {}
    for path, start, end, text in replacements:
        if end < start:  # an insertion before ``start``
            region = {"startLine": start, "startColumn": 1, "endLine": start, "endColumn": 1}
            inserted = text
        else:
            region = {"startLine": start, "endLine": end}
            inserted = text[:-1] if text.endswith("\n") else text
        changes.setdefault(path, []).append({"deletedRegion": region, "insertedContent": {"text": inserted}})
    if not changes or f.fix is None:
        return []
    return [{"description": {"text": f"{f.fix.description} ({f.fix.applicability} fix)"},
             "artifactChanges": [{"artifactLocation": {"uri": quote(repo_relative(p), safe="/")}, "replacements": r}
                                 for p, r in changes.items()]}]


def document(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic], rules: Sequence[type],
             *, files: int = 0, replacements: Mapping[Finding, Sequence[tuple[str, int, int, str]]] | None = None
             ) -> dict[str, object]:
    ran = sorted({cls.code: cls for cls in rules}.values(), key=lambda c: c.code)
    index = {cls.code: i for i, cls in enumerate(ran)}
    missing = sorted({f.rule for f in findings} - set(index))
    if missing:  # a finding from a rule not in ``rules``: describe it anyway
        from fastapi_arch_lint.rule import load_rules

        known = load_rules()
        for code in missing:
            if code in known:
                index[code] = len(ran)
                ran.append(known[code])
    descriptors = [rule_descriptor(cls) for cls in ran]
    rels = [repo_relative(f.path) for f in findings]
    fps = fingerprints(findings, rels)
    results = []
    for f, rel, fp in zip(findings, rels, fps):
        result: dict[str, object] = {
            "ruleId": f.rule,
            "level": LEVELS[f.severity.value],
            "message": {"text": f.message + (f"\nhelp: {f.help}" if f.help else "")},
            "locations": [_location(rel, f.line, f.column, f.end_line, f.end_column)],
            "partialFingerprints": {FINGERPRINT_KEY: fp},
            "properties": {"confidence": f.confidence.value},
        }
        if f.fix is not None:
            result["properties"]["fix"] = f.fix.applicability  # type: ignore[index]
            fixes = _fixes(f, (replacements or {}).get(f, ()))
            if fixes:
                result["fixes"] = fixes
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        if f.related:
            result["relatedLocations"] = [
                {"id": i, **_location(repo_relative(r.path), r.line), "message": {"text": r.message or "related"}}
                for i, r in enumerate(f.related, start=1)
            ]
        results.append(result)
    notifications = []
    internal_failure = False
    diagnostics, notes = split_diagnostics(diagnostics)
    for d in notes:  # what the model could not resolve: a note about the run, not a result
        n = {"message": {"text": d.message}, "level": "note",
             "descriptor": {"id": "unresolved"},
             "properties": {"kind": d.kind, "count": d.count, "routes": d.routes}}
        if d.locations:
            n["locations"] = [{**_location(repo_relative(r.path), r.line), "message": {"text": r.message}}
                              for r in d.locations[:MAX_NOTE_LOCATIONS]]
        notifications.append(n)
    for d in diagnostics:
        n: dict[str, object] = {"message": {"text": f"{d.path}: {d.message}" if d.path.startswith("<") else d.message}}
        if d.path.startswith("<"):
            internal_failure = True
            n["level"] = "error"
        else:
            n["level"] = "warning"
            n["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": quote(repo_relative(d.path), safe="/")}}}]
        notifications.append(n)
    invocation: dict[str, object] = {"executionSuccessful": not internal_failure}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, object] = {
        "tool": {"driver": {
            "name": "fastapi-arch-lint",
            "semanticVersion": __version__,
            "informationUri": INFORMATION_URI,
            "rules": descriptors,
        }},
        "automationDetails": {"id": "fastapi-arch-lint/"},
        "columnKind": "unicodeCodePoints",
        "invocations": [invocation],
        "results": results,
        "properties": {"filesAnalyzed": files},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic], rules: Sequence[type],
           *, files: int = 0, replacements: Mapping[Finding, Sequence[tuple[str, int, int, str]]] | None = None
           ) -> str:
    return json.dumps(document(findings, diagnostics, rules, files=files, replacements=replacements),
                      indent=2, ensure_ascii=False)
