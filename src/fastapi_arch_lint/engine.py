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
