"""The negative control: `review` must stay quiet on tests/fixtures/good_app.

good_app is a deliberately well-built FastAPI backend (layered, authenticated, paginated,
Pydantic v2 Create/Update/Read models, SQLAlchemy 2.0 tables with indexed foreign keys).
Any error or warning reported on it is either a false alarm of a rule or a real flaw of
the fixture; the failure message lists the findings so you can tell which.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
GOOD_APP = REPO_ROOT / "tests" / "fixtures" / "good_app"
SUBPROCESS_TIMEOUT = 180


@functools.cache
def review_report() -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # the package may not be installed in the venv: make src/ importable either way
    env["PYTHONPATH"] = str(REPO_ROOT / "src")
    proc = subprocess.run(
        [sys.executable, "-m", "fastapi_arch_lint", "review", ".", "--format", "json"],
        cwd=GOOD_APP,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env=env,
    )
    # exit 1 only means "findings at or above the fail level": the assertions below say which
    assert proc.returncode in (0, 1), (
        f"review exited with {proc.returncode}\n--- stdout ---\n{proc.stdout[-4000:]}\n"
        f"--- stderr ---\n{proc.stderr[-4000:]}"
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:  # pragma: no cover - only on a broken reporter
        raise AssertionError(f"review did not print JSON ({exc})\n{proc.stdout[:4000]}") from exc
    assert isinstance(report, dict)
    return report


def _describe(finding: dict[str, Any]) -> str:
    where = f"{finding.get('path')}:{finding.get('line')}"
    return (
        f"{finding.get('rule')} {finding.get('name')} [{finding.get('severity')}] {where}: "
        f"{finding.get('message')}"
    )


def test_good_app_has_no_error_or_warning() -> None:
    findings = review_report()["findings"]
    bad = [f for f in findings if f.get("severity") in ("error", "warning")]
    assert not bad, (
        f"{len(bad)} error/warning finding(s) on the deliberately good app "
        "(a false alarm of the rule, or a real flaw of the fixture):\n"
        + "\n".join(f"  {_describe(f)}" for f in bad)
    )


def test_good_app_is_fully_analyzed() -> None:
    report = review_report()
    assert report["diagnostics"] == [], report["diagnostics"]
    assert report["summary"]["files"] >= 15, report["summary"]
