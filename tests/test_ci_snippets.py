"""The CI and pre-commit configuration we tell users to copy works as written.

* ``action.yml``: the shell of its ``Review`` step runs (with GitHub's own bash flags) against a
  small app in a temporary git repository: annotations on stdout, the SARIF file, the step
  outputs, the job summary with the API change; ``fail-on: never`` and a bad ``fail-on``.
  The install step needs PyPI, so it is only syntax-checked here.
* README, GitLab CI: the ``fastapi-arch-lint`` and ``git`` lines of both jobs' scripts run as
  written (the ``pip install`` line is skipped: the tool is already installed here), against a
  repository with an ``origin`` remote on the local disk.
* README, pre-commit: the ``repo: local`` configuration runs with the real pre-commit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import commit_all, git

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(shutil.which("git") is None or not (BIN / "fastapi-arch-lint").exists(),
                                reason="needs git and the installed fastapi-arch-lint script")

FILES = {
    "app/__init__.py": "",
    "app/routers/__init__.py": "",
    "app/deps.py": '''from fastapi.security import OAuth2PasswordBearer

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")
''',
    "app/routers/notes.py": '''from fastapi import APIRouter, Depends

from app.deps import oauth2_scheme

router = APIRouter(prefix="/notes", dependencies=[Depends(oauth2_scheme)])


@router.get("/")
def list_notes(limit: int = 20, offset: int = 0) -> list[str]:
    return []


@router.delete("/{note_id}", status_code=204)
def delete_note(note_id: int) -> None:
    return None
''',
    "app/main.py": '''from fastapi import FastAPI

from app.routers import notes

app = FastAPI()
app.include_router(notes.router)
''',
}


def make_repo(root: Path) -> Path:
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    commit_all(root, "base")
    return root


def feature_branch(root: Path) -> None:
    """A pull request that drops the router's auth and adds a route with a verb in its path."""
    git(root, "checkout", "-q", "-b", "feature")
    notes = root / "app" / "routers" / "notes.py"
    text = notes.read_text().replace(', dependencies=[Depends(oauth2_scheme)]', '')
    notes.write_text(text + '\n\n@router.post("/create-note")\ndef create_note(text: str) -> None:\n    return None\n')
    git(root, "commit", "-q", "-am", "feature")


def readme_blocks(lang: str) -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## In CI and pre-commit", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", section, flags=re.S)


# ------------------------------------------------------------------ action.yml

def action_steps() -> dict[str, dict]:
    doc = yaml.safe_load((REPO / "action.yml").read_text())
    assert doc["runs"]["using"] == "composite"
    return {s["name"]: s for s in doc["runs"]["steps"]}


