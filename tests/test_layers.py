"""The layering promises of ARCHITECTURE.md, checked on our own source (not on analyzed code)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "fastapi_arch_lint"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def modules(under: str) -> list[Path]:
    return sorted((SRC / under).rglob("*.py")) if (SRC / under).is_dir() else [SRC / under]


def test_libcst_lives_only_in_the_extractor() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("extract/") and rel != "extract/link.py":
            continue
        if any(m == "libcst" or m.startswith("libcst.") for m in imports_of(path)):
            offenders.append(rel)
    assert offenders == []


def test_rules_never_see_the_syntax_tree_or_the_extractor() -> None:
    offenders = []
    for path in modules("rules") + [SRC / "rule.py"]:
        bad = {m for m in imports_of(path) if m.startswith(("fastapi_arch_lint.extract", "libcst",
                                                                 "fastapi_arch_lint.engine", "fastapi_arch_lint.cli"))}
        if bad:
            offenders.append((path.relative_to(SRC).as_posix(), sorted(bad)))
    assert offenders == []


def test_the_analysis_layer_imports_only_the_model_and_findings() -> None:
    """``analysis/`` derives data from the linked model for rules of any category: it never sees
    the extractor (nor LibCST), the rules, the engine or the command line."""
    assert modules("analysis")
    offenders = []
    for path in modules("analysis"):
        bad = {m for m in imports_of(path)
               if (m.startswith("fastapi_arch_lint.") and not m.startswith(
                   ("fastapi_arch_lint.analysis", "fastapi_arch_lint.model", "fastapi_arch_lint.findings")))
               or m == "libcst" or m.startswith("libcst.")}
        if bad:
            offenders.append((path.relative_to(SRC).as_posix(), sorted(bad)))
    assert offenders == []


def test_the_extractor_answers_without_the_analysis_layer() -> None:
    """The linker records its answers in the model; what derives from the model sits above it."""
    offenders = [p.relative_to(SRC).as_posix() for p in modules("extract")
                 if any(m.startswith(("fastapi_arch_lint.analysis", "fastapi_arch_lint.rules")) for m in imports_of(p))]
    assert offenders == []


def test_model_and_findings_import_nothing_above_them() -> None:
    offenders = []
    for path in modules("model") + [SRC / "findings.py"]:
        bad = {m for m in imports_of(path)
               if m.startswith("fastapi_arch_lint.") and not m.startswith(("fastapi_arch_lint.model", "fastapi_arch_lint.findings"))}
        if bad:
            offenders.append((path.relative_to(SRC).as_posix(), sorted(bad)))
    assert offenders == []


def test_nothing_imports_the_cli() -> None:
    offenders = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")
                 if p.name not in ("cli.py", "__main__.py") and "fastapi_arch_lint.cli" in imports_of(p)]
    assert offenders == []


def test_security_rules_share_helpers_through_common_not_each_other() -> None:
    """A rule module imports what it shares with other rules from ``_common`` or the analysis layer."""
    offenders = []
    for path in modules("rules/security"):
        for m in imports_of(path):
            if m.startswith("fastapi_arch_lint.rules.") and not m.rsplit(".", 1)[-1].startswith("_"):
                offenders.append((path.relative_to(SRC).as_posix(), m))
    assert offenders == []
