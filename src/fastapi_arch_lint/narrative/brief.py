"""The brief: what the architect model receives, built deterministically from the review.

Sections, in order (``--focus`` drops the ones that do not serve it):

1. a header with the scope (files, apps, routes, models, tables, findings, unresolved items);
2. the app summary: each app with its mounts, middleware and app-level dependencies; the route
   table with the effective auth of every route and through what it comes; the dependency graph
   (``Depends``/``Security`` tree, merged over all routes); Pydantic models; tables;
3. the findings grouped by area (``CATEGORY_TITLES``), then by rule with the rule's summary and
   its advice, each finding as ``file:line`` plus its message and notes;
4. short code excerpts around the most severe findings, read from disk now, at most
   ``excerpt_lines`` lines each and ``excerpt_budget`` characters in all;
5. what the model could not resolve, and the files that could not be analyzed;
6. the project's standards file(s) (``CLAUDE.md``, ``AGENTS.md``, ``CONTRIBUTING.md`` at the project
   root), truncated to ``standards_budget`` characters.

Secrets are redacted (see :mod:`.redact`) in the excerpts' sources first, then over the whole text.
Paths are relative to the project root, and nothing depends on the clock or the machine, so the
same tree gives the same brief (``tests/golden/bigger_app_brief.md``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from fastapi_arch_lint.findings import Diagnostic, Finding
from fastapi_arch_lint.model.app import AppModel, Route
from fastapi_arch_lint.narrative.redact import Redactor, secret_spans

if TYPE_CHECKING:  # pragma: no cover
    from fastapi_arch_lint.engine import ReviewResult

FOCUSES = ("api", "database", "security")
STANDARDS_FILES = ("CLAUDE.md", "AGENTS.md", "CONTRIBUTING.md")

# which finding areas (rule categories) each focus keeps
FOCUS_CATEGORIES: dict[str, frozenset[str]] = {
    "api": frozenset({"rest", "http", "layering", "async"}),
    "database": frozenset({"schema", "async", "layering"}),
    "security": frozenset({"auth", "security"}),
}
# which parts of the app summary each focus keeps
FOCUS_PARTS: dict[str, frozenset[str]] = {
    "api": frozenset({"routes", "dependencies", "middleware", "models"}),
    "database": frozenset({"routes", "models", "tables"}),
    "security": frozenset({"routes", "dependencies", "middleware", "models"}),
}
ALL_PARTS = frozenset({"routes", "dependencies", "middleware", "models", "tables"})


@dataclass(frozen=True, slots=True)
class BriefOptions:
    focus: str | None = None
    excerpt_budget: int = 12_000  # characters, all excerpts together
    excerpt_lines: int = 12  # lines per excerpt, at most
    excerpt_context: int = 3  # lines before and after a finding
    max_excerpts: int = 12
    max_findings: int = 150  # listed one by one; the rest are counted per rule
    max_notes: int = 3  # related notes per finding
    max_routes: int = 300
    max_unresolved: int = 50
    standards_budget: int = 6_000  # characters, all standards files together


@dataclass(slots=True)
class Brief:
    text: str
    redactions: int = 0
    findings: int = 0  # findings in the brief (after the focus)
    excerpts: int = 0
    standards: list[str] = field(default_factory=list)  # the standards files included

    @property
    def chars(self) -> int:
        return len(self.text)

    @property
    def est_tokens(self) -> int:
        return estimate_tokens(self.text)


def estimate_tokens(text: str) -> int:
    """A rough token count: characters / 4 (an estimate; the API counts exactly)."""
    return (len(text) + 3) // 4


class _Paths:
    """Display paths (relative to the working directory) -> paths relative to the project root."""

    def __init__(self, files: Mapping[str, Path], root: Path) -> None:
        self.files = dict(files)
        self.root = root.resolve()

    def absolute(self, display: str) -> Path:
        p = self.files.get(display)
        return p if p is not None else (Path.cwd() / display).resolve()

    def rel(self, display: str) -> str:
        if not display or display.startswith("<"):
            return display
        try:
            return self.absolute(display).relative_to(self.root).as_posix()
        except ValueError:
            return display


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _short(qualname: str) -> str:
    return qualname.rsplit(".", 1)[-1]


# ---------------------------------------------------------------------------
# the app summary


def _auth_text(r: Route) -> str:
    if not r.auth.via:
        return "none"
    parts = []
    for v in r.auth.via:
        through = " > ".join(v.chain) if v.chain else v.name
        extra = []
        if v.scopes:
            extra.append("scopes " + ",".join(v.scopes))
        if v.optional:
            extra.append("optional: auto_error=False")
        parts.append(f"{v.scheme} through {through} ({v.level}{'; ' + '; '.join(extra) if extra else ''})")
    return "; ".join(parts)


def _apps(model: AppModel, paths: _Paths, parts: frozenset[str]) -> list[str]:
    out = ["## Applications", ""]
    if not model.apps:
        out += ["No FastAPI application was found.", ""]
    for a in model.apps:
        factory = f", built by `{a.factory}()`" if a.factory else ""
        out.append(f"- `{a.name}` at `{paths.rel(a.loc.path)}:{a.loc.line}`{factory}: {len(a.routes)} routes")
        if a.options:
            opts = ", ".join(f"{k}={v!r}" for k, v in a.options)
            out.append(f"  - constructor: {opts}")
        if a.dependencies:
            out.append("  - app-level dependencies: " + ", ".join(f"`{d}`" for d in a.dependencies))
        if "middleware" in parts:
            for m in a.middleware:
                opts = ", ".join(f"{k}={v}" for k, v in m.options)
                out.append(f"  - middleware `{m.name}` ({m.kind}) at `{paths.rel(m.loc.path)}:{m.loc.line}`"
                           + (f": {opts}" if opts else ""))
            if not a.middleware:
                out.append("  - no middleware")
            for mt in a.mounts:
                out.append(f"  - mount `{mt.path}` -> `{mt.target}` ({mt.kind}) at `{paths.rel(mt.loc.path)}:{mt.loc.line}`")
    out.append("")
    return out


def _routes(model: AppModel, paths: _Paths, limit: int) -> list[str]:
    routes = list(model.iter_routes())
    out = [f"## Routes ({len(routes)})", "",
           "Effective auth is what FastAPI enforces once every include, router and parameter dependency "
           "is applied: the security scheme, the dependency chain that reaches it, and the level it is "
           "attached at (app, include, router, route, param).", ""]
    if not routes:
        return out + ["No routes.", ""]
    multi = len(model.apps) > 1
    head = "| App | Method | Path |" if multi else "| Method | Path |"
    out.append(head + " Handler | Status | Body | Response model | Auth (through) |")
    out.append("|" + "---|" * (head.count("|") - 1 + 5))
    app_names = {a.id: a.name for a in model.apps}
    for r in routes[:limit]:
        methods = ",".join(r.methods) if r.methods else "WS"
        cells = [app_names.get(r.app, r.app)] if multi else []
        status = "" if r.kind != "http" else (str(r.status_code) if r.status_code is not None else "")
        cells += [methods, f"`{r.path}`" + (" (unresolved prefix)" if r.path_unresolved else ""),
                  f"`{_short(r.handler.qualname)}` `{paths.rel(r.handler.path)}:{r.handler.line}`"
                  + (" async" if r.handler.is_async else ""),
                  status, ", ".join(_short(m) for m in r.request_models), r.response_model or "", _auth_text(r)]
        out.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    if len(routes) > limit:
        out.append(f"\n…and {len(routes) - limit} more routes (cut for size).")
    out.append("")
    return out


def _dependency_graph(model: AppModel, paths: _Paths) -> list[str]:
    info: dict[str, dict[str, object]] = {}
    children: dict[str, set[str]] = defaultdict(set)
    roots: set[str] = set()
    used_by: dict[str, set[str]] = defaultdict(set)
    levels: dict[str, set[str]] = defaultdict(set)
    schemes: dict[str, str] = {}
    for r in model.iter_routes():
        for v in r.auth.via:
            schemes.setdefault(v.name, v.scheme)
        for d in r.dependencies:
            info.setdefault(d.name, {"kind": d.kind, "path": d.path, "line": d.line, "async": d.is_async,
                                     "security": d.security, "scopes": d.scopes})
            used_by[d.name].add(r.display())
            if d.parent:
                children[d.parent].add(d.name)
            else:
                roots.add(d.name)
                levels[d.name].add(d.level)
    out = ["## Dependency graph", ""]
    if not info:
        return out + ["No route uses a dependency.", ""]
    out += ["Each dependency with what it depends on, and how many routes resolve it.", ""]
    shown: set[str] = set()

    def describe(name: str) -> str:
        i = info.get(name, {})
        bits = [str(i.get("kind", "unknown"))]
        if i.get("async") is not None:
            bits.append("async" if i.get("async") else "sync")
        if name in schemes or i.get("security"):
            bits.append("security scheme " + schemes.get(name, "").strip() if name in schemes else "security")
        if i.get("scopes"):
            bits.append("scopes " + ",".join(i["scopes"]))  # type: ignore[arg-type]
        where = f" `{paths.rel(str(i['path']))}:{i['line']}`" if i.get("path") else ""
        n = len(used_by[name])
        return f"`{name}` ({', '.join(b for b in bits if b)}){where}; {n} route{'s' if n != 1 else ''}"

    def walk(name: str, depth: int, trail: tuple[str, ...]) -> None:
        line = "  " * depth + "- " + describe(name)
        if depth == 0 and levels.get(name):
            line += "; attached at " + ", ".join(sorted(levels[name]))
        kids = sorted(children.get(name, ()))
        if name in shown and kids:
            out.append(line + "; its dependencies are listed above")
            return
        out.append(line)
        shown.add(name)
        for k in kids:
            if k not in trail:
                walk(k, depth + 1, trail + (k,))

    for name in sorted(roots):
        walk(name, 0, (name,))
    out.append("")
    return out


def _models(model: AppModel, paths: _Paths) -> list[str]:
    out = [f"## Pydantic models ({len(model.models)})", ""]
    if not model.models:
        return out + ["None found.", ""]
    for m in sorted(model.models, key=lambda m: (paths.rel(m.path), m.line, m.qualname)):
        fields = []
        for f in m.fields:
            text = f"{f.name}: {f.annotation or '?'}"
            cons = [f"{k}={v!r}" for k, v in f.constraints]
            if cons:
                text += f" ({', '.join(cons)})"
            if not f.required:
                text += " [optional]"
            fields.append(text)
        bases = ", ".join(_short(b) for b in m.bases)
        extra = f"; config {', '.join(f'{k}={v!r}' for k, v in m.config)}" if m.config else ""
        out.append(f"- `{m.name}` ({m.kind}, bases {bases}) `{paths.rel(m.path)}:{m.line}`: "
                   + ("; ".join(fields) if fields else "no fields") + extra)
    out.append("")
    return out


def _tables(model: AppModel, paths: _Paths) -> list[str]:
    out = [f"## Tables ({len(model.tables)})", ""]
    if not model.tables:
        return out + ["None found.", ""]
    for t in sorted(model.tables, key=lambda t: (paths.rel(t.path), t.line, t.qualname)):
        cols = []
        for c in t.columns:
            bits = [c.type]
            if c.primary_key:
                bits.append("PK")
            if c.foreign_key:
                bits.append(f"FK -> {c.foreign_key}")
            if c.unique:
                bits.append("unique")
            if c.index:
                bits.append("index")
            if c.nullable:
                bits.append("nullable")
            cols.append(f"{c.name} {' '.join(bits)}")
        groups = []
        for label, gs in (("unique", t.unique_groups), ("index", t.index_groups), ("primary key", t.primary_key_groups)):
            groups += [f"{label}({', '.join(g)})" for g in gs]
        name = t.tablename or t.name
        out.append(f"- `{name}` (class `{t.name}`, {t.kind}) `{paths.rel(t.path)}:{t.line}`: " + "; ".join(cols)
                   + (f"; constraints: {', '.join(groups)}" if groups else ""))
    out.append("")
    return out


# ---------------------------------------------------------------------------
# findings


def _category(code: str) -> str:
    from fastapi_arch_lint.rule import CATEGORIES, PREFIX

    return CATEGORIES.get(code[len(PREFIX):len(PREFIX) + 1], "misc")


def _findings(findings: Sequence[Finding], paths: _Paths, opts: BriefOptions, omitted: int) -> list[str]:
    from fastapi_arch_lint.rule import CATEGORIES, CATEGORY_TITLES, load_rules

    rules = load_rules()
    counts = Counter(f.severity.value for f in findings)
    summary = ", ".join(f"{counts[s]} {s}" for s in ("error", "warning", "info") if counts.get(s))
    out = [f"## Findings ({len(findings)}{': ' + summary if summary else ''})", ""]
    if omitted:
        out += [f"{omitted} findings in areas outside the focus are left out.", ""]
    if not findings:
        return out + ["The rules found nothing in this scope.", ""]
    listed = 0
    order = {cat: i for i, cat in enumerate(CATEGORIES.values())}
    by_cat: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_cat[_category(f.rule)].append(f)
    for cat in sorted(by_cat, key=lambda c: (order.get(c, 99), c)):
        items = by_cat[cat]
        out += [f"### {CATEGORY_TITLES.get(cat, cat)} ({len(items)})", ""]
        by_rule: dict[str, list[Finding]] = defaultdict(list)
        for f in items:
            by_rule[f.rule].append(f)
        for code in sorted(by_rule):
            fs = by_rule[code]
            cls = rules.get(code)
            summary_text = cls.summary if cls is not None else ""
            out.append(f"#### {code} {fs[0].name} ({len(fs)}): {summary_text}")
            if fs[0].help:
                out.append(f"Advice: {fs[0].help}")
            out.append("")
            rest = 0
            for f in fs:
                if listed >= opts.max_findings:
                    rest += 1
                    continue
                listed += 1
                conf = "" if f.confidence.value == "high" else f", {f.confidence.value} confidence"
                out.append(f"- `{paths.rel(f.path)}:{f.line}` [{f.severity.value}{conf}] {f.message}")
                for r in f.related[: opts.max_notes]:
                    out.append(f"  - note: `{paths.rel(r.path)}:{r.line}`: {r.message}")
                if len(f.related) > opts.max_notes:
                    out.append(f"  - and {len(f.related) - opts.max_notes} more notes")
            if rest:
                out.append(f"- …and {rest} more {code} findings (cut for size)")
            out.append("")
    return out


# ---------------------------------------------------------------------------
# excerpts


def _excerpts(findings: Sequence[Finding], all_findings: Sequence[Finding], paths: _Paths, opts: BriefOptions,
              redactor: Redactor) -> tuple[list[str], int]:
    ranked = sorted(findings, key=lambda f: (-f.severity.rank, {"high": 0, "medium": 1, "low": 2}[f.confidence.value],
                                             f.path, f.line, f.rule))
    spans = secret_spans(all_findings)
    sources: dict[str, list[str] | None] = {}
    chosen: list[tuple[str, int, int, list[str]]] = []  # (path, first, last, codes)
    used = 0
    for f in ranked:
        if len(chosen) >= opts.max_excerpts:
            break
        # a finding inside an excerpt already shown joins it
        joined = False
        for path, first, last, codes in chosen:
            if path == f.path and first <= f.line <= last:
                if f.rule not in codes:
                    codes.append(f.rule)
                joined = True
                break
        if joined:
            continue
        if f.path not in sources:
            sources[f.path] = _read_source(paths.absolute(f.path), spans.get(f.path, set()), redactor)
        lines = sources[f.path]
        if not lines:
            continue
        end = max(f.end_line, f.line)
        first = max(1, f.line - opts.excerpt_context)
        last = min(len(lines), end + opts.excerpt_context, first + opts.excerpt_lines - 1)
        if last < f.line:
            continue
        # an excerpt of the same file that overlaps or touches this one grows to cover both
        merged = False
        for k, (path, efirst, elast, codes) in enumerate(chosen):
            if path != f.path or first > elast + 1 or last < efirst - 1:
                continue
            nfirst, nlast = min(first, efirst), max(last, elast)
            if nlast - nfirst + 1 > opts.excerpt_lines:
                continue
            size = sum(len(lines[i - 1]) + 8 for i in range(nfirst, nlast + 1) if not efirst <= i <= elast)
            if used + size > opts.excerpt_budget:
                continue
            used += size
            chosen[k] = (path, nfirst, nlast, codes if f.rule in codes else [*codes, f.rule])
            merged = True
            break
        if merged:
            continue
        size = sum(len(lines[i - 1]) + 8 for i in range(first, last + 1)) + 80
        if used + size > opts.excerpt_budget:
            continue
        used += size
        chosen.append((f.path, first, last, [f.rule]))
    if not chosen:
        return [], 0
    flagged: dict[str, set[int]] = defaultdict(set)
    for f in findings:
        flagged[f.path].add(f.line)
    out = [f"## Code excerpts ({len(chosen)}, most severe findings first; `>` marks a flagged line)", ""]
    for path, first, last, codes in chosen:
        lines = sources[path] or []
        out.append(f"### `{paths.rel(path)}:{first}-{last}` ({', '.join(codes)})")
        out.append("```python")
        for i in range(first, last + 1):
            mark = ">" if i in flagged[path] else " "
            out.append(f"{mark}{i:5d} | {lines[i - 1]}".rstrip())
        out += ["```", ""]
    return out, len(chosen)


def _read_source(path: Path, secret_lines: set[int], redactor: Redactor) -> list[str] | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return redactor.redact_source(text, secret_lines).splitlines()


# ---------------------------------------------------------------------------
# gaps and standards


def _gaps(model: AppModel, diagnostics: Sequence[Diagnostic], paths: _Paths, limit: int) -> list[str]:
    out = [f"## What the model could not resolve ({len(model.unresolved)})", ""]
    if not model.unresolved:
        out.append("Nothing: every prefix, include and dependency the routes use was resolved statically.")
    for u in model.unresolved[:limit]:
        out.append(f"- `{paths.rel(u.path)}:{u.line}`: {u.what}: {u.reason}")
    if len(model.unresolved) > limit:
        out.append(f"- …and {len(model.unresolved) - limit} more")
    out.append("")
    diagnostics = [d for d in diagnostics if not d.is_note]  # the unresolved items are listed above
    files = [d for d in diagnostics if not d.path.startswith("<")]
    internal = [d for d in diagnostics if d.path.startswith("<")]
    if files or internal:
        out += [f"## Files not analyzed ({len(files)})", ""]
        out += [f"- `{paths.rel(d.path)}`: {d.message}" for d in files]
        out += [f"- {d.path}: {d.message}" for d in internal]
        out.append("")
    return out


def find_standards(roots: Iterable[Path]) -> list[Path]:
    """The standards files at the project root(s), in the order of ``STANDARDS_FILES``."""
    found: list[Path] = []
    seen: set[Path] = set()
    for root in roots:
        root = root.resolve()
        if root in seen:
            continue
        seen.add(root)
        for name in STANDARDS_FILES:
            p = root / name
            if p.is_file() and not any(f.name == name for f in found):
                found.append(p)
    return found


def _standards(files: Sequence[Path], budget: int) -> tuple[list[str], list[str]]:
    out: list[str] = []
    names: list[str] = []
    left = budget
    for p in files:
        if left <= 200:
            break
        try:
            text = p.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        names.append(p.name)
        out += [f"## Project standards: `{p.name}`", "",
                "The team's own conventions, quoted from the repository. Work within them.", ""]
        if len(text) > left:
            out.append(text[:left].rstrip())
            out.append(f"\n[… truncated: {left} of {len(text)} characters shown]")
            left = 0
        else:
            out.append(text)
            left -= len(text)
        out.append("")
    return out, names


# ---------------------------------------------------------------------------


def build_brief(model: AppModel, findings: Sequence[Finding], diagnostics: Sequence[Diagnostic], *,
                files: Mapping[str, Path], root: Path, project_name: str | None = None,
                standards: Sequence[Path] | None = None, options: BriefOptions | None = None) -> Brief:
    """The brief for ``model`` and ``findings``; ``files`` maps display paths to files on disk.

    ``standards`` defaults to the standards files found at ``root``.
    """
    opts = options or BriefOptions()
    focus = opts.focus
    if focus is not None and focus not in FOCUSES:
        raise ValueError(f"unknown focus {focus!r}")
    paths = _Paths(files, root)
    redactor = Redactor()
    parts = FOCUS_PARTS.get(focus or "", ALL_PARTS)
    cats = FOCUS_CATEGORIES.get(focus or "")
    kept = [f for f in findings if cats is None or _category(f.rule) in cats]
    name = project_name or root.resolve().name
    routes = list(model.iter_routes())

    out = [f"# Architecture brief: `{name}`", "",
           "Built by fastapi-arch-lint from a static analysis: the code was parsed, never imported or run. "
           "Paths are relative to the project root.",
           f"Focus: {focus or 'the whole application'}.",
           f"Scope: {_n(len(files), 'Python file')}, {_n(len(model.apps), 'app')}, {_n(len(routes), 'route')}, "
           f"{_n(len(model.models), 'Pydantic model')}, {_n(len(model.tables), 'table')}, "
           f"{_n(len(kept), 'finding')}, {_n(len(model.unresolved), 'unresolved item')}.", ""]
    out += _apps(model, paths, parts)
    if "routes" in parts:
        out += _routes(model, paths, opts.max_routes)
    if "dependencies" in parts:
        out += _dependency_graph(model, paths)
    if "models" in parts:
        out += _models(model, paths)
    if "tables" in parts:
        out += _tables(model, paths)
    out += _findings(kept, paths, opts, len(findings) - len(kept))
    excerpt_lines, n_excerpts = _excerpts(kept, findings, paths, opts, redactor)
    out += excerpt_lines
    out += _gaps(model, diagnostics, paths, opts.max_unresolved)
    std_files = list(standards) if standards is not None else find_standards([root])
    std_lines, std_names = _standards(std_files, opts.standards_budget)
    out += std_lines
    text = redactor.redact_text("\n".join(out).rstrip() + "\n")
    if redactor.count:
        text += (f"\n_{redactor.count} secret value{'s were' if redactor.count != 1 else ' was'} redacted "
                 "(shown as `<redacted>`) before this brief left the machine._\n")
    return Brief(text=text, redactions=redactor.count, findings=len(kept), excerpts=n_excerpts, standards=std_names)


def project_root(targets: Sequence[str | Path], config_root: Path | None = None) -> Path:
    """The folder the brief's paths are relative to and where standards files are looked for."""
    import os

    resolved = [Path(t).resolve() for t in targets if Path(t).exists()]
    if len(resolved) == 1:
        return resolved[0] if resolved[0].is_dir() else resolved[0].parent
    if config_root is not None:
        return config_root.resolve()
    if not resolved:
        return Path.cwd()
    return Path(os.path.commonpath([str(p if p.is_dir() else p.parent) for p in resolved]))


def brief_for_review(result: ReviewResult, root: Path, options: BriefOptions | None = None,
                     extra_roots: Sequence[Path] = ()) -> Brief:
    """The brief for an ``engine.review`` result."""
    files = {f.display: f.path for f in result.analysis.files}
    standards = find_standards([root, *extra_roots])
    return build_brief(result.analysis.model, result.findings, result.diagnostics, files=files, root=root,
                       standards=standards, options=options)
