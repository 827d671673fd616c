"""``review --changed-since REF``: the whole app is analyzed, only findings on lines changed since
the merge base are reported (committed on the branch, staged, unstaged, untracked).

Real runs of the CLI in a temporary git repository whose first commit is a copy of
tests/fixtures/bigger_app.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fastapi_arch_lint.gitutil import _unquote, parse_unified_diff
from gitrepo import commit_all, git, run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "bigger_app"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def review(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, "review", *args)


def findings(proc: subprocess.CompletedProcess[str]) -> set[tuple[str, int, str]]:
    assert proc.stdout.startswith("{"), proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    return {(f["path"], f["line"], f["rule"]) for f in doc["findings"]}


def replace_line(path: Path, old: str, new: str) -> int:
    """Replace the one line equal to ``old`` (stripped); its 1-based number."""
    lines = path.read_text().split("\n")
    hits = [i for i, line in enumerate(lines) if line.strip() == old]
    assert len(hits) == 1, (old, hits)
    indent = lines[hits[0]][: len(lines[hits[0]]) - len(lines[hits[0]].lstrip())]
    lines[hits[0]] = indent + new
    path.write_text("\n".join(lines))
    return hits[0] + 1


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    (root / "app" / "legacy.py").write_text("def broken(:\n    pass\n")  # a file that never parses
    commit_all(root, "base: bigger_app")
    return root


SECRET_SETTINGS = '''from pydantic_settings import BaseSettings


class MailSettings(BaseSettings):
    smtp_password: str = "hunter2-hunter2-hunter2"
'''


def test_only_findings_on_changed_lines_are_reported(repo: Path) -> None:
    before = review(repo, ".", "--format", "json")
    assert before.returncode == 1
    everything = findings(before)
    assert len(everything) >= 20
    assert any(d["path"] == "app/legacy.py" for d in json.loads(before.stdout)["diagnostics"])

    git(repo, "checkout", "-q", "-b", "feature")
    # 1. committed on the branch: the page size of GET /users/ (FAL109 sits on this line)
    users = repo / "app" / "routers" / "users.py"
    committed = replace_line(users, "limit: int = 100,", "limit: int = 500,")
    git(repo, "commit", "-q", "-am", "bigger pages")
    # 2. staged: a string field of UserBase (FAL526 sits on this line)
    schemas = repo / "app" / "schemas.py"
    staged = replace_line(schemas, "email: str", "email: str  # contact address")
    git(repo, "add", "app/schemas.py")
    # 3. unstaged: the hard-coded secret default in config.py (FAL504)
    config = repo / "app" / "config.py"
    text = config.read_text()
    unstaged = next(i + 1 for i, line in enumerate(text.splitlines()) if "secret_key" in line)
    config.write_text(text.replace("secret_key: str =", "secret_key: str  =", 1))
    # 4. untracked: a new settings module with a secret default, and a new broken file
    (repo / "app" / "mail.py").write_text(SECRET_SETTINGS)
    (repo / "app" / "broken_new.py").write_text("class (:\n")
    # an untouched line in a touched file must stay silent: users.py:24 (FAL601) is not changed
    assert ("app/routers/users.py", 24, "FAL601") in everything

    proc = review(repo, ".", "--format", "json", "--changed-since", "main")
    assert proc.returncode == 1, proc.stderr
    got = findings(proc)
    assert got == {
        ("app/routers/users.py", committed, "FAL109"),
        ("app/schemas.py", staged, "FAL526"),
        ("app/config.py", unstaged, "FAL504"),
        ("app/mail.py", 5, "FAL504"),
    }, got
    diags = {d["path"] for d in json.loads(proc.stdout)["diagnostics"]}
    assert diags == {"app/broken_new.py"}  # app/legacy.py is broken but unchanged

    # the same lines with the changes committed on the branch, main moved on meanwhile:
    # the merge base, not main's tip, is the reference
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "more")
    git(repo, "checkout", "-q", "main")
    (repo / "app" / "unrelated.py").write_text("X = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "main moves on")
    git(repo, "checkout", "-q", "feature")
    again = review(repo, ".", "--format", "json", "--changed-since", "main")
    assert findings(again) == got

    # nothing changed since HEAD: clean, exit 0, even though the app has findings
    clean = review(repo, ".", "--changed-since", "HEAD")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No findings" in clean.stdout


def test_a_finding_moved_by_an_insertion_is_not_reported(repo: Path) -> None:
    """Inserting lines above a finding shifts it but does not change its line."""
    items = repo / "app" / "routers" / "items.py"
    items.write_text("# a comment\n# another\n" + items.read_text())
    proc = review(repo, ".", "--format", "json", "--changed-since", "HEAD")
    assert proc.returncode == 0 and findings(proc) == set(), proc.stdout


def test_errors_are_one_line_and_exit_2(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from fastapi_arch_lint.cli import cli

    def review(cwd: Path, *args: str):  # in-process: these fail before any analysis
        monkeypatch.chdir(cwd)
        res = CliRunner().invoke(cli, ["review", *args])
        res.returncode = res.exit_code
        return res

    unknown = review(repo, ".", "--changed-since", "no-such-branch")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().count("\n") == 0 and "unknown git revision `no-such-branch`" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    outside = tmp_path / "not-a-repo"
    shutil.copytree(FIXTURE, outside)
    proc = review(outside, ".", "--changed-since", "main")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not inside a git repository" in proc.stderr

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    git(fresh, "init", "-q")
    proc = review(fresh, ".", "--changed-since", "HEAD")
    assert proc.returncode == 2 and "no commits yet" in proc.stderr and proc.stderr.count("\n") == 1


def test_parse_unified_diff() -> None:
    diff = b"\n".join([
        b"diff --git a/app/x.py b/app/x.py",
        b"index 1..2 100644",
        b"--- a/app/x.py",
        b"+++ b/app/x.py",
        b"@@ -3 +3 @@ def f():",          # one line replaced (count omitted = 1)
        b"-    a",
        b"+    b",
        b"@@ -10,0 +11,3 @@",            # three lines inserted
        b"@@ -20,2 +23,0 @@",            # a pure deletion adds nothing
        b"diff --git a/gone.py b/gone.py",
        b"deleted file mode 100644",
        b"--- a/gone.py",
        b"+++ /dev/null",
        b"@@ -1,2 +0,0 @@",
        b'diff --git "a/sp\\303\\251cial name.py" "b/sp\\303\\251cial name.py"',
        b'--- "a/sp\\303\\251cial name.py"',
        b'+++ "b/sp\\303\\251cial name.py"',
        b"@@ -0,0 +1,2 @@",
        b"diff --git a/with space.py b/with space.py",
        b"--- a/with space.py\t",
        b"+++ b/with space.py\t",
        b"@@ -5 +5,2 @@",
        b"diff --git a/old.py b/moved.py",
        b"similarity index 100%",
        b"rename from old.py",
        b"rename to moved.py",
    ])
    got = parse_unified_diff(diff)
    assert got == {
        "app/x.py": {3, 11, 12, 13},
        "spécial name.py": {1, 2},
        "with space.py": {5, 6},
        "moved.py": set(),
    }
    assert _unquote(b'"tab\\there\\"q\\\\"') == 'tab\there"q\\'
