"""The CI output formats, from real runs of ``review`` on tests/fixtures/bigger_app."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.report import github, gitlab, junit

FIXTURE = Path(__file__).parent / "fixtures" / "bigger_app"
# the public OASIS SARIF 2.1.0 schema (errata01), shipped with the tests so validation always runs
SCHEMA = Path(__file__).resolve().parent / "schemas" / "sarif-schema-2.1.0.json"


def run(cwd: Path, fmt: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    proc = subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "review", ".", "--format", fmt, *extra],
                          cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 1, proc.stderr[-3000:]
    return proc


@pytest.fixture
def app(tmp_path: Path) -> Path:
    dst = tmp_path / "bigger_app"
    shutil.copytree(FIXTURE, dst)
    return dst


def insert_lines_above_first_finding(app: Path, sarif_doc: dict) -> str:
    uri = next(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif_doc["runs"][0]["results"])
    target = app / uri
    target.write_text("# one\n# two\n# three\n" + target.read_text())
    return uri


def test_sarif_validates_and_carries_what_code_scanning_reads(app: Path) -> None:
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - a broken dev environment must fail, not skip
        pytest.fail("jsonschema is needed to validate the SARIF output: pip install -e '.[dev]'")
    doc = json.loads(run(app, "sarif").stdout)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run_ = doc["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "fastapi-arch-lint" and driver["semanticVersion"]
    assert run_["automationDetails"]["id"] == "fastapi-arch-lint/"
    assert run_["invocations"][0]["executionSuccessful"] is True
    rules = driver["rules"]
    assert len(rules) >= 40  # every rule that ran, not only those with results
    by_id = {r["id"]: r for r in rules}
    for r in rules:
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["text"]
        assert len(r["help"]["text"]) <= 1024 and len(r["fullDescription"]["text"]) <= 1024
        assert r["help"]["markdown"]
        assert r["properties"]["precision"] in {"very-high", "high", "medium", "low"}
    fal401 = by_id["FAL401"]
    assert "security" in fal401["properties"]["tags"]
    assert "external/cwe/cwe-306" in fal401["properties"]["tags"]
    assert float(fal401["properties"]["security-severity"]) > 7
    assert fal401["defaultConfiguration"]["level"] == "error"
    results = run_["results"]
    assert results
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in {"error", "warning", "note"}
        loc = res["locations"][0]["physicalLocation"]
        assert not loc["artifactLocation"]["uri"].startswith(("/", "file:", ".."))
        assert loc["region"]["startLine"] >= 1
        assert res["partialFingerprints"]["fastapiArchLint/v1"]
    assert any(res.get("relatedLocations") for res in results)
    rel = next(res["relatedLocations"] for res in results if res.get("relatedLocations"))
    assert rel[0]["id"] >= 0 and rel[0]["message"]["text"]
    fps = [res["partialFingerprints"]["fastapiArchLint/v1"] for res in results]
    assert len(set(fps)) == len(fps)


def test_sarif_fingerprints_survive_inserted_lines(app: Path) -> None:
    before = json.loads(run(app, "sarif").stdout)
    uri = insert_lines_above_first_finding(app, before)
    after = json.loads(run(app, "sarif").stdout)

    def keyed(doc: dict) -> dict[str, tuple[str, int]]:
        return {r["partialFingerprints"]["fastapiArchLint/v1"]:
                (r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                 r["locations"][0]["physicalLocation"]["region"]["startLine"])
                for r in doc["runs"][0]["results"]}

    k1, k2 = keyed(before), keyed(after)
    assert set(k1) == set(k2)
    moved = [fp for fp, (u, line) in k1.items() if u == uri]
    assert moved and all(k2[fp][1] == k1[fp][1] + 3 for fp in moved)


def test_sarif_uris_are_relative_to_the_git_top_level(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo / "services" / "api")
    (repo / ".git").mkdir()  # enough for the top-level lookup, no git needed
    doc = json.loads(run(repo / "services" / "api", "sarif").stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]}
    assert uris and all(u.startswith("services/api/app/") for u in uris)


def test_github_escaping_functions() -> None:
    assert github.escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert github.escape_data("a:b,c") == "a:b,c"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    # % is escaped first: an already escaped-looking value is not double-decoded
    assert github.escape_property("%3A") == "%253A"


def _finding(**kw: object) -> Finding:
    base = dict(rule="FAL101", name="verb-in-path", severity=Severity.WARNING, confidence=Confidence.HIGH,
                path="app/x,y.py", line=3, column=5, end_line=3, end_column=9,
                message="50% of GET /a:b, then\nmore", help="", related=())
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


def test_github_annotation_escapes_and_guards_columns() -> None:
    line = github.annotation(_finding())
    assert line.startswith("::warning file=app/x%2Cy.py,line=3,endLine=3,col=5,endColumn=9,"
                           "title=fastapi-arch-lint (FAL101)::")
    assert line.endswith("::50%25 of GET /a:b, then%0Amore")
    assert "\n" not in line
    multi = github.annotation(_finding(end_line=5, severity=Severity.INFO))
    assert multi.startswith("::notice ") and "col=" not in multi and "endColumn=" not in multi
    assert "endLine=5" in multi
    err = github.annotation(_finding(severity=Severity.ERROR, related=(Related("app/m.py", 2, "included here"),)))
    assert err.startswith("::error ") and "%0Anote: app/m.py:2: included here" in err


def test_github_format_and_step_summary(app: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    out = run(app, "github", env={"GITHUB_STEP_SUMMARY": str(summary)}).stdout
    lines = out.strip().splitlines()
    assert lines and all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    assert any("file=app/routers/" in line for line in lines)
    for line in lines:
        props = line.split(" ", 1)[1].split("::", 1)[0]
        if "endLine=" in props and "col=" in props:
            fields = dict(p.split("=", 1) for p in props.split(","))
            assert fields["line"] == fields["endLine"]
    text = summary.read_text()
    assert text.startswith("earlier step\n")  # appended, not overwritten
    assert "## fastapi-arch-lint" in text and "| Severity | Rule | Location | Message |" in text
    assert "FAL401" in text or "FAL5" in text


def test_github_summary_is_capped() -> None:
    findings = [_finding(line=i, end_line=i, message="m|x") for i in range(1, 80)]
    md = github.summary_markdown(findings, [], files=1, max_rows=10)
    assert md.count("\n| warning |") == 10 and "69 more" in md and "m\\|x" in md


def test_gitlab_code_quality(app: Path) -> None:
    before = json.loads(run(app, "gitlab").stdout)
    assert isinstance(before, list) and before
    for item in before:
        assert set(item) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert item["description"].startswith(item["check_name"] + ": ")
        assert item["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert item["location"]["lines"]["begin"] >= 1 and not item["location"]["path"].startswith("/")
    fps = [i["fingerprint"] for i in before]
    assert len(set(fps)) == len(fps)
    path = before[0]["location"]["path"]
    (app / path).write_text("# one\n# two\n" + (app / path).read_text())
    after = json.loads(run(app, "gitlab").stdout)
    assert {i["fingerprint"] for i in after} == set(fps)
    b = {i["fingerprint"]: i["location"]["lines"]["begin"] for i in before if i["location"]["path"] == path}
    a = {i["fingerprint"]: i["location"]["lines"]["begin"] for i in after}
    assert all(a[fp] == line + 2 for fp, line in b.items())


def test_gitlab_duplicate_fingerprints_are_resalted() -> None:
    same = [_finding(), _finding(), _finding()]
    fps = [i["fingerprint"] for i in gitlab.document(same)]
    assert len(set(fps)) == 3
    assert fps == [i["fingerprint"] for i in gitlab.document(same)]


def test_junit(app: Path) -> None:
    out = run(app, "junit").stdout
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert suites and all(s.get("name", "").startswith("app/") for s in suites)
    cases = root.findall("testsuite/testcase")
    assert int(root.get("tests", "0")) == len(cases) == int(root.get("failures", "0"))
    assert all(c.find("failure") is not None for c in cases)


def test_junit_clean_run_is_one_passing_case() -> None:
    root = ET.fromstring(junit.render([], []).split("\n", 1)[1])
    cases = root.findall("testsuite/testcase")
    assert len(cases) == 1 and cases[0].find("failure") is None and root.get("failures") == "0"


def test_explicit_files_are_the_report_scope_and_the_project_the_analysis_scope(app: Path) -> None:
    """What pre-commit does: pass changed files. The rest of the app is still read for context."""
    whole = json.loads(run(app, "json").stdout)["findings"]
    expected = sorted((f["rule"], f["line"]) for f in whole if f["path"] == "app/routers/items.py")
    proc = subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "review", "app/routers/items.py",
                           "--format", "json"], cwd=app, capture_output=True, text=True, timeout=300)
    doc = json.loads(proc.stdout)
    assert {f["path"] for f in doc["findings"]} == {"app/routers/items.py"}
    assert sorted((f["rule"], f["line"]) for f in doc["findings"]) == expected
    assert doc["summary"]["files"] > 1  # the whole app was analyzed
    assert any(r["path"] == "app/main.py" for f in doc["findings"] for r in f["related"])
