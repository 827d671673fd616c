"""Renderers for ``fastapi-arch-lint diff``: text, JSON (a stable interface, version 1) and
Markdown (ready to post as a pull-request comment)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi_arch_lint.apidiff import ApiDiff, Change

VERSION = 1


@dataclass(frozen=True, slots=True)
class Side:
    """One revision of the comparison, as named by the user and as resolved."""

    rev: str  # as typed, or "WORKTREE" for the working tree
    commit: str | None  # full commit id; None for the working tree

    def label(self) -> str:
        if self.commit is None:
            return "the working tree"
        short = self.commit[:12]
        return self.rev if self.rev == short else f"{self.rev} ({short})"


@dataclass(frozen=True, slots=True)
class SideDiagnostic:
    side: str  # "base" | "head"
    path: str
    message: str


def _category(c: Change) -> str:
    if c.security:
        return "security"
    return "breaking" if c.breaking else "other"


def _counts(diff: ApiDiff) -> dict[str, int]:
    return {
        "breaking": sum(1 for c in diff.changes if c.breaking),
        "security": sum(1 for c in diff.changes if c.security),
        "other": sum(1 for c in diff.changes if not c.breaking and not c.security),
    }


def change_json(c: Change) -> dict[str, object]:
    return {
        "kind": c.kind,
        "breaking": c.breaking,
        "security": c.security,
        "methods": list(c.methods),
        "path": c.path,
        "before": c.before,
        "after": c.after,
        "handler": c.handler,
        "file": c.file,
        "line": c.line,
        "message": c.message,
    }


def document(diff: ApiDiff, base: Side, head: Side, diagnostics: Sequence[SideDiagnostic] = ()) -> dict[str, object]:
    return {
        "version": VERSION,
        "base": {"rev": base.rev, "commit": base.commit},
        "head": {"rev": head.rev, "commit": head.commit},
        "summary": {
            **_counts(diff),
            "changes": len(diff.changes),
            "routes_before": diff.routes_before,
            "routes_after": diff.routes_after,
            "fails": diff.fails,
        },
        "changes": [change_json(c) for c in diff.changes],
        "diagnostics": [{"side": d.side, "path": d.path, "message": d.message} for d in diagnostics],
    }


def render_json(diff: ApiDiff, base: Side, head: Side, diagnostics: Sequence[SideDiagnostic] = ()) -> str:
    return json.dumps(document(diff, base, head, diagnostics), indent=2, ensure_ascii=False)


def _headline(diff: ApiDiff, base: Side, head: Side) -> str:
    n = _counts(diff)
    if not diff.changes:
        return f"No API changes from {base.label()} to {head.label()} ({diff.routes_after} routes)."
    return (f"API changes from {base.label()} to {head.label()}: {n['breaking']} breaking, "
            f"{n['security']} security, {n['other']} other ({diff.routes_before} -> {diff.routes_after} routes)")


def render_text(diff: ApiDiff, base: Side, head: Side, diagnostics: Sequence[SideDiagnostic] = ()) -> str:
    lines = [_headline(diff, base, head)]
    if diff.changes:
        lines.append("")
    for c in sorted(diff.changes, key=lambda c: (("security", "breaking", "other").index(_category(c)), c.sort_key)):
        tag = {"security": "SECURITY", "breaking": "BREAKING", "other": "changed "}[_category(c)]
        if c.security and c.breaking:
            tag = "SECURITY+BREAKING"
        lines.append(f"{c.file}:{c.line}: {tag} {c.kind}: {c.message}")
    for d in diagnostics:
        lines.append(f"note: at {d.side}, {d.path} was not analyzed: {d.message}")
    return "\n".join(lines)


def _md(text: str | None) -> str:
    if text is None:
        return ""
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str | None) -> str:
    if not text:
        return ""
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def render_markdown(diff: ApiDiff, base: Side, head: Side, diagnostics: Sequence[SideDiagnostic] = ()) -> str:
    n = _counts(diff)
    out = [f"## API changes: {_md(base.label())} → {_md(head.label())}", ""]
    if not diff.changes:
        out.append(f"No API changes ({diff.routes_after} routes).")
    else:
        out.append(f"**{n['breaking']} breaking**, **{n['security']} security**, {n['other']} other "
                   f"({diff.routes_before} → {diff.routes_after} routes).")
    sections = [("security", "Security"), ("breaking", "Breaking"), ("other", "Other changes")]
    for key, title in sections:
        items = [c for c in diff.changes if _category(c) == key]
        if not items:
            continue
        out += ["", f"### {title}", "", "| Route | Change | Before | After | Handler |", "| --- | --- | --- | --- | --- |"]
        for c in items:
            route = _code(f"{' '.join(c.methods)} {c.path}")
            change = f"**{c.kind}**" + (" (breaking)" if key == "security" and c.breaking else "") + f"<br>{_md(c.message)}"
            out.append(f"| {route} | {change} | {_code(c.before)} | {_code(c.after)} | "
                       f"{_code(c.handler)}<br>{_md(c.file)}:{c.line} |")
    if diagnostics:
        out += ["", "<details><summary>Files that could not be analyzed</summary>", ""]
        out += [f"- {d.side}: `{_md(d.path)}`: {_md(d.message)}" for d in diagnostics]
        out += ["", "</details>"]
    out += ["", "<sub>fastapi-arch-lint diff: routes compared statically, the code was not run.</sub>"]
    return "\n".join(out)
