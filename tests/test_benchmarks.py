"""The benchmark stays runnable: the generator is deterministic and makes a project the tool
analyzes for real, and ``benchmarks/run.py`` prints its table on a codebase. Nothing here is
timed: speed is the benchmark's business, not the test suite's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

from generate import generate  # noqa: E402


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def test_the_generator_is_deterministic_and_gives_findings(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    stats = generate(a, 2_000)
    generate(b, 2_000)
    assert tree(a) == tree(b)
    assert stats["files"] == len(tree(a)) and 1_500 <= stats["lines"] <= 3_000
    out = subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "review", str(a), "--format", "json",
                          "--no-cache", "--exit-zero"], capture_output=True, text=True, timeout=300)
    report = json.loads(out.stdout)
    rules = {f["rule"] for f in report["findings"]}
    # unauthenticated routes, blocking calls in async handlers, SQL built with an f-string
    assert {"FAL401", "FAL601", "FAL520"} <= rules, sorted(rules)
    assert not report["diagnostics"]


def test_run_prints_the_table_for_a_real_codebase(tmp_path: Path) -> None:
    app = ROOT / "tests" / "fixtures" / "bigger_app"
    raw = tmp_path / "samples.json"
    out = subprocess.run([sys.executable, str(BENCH / "run.py"), "--path", str(app), "--repeat", "1",
                          "--workdir", str(tmp_path / "work"), "--json", str(raw)],
                         capture_output=True, text=True, timeout=600, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    for row in ("LibCST parse (floor)", "review cold, 1 job", "review warm,", "review --no-cache, 1 job"):
        assert f"| {row}" in text
    assert "review 1 file edited" not in text  # a real codebase is never modified
    assert "In-process stages of one cold run" in text and "Memory: review cold, 1 job peaks at" in text
    (result,) = json.loads(raw.read_text())
    assert result["files"] == len(list(app.rglob("*.py")))
    assert all(s["wall"] > 0 for runs in result["samples"].values() for s in runs)
