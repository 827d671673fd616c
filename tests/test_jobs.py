"""``--jobs``: the process pool gives the same result as one process; a file that kills its
worker (LibCST's native parser overflows its stack) or hangs it becomes a diagnostic naming
it, and the rest of the run is exactly what it is without that file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_arch_lint import engine
from fastapi_arch_lint.cache import FactCache
from fastapi_arch_lint.report.inspect import render_json

FIXTURES = Path(__file__).parent / "fixtures"
# The parser's guards now stop the inputs known to kill LibCST (``x = ------...1`` 30,000 deep
# segfaulted it), so the worker is made to die for real instead: workers are forked from this
# process with ``extract_source`` patched to raise SIGSEGV on ``generated*.py`` and to hang on
# ``slow.py``.
_CRASH_PATCH = """
import multiprocessing, os, signal, time
from fastapi_arch_lint import engine
_real = engine.extract_source
def _fake(source, display, **kw):
    name = display.rsplit("/", 1)[-1]
    if name.startswith("generated"):
        os.kill(os.getpid(), signal.SIGSEGV)
    if name == "slow.py":
        time.sleep(600)
    return _real(source, display, **kw)
engine.extract_source = _fake
engine._mp_context = lambda: multiprocessing.get_context("fork")
"""


@pytest.fixture
def dying_workers(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import faulthandler
    import multiprocessing
    import os
    import signal
    import time

    real = engine.extract_source

    def fake(source: bytes, display: str, **kw):  # type: ignore[no-untyped-def]
        assert multiprocessing.parent_process() is not None, "only ever called in a worker"
        name = display.rsplit("/", 1)[-1]
        if name.startswith("generated"):
            faulthandler.disable()  # pytest's handler would print the dying worker's stack
            os.kill(os.getpid(), signal.SIGSEGV)
        if name == "slow.py":
            time.sleep(600)
        return real(source, display, **kw)

    monkeypatch.setattr(engine, "extract_source", fake)
    monkeypatch.setattr(engine, "_mp_context", lambda: multiprocessing.get_context("fork"))


DIES = b"x = 1\n"  # its content does not matter: the patched worker dies on its name


def app_with(tmp_path: Path, extra: dict[str, bytes]) -> Path:
    app = tmp_path / "proj"
    shutil.copytree(FIXTURES / "factory_app", app)
    for rel, data in extra.items():
        (app / rel).write_bytes(data)
    return app


def inspect_json(analysis: engine.Analysis, drop: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    return render_json(analysis.model, [d for d in analysis.diagnostics if not d.path.endswith(tuple(drop))])


@pytest.mark.parametrize("fixture", ["good_app", "factory_app"])
def test_pool_equals_one_process(fixture: str) -> None:
    target = FIXTURES / fixture
    one = engine.analyze([target], base=target, jobs=1)
    two = engine.analyze([target], base=target, jobs=2)
    assert len(one.files) >= 8  # the pool is really used
    assert two.facts == one.facts
    assert two.model == one.model
    assert inspect_json(two) == inspect_json(one)


def test_a_file_that_kills_its_worker_is_a_diagnostic(tmp_path: Path, dying_workers: None) -> None:
    app = app_with(tmp_path, {})
    clean = engine.analyze([app], base=app, jobs=2)
    (app / "app" / "generated.py").write_bytes(DIES)
    (app / "app" / "api" / "generated2.py").write_bytes(DIES)
    result = engine.analyze([app], base=app, jobs=2)
    crashed = sorted(d.path.rsplit("/", 1)[-1] for d in result.diagnostics if d.message == engine.CRASH_MESSAGE)
    assert crashed == ["generated.py", "generated2.py"]
    assert len(result.facts) == len(clean.facts)  # every other file was analyzed
    assert result.model == clean.model
    assert inspect_json(result, {"generated.py", "generated2.py"}) == inspect_json(clean)


def test_crash_diagnostic_is_not_cached(tmp_path: Path, dying_workers: None) -> None:
    app = app_with(tmp_path, {"app/generated.py": b"y = 2\n"})
    cache = FactCache(tmp_path / "cache", max_bytes=1_000_000)
    engine.analyze([app], base=app, jobs=2, cache=cache)
    # an entry per distinct content, of every file but the one that crashed
    assert cache.writes == len({p.read_bytes() for p in app.rglob("*.py") if p.name != "generated.py"})
    again = FactCache(tmp_path / "cache", max_bytes=1_000_000)
    result = engine.analyze([app], base=app, jobs=2, cache=again)
    assert again.misses == 1  # the crashing file is tried again, the rest is cached
    assert [d.message for d in result.diagnostics] == [engine.CRASH_MESSAGE]


def test_a_file_that_hangs_its_worker_is_a_diagnostic(tmp_path: Path, dying_workers: None) -> None:
    app = app_with(tmp_path, {})
    clean = engine.analyze([app], base=app, jobs=2)
    (app / "app" / "slow.py").write_bytes(b"z = 3\n")
    result = engine.analyze([app], base=app, jobs=2, timeout=3)
    assert [(d.path.rsplit("/", 1)[-1], d.message) for d in result.diagnostics] == [
        ("slow.py", "skipped: analysis took longer than 3 s")]
    assert result.model == clean.model


def test_cli_reports_the_crash_and_goes_on(tmp_path: Path) -> None:
    app = app_with(tmp_path, {"app/generated.py": DIES})
    driver = _CRASH_PATCH + "import sys\nfrom fastapi_arch_lint.cli import main\nsys.argv[0] = 'fastapi-arch-lint'\nmain()\n"
    proc = subprocess.run([sys.executable, "-c", driver, "review", str(app), "--format", "json",
                           "--jobs", "2", "--no-cache"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-800:]  # the app's findings decide, not the crash
    out = json.loads(proc.stdout)
    assert [(d["path"].rsplit("/", 1)[-1], d["message"]) for d in out["diagnostics"]] == [
        ("generated.py", engine.CRASH_MESSAGE)]
    assert out["findings"]
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------
# the rules shared with a forked copy of the process (``engine.run_rules(jobs=2)``)

def _probe_rules(n: int, behave=None):  # type: ignore[no-untyped-def]
    """``n`` rules (not registered) that each take a little time and say which process ran them;
    ``behave(i)`` may raise or end the process that runs rule ``i``."""
    import os
    import time

    from fastapi_arch_lint.rule import Rule

    out = []
    for i in range(n):
        def check(self, app, i=i):  # type: ignore[no-untyped-def]
            time.sleep(0.02)
            if behave is not None:
                behave(i)
            yield self.finding(f"r{i}.py", i + 1, 1, f"rule {i} ran in {os.getpid()}")
        out.append(type(f"Probe{i}", (Rule,), {"code": f"FAL9{i:02d}", "name": f"probe-{i}", "check": check}))
    return out


def _ran(findings) -> tuple[list[int], set[str]]:  # type: ignore[no-untyped-def]
    return [f.line - 1 for f in findings], {f.message.rsplit(" ", 1)[1] for f in findings}


@pytest.fixture
def only_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process counts as running no other thread: an earlier test's one-job extraction leaves its
    parse thread parked (no fork while it lives, as in the command line's small projects)."""
    import threading

    monkeypatch.setattr(threading, "active_count", lambda: 1)


