"""Helpers for the tests that build a git repository and run the CLI in it (diff,
--changed-since, baselines, the CI snippets, the pre-commit hook)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def clean_env() -> dict[str, str]:
    """This environment without ``GIT_*`` variables (a test run from a git hook has them)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=clean_env()).stdout


def commit_all(root: Path, message: str = "base", *, branch: str | None = "main") -> Path:
    """``git init`` ``root`` (on ``branch``), set a local identity and commit every file."""
    git(root, "init", "-q", *(["-b", branch] if branch else []))
    git(root, "config", "user.email", "dev@example.invalid")
    git(root, "config", "user.name", "Dev")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return root


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m fastapi_arch_lint ARGS`` in ``cwd``, outside any git hook's environment."""
    return subprocess.run([sys.executable, "-m", "fastapi_arch_lint", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=clean_env())


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``path``."""
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))
