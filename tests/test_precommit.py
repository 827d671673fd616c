"""The pre-commit round trip: ``pre-commit try-repo <this checkout> fastapi-arch-lint`` in a
temporary git repository with a small app, fails on a defect and passes once it is fixed.

``try-repo`` pip-installs this checkout (and its dependencies, from PyPI) into a fresh hook
environment; pre-commit's cache is kept in a temporary folder so the test never touches
``~/.cache/pre-commit``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import git

pytest.importorskip("pre_commit")

REPO = Path(__file__).resolve().parents[1]

MAIN = '''from fastapi import FastAPI

from app.routers import users

app = FastAPI()
app.include_router(users.router)
'''

USERS_BAD = '''from fastapi import APIRouter

router = APIRouter(prefix="/users")


@router.get("/get-user/{user_id}")
def read_user(user_id: int) -> dict:
    return {"id": user_id}
'''

USERS_GOOD = '''from fastapi import APIRouter

router = APIRouter(prefix="/users")


@router.get("/{user_id}")
def read_user(user_id: int) -> dict:
    return {"id": user_id}
'''


def hook_repo_snapshot(dest: Path) -> Path:
    """This checkout's working tree (tracked and untracked-but-not-ignored files) committed in a
    fresh repository: ``try-repo`` only sees committed files plus changes to *tracked* ones."""
    for rel in git(REPO, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0"):
        src = REPO / rel
        if rel and src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-q", "-m", "snapshot")
    return dest


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.skipif(not (REPO / ".git").exists(), reason="try-repo needs this checkout to be a git repository")
def test_pre_commit_hook_fails_on_a_defect_then_passes(tmp_path: Path) -> None:
    app_repo = tmp_path / "project"
    (app_repo / "app" / "routers").mkdir(parents=True)
    (app_repo / "app" / "__init__.py").write_text("")
    (app_repo / "app" / "routers" / "__init__.py").write_text("")
    (app_repo / "app" / "main.py").write_text(MAIN)
    users = app_repo / "app" / "routers" / "users.py"
    users.write_text(USERS_BAD)
    git(app_repo, "init", "-q")
    git(app_repo, "config", "user.email", "t@example.invalid")
    git(app_repo, "config", "user.name", "t")
    git(app_repo, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache"), "GIT_CONFIG_NOSYSTEM": "1"}
    env.pop("VIRTUAL_ENV", None)

    hook_repo = hook_repo_snapshot(tmp_path / "hook-repo")

    def hook() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "fastapi-arch-lint",
             "--files", "app/routers/users.py"],
            cwd=app_repo, env=env, capture_output=True, text=True, timeout=900,
        )

    bad = hook()
    assert bad.returncode == 1, bad.stdout[-4000:] + bad.stderr[-4000:]
    # the prefix comes from the unchanged router declaration; the finding is in the passed file
    assert "FAL1" in bad.stdout and "app/routers/users.py" in bad.stdout, bad.stdout[-4000:]
    users.write_text(USERS_GOOD)
    git(app_repo, "add", "-A")
    good = hook()
    assert good.returncode == 0, good.stdout[-4000:] + good.stderr[-4000:]
    assert "Passed" in good.stdout
