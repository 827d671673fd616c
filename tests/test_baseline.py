"""Baselines: ``--write-baseline FILE`` then ``--baseline FILE`` reports only new findings, and
matching survives code moving (no line numbers in the identity)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fastapi_arch_lint.baseline import BaselineError, document, load, new_findings
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from gitrepo import run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "bigger_app"


def review(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, "review", *args)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    dst = tmp_path / "bigger_app"
    shutil.copytree(FIXTURE, dst)
    return dst


def test_baseline_survives_inserted_lines_and_reports_exactly_the_new_defect(app: Path) -> None:
    wrote = review(app, ".", "--write-baseline", "baseline.json")
    assert wrote.returncode == 0, wrote.stderr
    assert wrote.stdout == ""
    doc = json.loads((app / "baseline.json").read_text())
    assert doc["version"] == 1 and len(doc["findings"]) >= 20
    assert f"wrote {len(doc['findings'])} findings to baseline baseline.json" in wrote.stderr
    for entry in doc["findings"]:
        assert set(entry) == {"rule", "path", "entity", "fingerprint", "message"}
        assert entry["entity"], entry  # every rule that fired here names what it flagged
        assert len(entry["fingerprint"]) == 64
    keys = [(e["path"], e["rule"], e["entity"], e["message"]) for e in doc["findings"]]
    assert keys == sorted(keys)
    assert {e["path"] for e in doc["findings"]} >= {"app/routers/items.py", "app/schemas.py"}

    # five lines inserted at the top of two files with findings: every finding moves down
    for rel in ("app/routers/items.py", "app/schemas.py"):
        f = app / rel
        f.write_text("# one\n# two\n# three\n# four\n# five\n" + f.read_text())
    quiet = review(app, ".", "--baseline", "baseline.json")
    assert quiet.returncode == 0, quiet.stdout
    assert "No findings" in quiet.stdout

    # a new defect: an unbounded string read from the request body of POST /items/
    schemas = app / "app" / "schemas.py"
    text = schemas.read_text()
    assert "class ItemBase(BaseModel):\n" in text
    schemas.write_text(text.replace("class ItemBase(BaseModel):\n", "class ItemBase(BaseModel):\n    barcode: str\n", 1))
    # (FAL526 is a hardening hint, info, in a project that does not bound its strings: --fail-on info)
    new = review(app, ".", "--baseline", "baseline.json", "--format", "json", "--fail-on", "info")
    assert new.returncode == 1
    got = json.loads(new.stdout)["findings"]
    assert [(f["rule"], f["path"]) for f in got] == [("FAL526", "app/schemas.py")], got
    # the new field tips the project into not bounding its strings (8 of 10): one project-level
    # finding, which names the field among the places
    places = [got[0]["message"], *(r["message"] for r in got[0]["related"])]
    assert any("barcode" in m for m in places), got[0]


def test_bad_baselines_are_one_line_errors(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from fastapi_arch_lint.cli import cli

    monkeypatch.chdir(app)

    def review(cwd: Path, *args: str):  # in-process: these fail before any analysis
        return CliRunner().invoke(cli, ["review", *args])

    cases = {
        "missing.json": None,
        "broken.json": "{not json",
        "wrong.json": json.dumps({"version": 1, "results": []}),
        "future.json": json.dumps({"version": 9, "findings": []}),
        "badentry.json": json.dumps({"version": 1, "findings": [{"rule": 3}]}),
    }
    expected = {
        "missing.json": "baseline not found",
        "broken.json": "not valid JSON",
        "wrong.json": "not a fastapi-arch-lint baseline",
        "future.json": "has version 9",
        "badentry.json": "`rule` must be a string",
    }
    for name, content in cases.items():
        if content is not None:
            (app / name).write_text(content)
        proc = review(app, ".", "--baseline", name)
        assert proc.exit_code == 2, (name, proc.output[-500:])
        assert proc.stderr.count("\n") == 1 and expected[name] in proc.stderr, (name, proc.stderr)
        assert "Traceback" not in proc.stderr
    proc = review(app, ".", "--baseline", "b.json", "--write-baseline", "b.json")
    assert proc.exit_code == 2 and "cannot be combined" in proc.stderr
    proc = review(app, ".", "--write-baseline", "no/such/dir/b.json")
    assert proc.exit_code == 2 and proc.stderr.count("\n") == 1 and "does not exist" in proc.stderr


def _finding(line: int, message: str, entity: str = "GET /x app.x.f", rule: str = "FAL601") -> Finding:
    return Finding(rule, "n", Severity.WARNING, Confidence.HIGH, "app/x.py", line, 1, line, 2, message,
                   entity=entity)


def test_count_based_matching_reports_only_the_surplus(tmp_path: Path) -> None:
    old = [_finding(10, "blocks: a"), _finding(20, "blocks: b")]
    path = tmp_path / "b.json"
    path.write_text(json.dumps(document(old)))
    entries = load(path)
    # same key three times now: the two known messages are matched, the new one is reported
    now = [_finding(12, "blocks: a"), _finding(15, "blocks: c"), _finding(22, "blocks: b")]
    assert [f.message for f in new_findings(now, entries)] == ["blocks: c"]
    # messages changed (a count in them moved) but as many as before: nothing new
    assert new_findings([_finding(1, "blocks: a, 2 more"), _finding(2, "blocks: b, 1 more")], entries) == []
    # one more than recorded and no message to tell them apart: the last one in file order
    more = [_finding(1, "x"), _finding(2, "y"), _finding(3, "z")]
    assert [f.line for f in new_findings(more, entries)] == [3]
    # another entity, rule or file is another key
    assert len(new_findings([_finding(1, "blocks: a", entity="GET /y app.x.g")], entries)) == 1
    assert len(new_findings([_finding(1, "blocks: a", rule="FAL109")], entries)) == 1


def test_entity_falls_back_to_the_message(tmp_path: Path) -> None:
    old = [_finding(10, "a message", entity="")]
    path = tmp_path / "b.json"
    path.write_text(json.dumps(document(old)))
    entries = load(path)
    assert new_findings([_finding(99, "a message", entity="")], entries) == []
    assert len(new_findings([_finding(10, "another message", entity="")], entries)) == 1
    # a hand-written entry without a fingerprint is keyed like a written one
    path.write_text(json.dumps({"version": 1, "findings": [
        {"rule": "FAL601", "path": "app/x.py", "entity": "GET /x app.x.f", "message": "m"}]}))
    assert new_findings([_finding(5, "other text")], load(path)) == []
    path.write_text(json.dumps({"version": 1, "findings": [{"message": "m"}]}))
    with pytest.raises(BaselineError, match="neither a fingerprint nor a rule and path"):
        load(path)
