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


def extract_all(files: Sequence[SourceFile], *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[Extracted]:
    return [extract_file(f.path, f.display, max_bytes=max_bytes) for f in files]


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
) -> Analysis:
    found = discover(targets, excludes, base=base)
    extracted = extract_all(found.files, max_bytes=max_bytes)
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
