"""``review --format github``: GitHub Actions workflow commands (annotations).

One ``::error|warning|notice file=...,line=...,endLine=...,col=...,endColumn=...,title=...::message``
line per finding. ``col``/``endColumn`` are only sent when the finding is on one line
(GitHub rejects them otherwise). Paths are relative to the repository's top level.
``write_step_summary`` appends a Markdown summary to ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from fastapi_arch_lint.findings import Diagnostic, Finding, split_diagnostics
from fastapi_arch_lint.report._common import repo_relative

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}
SUMMARY_ROWS = 50


def escape_data(s: str) -> str:
    """Escape a command's message (actions/toolkit ``escapeData``). ``%`` first."""
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    """Escape a property value (actions/toolkit ``escapeProperty``)."""
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, properties: Mapping[str, object]) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def annotation(f: Finding) -> str:
    props: dict[str, object] = {"file": repo_relative(f.path), "line": f.line, "endLine": max(f.end_line, f.line)}
    if f.end_line == f.line:
        props["col"] = f.column
        props["endColumn"] = max(f.end_column, f.column)
    props["title"] = f"fastapi-arch-lint ({f.rule})"
    message = f.message
    if f.help:
        message += f"\nhelp: {f.help}"
    for r in f.related:
        message += f"\nnote: {repo_relative(r.path)}:{r.line}: {r.message}"
    return command(COMMANDS[f.severity.value], message, props)


def render(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic], *, files: int = 0) -> str:
    lines = [annotation(f) for f in findings]
    diagnostics, notes = split_diagnostics(diagnostics)
    for d in diagnostics:
        props: dict[str, object] = {"title": "fastapi-arch-lint (not analyzed)"}
        if not d.path.startswith("<"):
            props = {"file": repo_relative(d.path), **props}
        lines.append(command("warning", f"not analyzed: {d.message}", props))
    for d in notes:  # no file: it is about the whole model (``inspect`` lists where each item is)
        lines.append(command("notice", d.message, {"title": "fastapi-arch-lint (unresolved)"}))
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def summary_markdown(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic], *, files: int = 0,
                     max_rows: int = SUMMARY_ROWS) -> str:
    counts = Counter(f.severity.value for f in findings)
    diagnostics, notes = split_diagnostics(diagnostics)
    out = ["## fastapi-arch-lint", ""]
    if findings:
        out.append(f"**{len(findings)} finding{'s' if len(findings) != 1 else ''}** in {files} files: "
                   + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("error", "warning", "info")))
        out += ["", "| Severity | Rule | Location | Message |", "|---|---|---|---|"]
        for f in findings[:max_rows]:
            out.append(f"| {f.severity.value} | `{f.rule}` {f.name} | `{_cell(repo_relative(f.path))}:{f.line}` "
                       f"| {_cell(f.message)} |")
        if len(findings) > max_rows:
            out += ["", f"…and {len(findings) - max_rows} more (see the annotations or the full report)."]
    else:
        out.append(f"No findings in {files} files.")
    if diagnostics:
        out += ["", f"{len(diagnostics)} file{'s' if len(diagnostics) != 1 else ''} could not be analyzed:", ""]
        out += [f"- `{_cell(d.path)}`: {_cell(d.message)}" for d in diagnostics[:max_rows]]
    for d in notes:
        out += ["", f"> **Note:** {_cell(d.message)}"]
    return "\n".join(out) + "\n"


def write_step_summary(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic], *, files: int = 0,
                       env: Mapping[str, str] | None = None) -> bool:
    """Append the summary to ``$GITHUB_STEP_SUMMARY`` when it is set. Never fails the run."""
    target = (env if env is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    try:
        with Path(target).open("a", encoding="utf-8") as fh:
            fh.write(summary_markdown(findings, diagnostics, files=files) + "\n")
    except OSError:
        return False
    return True