def test_action_inputs_are_declared_and_scripts_parse() -> None:
    doc = yaml.safe_load((REPO / "action.yml").read_text())
    declared = set(doc["inputs"])
    assert declared == {"path", "args", "python-version", "sarif-file", "fail-on", "diff-base"}
    used = set(re.findall(r"inputs\.([a-z-]+)", (REPO / "action.yml").read_text()))
    assert used <= declared, used - declared
    for step in doc["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], "inputs reach the shell through env:, never by interpolation"
            subprocess.run(["bash", "-n", "-c", step["run"]], check=True)


def run_review_step(cwd: Path, tmp: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    step = action_steps()["Review"]
    assert set(step["env"]) == {"FAL", "INPUT_PATH", "INPUT_ARGS", "INPUT_SARIF_FILE", "INPUT_FAIL_ON", "INPUT_DIFF_BASE"}
    defaults = {k: str(v["default"]) for k, v in yaml.safe_load((REPO / "action.yml").read_text())["inputs"].items()}
    values = {**defaults, **inputs}
    out, summary = tmp / "github_output", tmp / "step_summary"
    out.write_text("")
    summary.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({
        "FAL": str(BIN / "fastapi-arch-lint"),
        "INPUT_PATH": values["path"], "INPUT_ARGS": values["args"], "INPUT_SARIF_FILE": values["sarif-file"],
        "INPUT_FAIL_ON": values["fail-on"], "INPUT_DIFF_BASE": values["diff-base"],
        "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(tmp),
        "GITHUB_ACTIONS": "true",
    })
    script = tmp / "review.sh"
    script.write_text(step["run"])
    # how GitHub runs `shell: bash`
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    return proc, outputs, summary.read_text()


def test_action_review_step(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "project")
    feature_branch(repo)
    work = tmp_path / "runner"
    work.mkdir()
    proc, outputs, summary = run_review_step(repo, work, **{"diff-base": "main", "args": "--select FAL1,FAL4"})
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    annotations = [line for line in proc.stdout.splitlines() if line.startswith(("::error ", "::warning ", "::notice "))]
    # the pull request leaves the app authenticating none of its routes: one FAL401 for the app, at its constructor
    assert any("file=app/main.py" in a and "FAL401" in a and "authenticates none of its" in a
               for a in annotations), proc.stdout
    assert any("FAL101" in a for a in annotations), proc.stdout  # the verb in the new path
    sarif = json.loads((repo / "fastapi-arch-lint.sarif").read_text())
    results = sarif["runs"][0]["results"]
    assert all(r["ruleId"].startswith(("FAL1", "FAL4")) for r in results) and results
    assert outputs == {"sarif-file": "fastapi-arch-lint.sarif", "exit-code": "1"}
    assert "fastapi-arch-lint" in summary and "## API changes: main (" in summary
    assert "auth-lost" in summary and "DELETE /notes/{note_id}" in summary

    # fail-on never: the same reports, exit 0 (API diff included)
    proc, outputs, _ = run_review_step(repo, work, **{"fail-on": "never", "diff-base": "main", "sarif-file": "x.sarif"})
    assert proc.returncode == 0 and outputs["exit-code"] == "0", proc.stderr[-2000:]
    assert (repo / "x.sarif").exists()

    proc, outputs, _ = run_review_step(repo, work, **{"fail-on": "sometimes"})
    assert proc.returncode == 2 and outputs == {"exit-code": "2"}
    assert "::error title=fastapi-arch-lint::fail-on must be" in proc.stdout


# ------------------------------------------------------------------ README: GitLab CI

def run_script_lines(lines: list[str], cwd: Path, env: dict[str, str]) -> int:
    """GitLab runs each line in one shell and stops at the first failure; pip is skipped here."""
    for line in lines:
        if line.startswith("pip install"):
            continue
        proc = subprocess.run(["bash", "-eo", "pipefail", "-c", line], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=300)
        if proc.returncode != 0:
            return proc.returncode
    return 0


def test_readme_gitlab_ci_jobs(tmp_path: Path) -> None:
    blocks = [b for b in readme_blocks("yaml") if "codequality" in b]
    assert len(blocks) == 1
    jobs = yaml.safe_load(blocks[0])
    assert set(jobs) == {"fastapi-arch-lint", "fastapi-arch-lint-api-diff"}
    origin = tmp_path / "origin.git"
    repo = make_repo(tmp_path / "project")
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    feature_branch(repo)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
                "CI_PIPELINE_SOURCE": "merge_request_event"})

    review = jobs["fastapi-arch-lint"]
    assert run_script_lines(review["script"], repo, env) == 1  # findings fail the job...
    assert review["artifacts"]["when"] == "always"              # ...and the report is still uploaded
    report = repo / review["artifacts"]["reports"]["codequality"]
    quality = json.loads(report.read_text())
    assert isinstance(quality, list) and quality
    assert all({"description", "check_name", "fingerprint", "severity", "location"} <= set(q) for q in quality)

    api = jobs["fastapi-arch-lint-api-diff"]
    assert api["variables"]["GIT_DEPTH"] == 0
    assert run_script_lines(api["script"], repo, env) == 1  # the router lost its auth
    md = (repo / api["artifacts"]["paths"][0]).read_text()
    assert md.startswith("## API changes: ") and "auth-lost" in md


# ------------------------------------------------------------------ README: pre-commit

def test_readme_pre_commit_local_hook(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    local = [b for b in readme_blocks("yaml") if "repo: local" in b]
    remote = [b for b in readme_blocks("yaml") if "rev: " in b and "hooks:" in b]
    assert len(local) == 1 and len(remote) == 1
    hook_ids = {h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert {h["id"] for r in yaml.safe_load(remote[0])["repos"] for h in r["hooks"]} <= hook_ids
    repo = make_repo(tmp_path / "project")
    (repo / ".pre-commit-config.yaml").write_text(local[0])
    notes = repo / "app" / "routers" / "notes.py"
    notes.write_text(notes.read_text().replace('"/{note_id}"', '"/delete-note/{note_id}"'))
    git(repo, "add", "-A")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", "PRE_COMMIT_HOME": str(tmp_path / "pc-home")})
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--files", "app/routers/notes.py"], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "fastapi-arch-lint" in proc.stdout and "Failed" in proc.stdout
    assert "app/routers/notes.py:" in proc.stdout and "FAL101" in proc.stdout
