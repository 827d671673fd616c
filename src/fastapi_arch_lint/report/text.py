"""Human-readable output: ``path:line:col: CODE message`` (clickable), help, then counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from fastapi_arch_lint.findings import Diagnostic, Finding, split_diagnostics


def render(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic], *, files: int = 0,
           color: bool = False) -> str:
    lines: list[str] = []
    diagnostics, notes = split_diagnostics(diagnostics)

    def style(text: str, **kw: object) -> str:
        if not color:
            return text
        import click

        return click.style(text, **kw)  # type: ignore[arg-type]

    sev_color = {"error": "red", "warning": "yellow", "info": "blue"}
    for f in findings:
        loc = style(f"{f.path}:{f.line}:{f.column}:", bold=True)
        code = style(f.rule, fg=sev_color[f.severity.value], bold=True)
        sure = "" if f.confidence.value == "high" else f", {f.confidence.value} confidence"
        lines.append(f"{loc} {code} {f.message} [{f.severity.value}{sure}]")
        if f.help:
            lines.append(f"  help: {f.help}")
        for r in f.related:
            lines.append(f"  note: {r.path}:{r.line}: {r.message}")
        if f.fix is not None:
            how = "--fix" if f.fix.safe else "--fix --unsafe-fixes, it changes behaviour"
            lines.append(f"  fix: {f.fix.description} ({how})")
    if diagnostics:
        if lines:
            lines.append("")
        for d in diagnostics:
            lines.append(f"{d.path}: {style('not analyzed', fg='magenta')}: {d.message}")
    counts = Counter(f.severity.value for f in findings)
    if lines:
        lines.append("")
    if findings:
        parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}" for s in ("error", "warning", "info") if counts[s]]
        lines.append(f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''} ({', '.join(parts)}) in {files} files.")
    else:
        lines.append(f"No findings in {files} files.")
    safe = sum(1 for f in findings if f.fix is not None and f.fix.safe)
    unsafe = sum(1 for f in findings if f.fix is not None and not f.fix.safe)
    if safe and unsafe:
        lines.append(f"{safe} fixable with --fix, {unsafe} more with --fix --unsafe-fixes "
                     "(review --diff shows the changes).")
    elif safe:
        lines.append(f"{safe} fixable with --fix (review --diff shows the changes).")
    elif unsafe:
        lines.append(f"{unsafe} fixable with --fix --unsafe-fixes, which change behaviour "
                     "(review --diff --unsafe-fixes shows the changes).")
    if diagnostics:
        lines.append(f"{len(diagnostics)} file{'s' if len(diagnostics) != 1 else ''} could not be analyzed (see above).")
    for d in notes:  # a footer, not a finding: what the model could not resolve
        lines.append(f"{style('note', fg='cyan', bold=True)}: {d.message}")
    return "\n".join(lines)
