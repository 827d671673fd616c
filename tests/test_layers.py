"""The layering promises of ARCHITECTURE.md, checked on our own source (not on analyzed code).

``LAYERS`` is the table of ARCHITECTURE.md's "Layers and what each owns": for each unit (a
top-level module or package of ``fastapi_arch_lint``), the other units it may import. A test below
checks that ARCHITECTURE.md prints the same table, so the two cannot drift apart.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "fastapi_arch_lint"

# unit -> the units it may import (besides itself)
LAYERS: dict[str, frozenset[str]] = {
    "findings": frozenset(),
    "model": frozenset({"findings"}),
    "discovery": frozenset({"findings"}),
    "extract": frozenset({"model", "findings"}),
    "link": frozenset({"model", "findings"}),
    "analysis": frozenset({"model", "findings"}),
    "rule": frozenset({"model", "findings", "analysis", "rules"}),
    "rules": frozenset({"model", "findings", "analysis", "rule"}),
    "config": frozenset({"findings", "rule"}),
    "suppress": frozenset({"findings", "model", "rule", "discovery"}),
    "cache": frozenset({"model", "findings", "extract"}),
    "runner": frozenset({"findings", "model"}),
    "engine": frozenset({"findings", "model", "discovery", "extract", "link", "rule", "config", "suppress", "cache",
                         "runner"}),
    "apidiff": frozenset({"model", "findings"}),
    "gitutil": frozenset({"findings"}),
    "baseline": frozenset({"findings", "report"}),
    "report": frozenset({"findings", "model", "rule", "apidiff"}),
    "narrative": frozenset({"findings", "model", "rule", "report", "config", "engine"}),
    "cli": frozenset({"findings", "model", "discovery", "rule", "config", "cache", "engine", "apidiff", "gitutil",
                      "baseline", "report", "narrative", "server"}),
    "server": frozenset({"findings", "model", "discovery", "config", "cache", "engine", "report"}),
    "__main__": frozenset({"cli"}),
    "__init__": frozenset(),
}

# the modules of ``link/``, each importing only modules listed before it
LINK_ORDER = ("values", "knowledge", "project", "classes", "instances", "interpreter", "routerclasses", "schema", "dependencies", "callgraph", "callsites", "signatures",
              "rejections", "credentials", "auth", "middleware", "views", "blocks", "forwarders", "registered", "registrations", "routes", "answers", "build", "__init__")
LINK_MAX_LINES = 800


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


def unit_of(path: Path) -> str:
    first = path.relative_to(SRC).parts[0]
    return first[:-3] if first.endswith(".py") else first


def test_every_unit_is_in_the_table() -> None:
    units = {unit_of(p) for p in SRC.rglob("*.py")}
    assert units - LAYERS.keys() == set()


def test_units_import_only_what_the_table_allows() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        unit = unit_of(path)
        allowed = LAYERS.get(unit, frozenset()) | {unit}
        for m in imports_of(path):
            if m.startswith("fastapi_arch_lint."):
                target = m.split(".")[1]
                if target not in allowed:
                    offenders.append((path.relative_to(SRC).as_posix(), m))
    assert sorted(offenders) == []


def test_architecture_md_prints_the_same_table() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Layers and what each owns", 1)[1].split("\n## ", 1)[0]
    printed: dict[str, frozenset[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([\w.]+?)(?:/|\.py)?`", cells[0])
        may = frozenset(re.findall(r"`([\w]+)`", cells[2].split(";")[0]))
        for n in names:
            printed[n] = may
    assert printed == LAYERS


def test_libcst_lives_only_in_the_extractor() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("extract/"):
            continue
        if any(m == "libcst" or m.startswith("libcst.") for m in imports_of(path)):
            offenders.append(rel)
    assert offenders == []


def test_link_modules_import_only_those_before_them() -> None:
    offenders = []
    for path in modules("link"):
        me = path.stem
        assert me in LINK_ORDER, f"link/{path.name} is not in LINK_ORDER"
        before = set(LINK_ORDER[: LINK_ORDER.index(me)])
        for m in imports_of(path):
            if m.startswith("fastapi_arch_lint.link."):
                other = m.split(".")[2]
                if other not in before:
                    offenders.append((path.name, m))
    assert offenders == []


def test_link_modules_stay_small() -> None:
    long = {p.name: n for p in modules("link") if (n := len(p.read_text(encoding="utf-8").splitlines())) > LINK_MAX_LINES}
    assert long == {}


def test_the_interpreter_knows_no_library() -> None:
    """FastAPI's names are injected (``canonical``, ``same_object_attrs``), never imported."""
    text = (SRC / "link" / "interpreter.py").read_text(encoding="utf-8")
    assert "fastapi_arch_lint.link.knowledge" not in imports_of(SRC / "link" / "interpreter.py")
    assert not re.search(r"[\"']fastapi\.", text)


def test_rules_never_see_the_syntax_tree_or_the_extractor() -> None:
    offenders = []
    for path in modules("rules") + [SRC / "rule.py"]:
        bad = {m for m in imports_of(path) if m.startswith(("fastapi_arch_lint.extract", "fastapi_arch_lint.link", "libcst",
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


def test_rules_import_no_other_rule_module() -> None:
    """Helpers shared by a category's rules live in its ``_common.py``; shared across categories, in
    ``rules/_util.py`` (or the analysis layer)."""
    offenders = []
    for path in modules("rules"):
        for m in imports_of(path):
            if not m.startswith("fastapi_arch_lint.rules."):
                continue
            last = m.rsplit(".", 1)[-1]
            if not (last.startswith("_") or m.count(".") == 2):
                offenders.append((path.relative_to(SRC).as_posix(), m))
    assert offenders == []