def test_rules_are_shared_with_a_fork_and_come_back_in_order(only_thread: None) -> None:
    import os

    findings, diags = engine.run_rules(None, _probe_rules(24), jobs=2)  # type: ignore[arg-type]
    order, pids = _ran(findings)
    assert order == list(range(24)) and diags == []
    assert str(os.getpid()) in pids and len(pids) == 2  # the child took some: a test that can fail
    alone, _ = engine.run_rules(None, _probe_rules(24), jobs=1)  # type: ignore[arg-type]
    assert _ran(alone) == (list(range(24)), {str(os.getpid())})


def test_a_failing_rule_in_either_process_is_a_diagnostic(only_thread: None) -> None:
    def behave(i: int) -> None:
        if i % 5 == 0:
            raise ValueError(f"bug {i}")

    findings, diags = engine.run_rules(None, _probe_rules(20, behave), jobs=2)  # type: ignore[arg-type]
    assert _ran(findings)[0] == [i for i in range(20) if i % 5]
    assert [d.message for d in diags] == [f"rule FAL9{i:02d} (probe-{i}) failed: ValueError: bug {i}" for i in (0, 5, 10, 15)]


def test_rules_the_child_took_run_here_when_it_dies(only_thread: None) -> None:
    import os

    parent = os.getpid()

    def behave(i: int) -> None:
        if os.getpid() != parent:
            os._exit(3)  # the child dies on the first rule it takes: nothing of its comes back

    findings, diags = engine.run_rules(None, _probe_rules(12, behave), jobs=2)  # type: ignore[arg-type]
    assert _ran(findings) == (list(range(12)), {str(parent)}) and diags == []


def test_no_fork_while_another_thread_runs() -> None:
    import os
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        findings, _ = engine.run_rules(None, _probe_rules(8), jobs=2)  # type: ignore[arg-type]
    finally:
        stop.set()
        t.join()
    assert _ran(findings) == (list(range(8)), {str(os.getpid())})


def test_fix_lines_shared_with_a_fork_equal_one_process(only_thread: None) -> None:
    """The JSON and SARIF reports' fix lines (a LibCST parse per fix that the cache lacks) are the same
    worked out in two processes as in one, and there is more than one to share."""
    from fastapi_arch_lint.config import load_config

    root = Path(__file__).parent.parent / "examples" / "bookstore"
    result = engine.review([root], load_config(start=root), jobs=1)
    fixable = [f for f in result.findings if f.fix is not None]
    assert len(fixable) >= 2
    alone = engine.fix_replacements(result.findings, jobs=1)
    shared = engine.fix_replacements(result.findings, jobs=2)
    assert alone and shared == alone


def test_a_task_that_raises_is_left_to_the_caller(only_thread: None) -> None:
    from fastapi_arch_lint.runner import in_two_processes

    def boom() -> int:
        raise ValueError("x")

    got = in_two_processes([lambda: 1, boom, lambda: 3, lambda: 4])
    assert got == {0: 1, 2: 3, 3: 4}
