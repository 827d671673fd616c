"""Helpers the CI report formats (SARIF, GitHub, GitLab) and baselines share.

* ``repo_relative``: a finding's path relative to its git repository's top level (found
  by walking up to a ``.git`` entry, no subprocess), else to the current folder.
* ``fingerprint_base`` / ``fingerprints``: line-independent fingerprints that hash
  rule + path + the finding's entity (its message when it has none), never the line
  number, so they survive code moving.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from fastapi_arch_lint.findings import Finding


@lru_cache(maxsize=256)
def _git_root(folder: str) -> Path | None:
    p = Path(folder)
    for candidate in (p, *p.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def repo_relative(path: str, cwd: Path | None = None) -> str:
    """``path`` (as printed: relative to the working folder, or absolute) relative to its git
    repository's top level, posix separators; relative to the working folder outside git."""
    if path.startswith("<"):  # "<internal>" and friends
        return path
    cwd = cwd or Path.cwd()
    absolute = Path(os.path.abspath(cwd / path))
    root = _git_root(str(absolute.parent)) or cwd.resolve()
    for base in (root, root.resolve()):
        for candidate in (absolute, absolute.resolve()):
            try:
                return candidate.relative_to(base).as_posix()
            except ValueError:
                continue
    return Path(path).as_posix()


def fingerprint_base(f: Finding, rel_path: str) -> str:
    what = f.entity or f.message
    return hashlib.sha256(f"{f.rule}\0{rel_path}\0{what}".encode("utf-8", "surrogateescape")).hexdigest()


def fingerprints(findings: Sequence[Finding], rel_paths: Sequence[str]) -> list[str]:
    """One line-independent fingerprint per finding; duplicates are re-salted with the
    previous hash (ruff's GitLab scheme), so they stay unique and stable in order."""
    seen: set[str] = set()
    out = []
    for f, rel in zip(findings, rel_paths):
        fp = fingerprint_base(f, rel)
        while fp in seen:
            fp = hashlib.sha256(f"{fp}\0{f.rule}\0{rel}".encode("utf-8", "surrogateescape")).hexdigest()
        seen.add(fp)
        out.append(fp)
    return out
