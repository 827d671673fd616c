"""Tiny multi-module projects written to a directory and analyzed: the linker's tests share this."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fastapi_arch_lint.engine import Analysis, analyze


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"))


def project(root: Path, files: dict[str, str]) -> Analysis:
    """``files`` written under ``root`` and analyzed; every file must analyze."""
    write(root, files)
    analysis = analyze([root])
    assert analysis.diagnostics == [], analysis.diagnostics
    return analysis
