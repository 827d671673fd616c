"""Hostile trees: the review survives every kind of bad file, names each one, and still
reports the good files' findings exactly as a clean run does (issue 8, points 1 and 6).

The tree is ``tests/fixtures/bigger_app`` plus ``junk/`` from ``tests/hostile.py``: syntax
errors, an unterminated string, Latin-1 without a coding line, NUL bytes, binaries named
``.py``, Python 2, nesting that kills LibCST's native parser, a 2 MB generated module and
one just under the 1 MB limit, an empty file, BOM + CRLF, symlink loops, symlinks leading
out of the tree, an unreadable file and a FIFO. The reviews run as a user runs them (a
subprocess of the real command line), with the process pool and the facts cache.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hostile import (
    Expect,
    build_hostile_tree,
    copy_bigger_app,
    generated_module,
    restore_permissions,
    route_module,
    slow_module,
)

CLI_TIMEOUT = 300


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fastapi_arch_lint", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=CLI_TIMEOUT)


def key(f: dict) -> tuple:
    return (f["rule"], f["path"], f["line"], f["column"], f["message"], f["severity"])


def diagnostics_by_path(doc: dict) -> dict[str, list[str]]:
    """Files not analyzed (the line about what the model could not resolve, kind "unresolved", aside)."""
    out: dict[str, list[str]] = {}
    for d in doc["diagnostics"]:
        if d.get("kind") != "unresolved":
            out.setdefault(d["path"], []).append(d["message"])
    return out


def no_traceback(p: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout, p.stderr[-3000:]


@pytest.fixture(scope="module")
def clean_findings(tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    """bigger_app's findings, reviewed alone."""
    root = copy_bigger_app(tmp_path_factory.mktemp("clean"))
    p = run(root, "review", ".", "--format", "json", "--no-cache")
    no_traceback(p)
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert doc["diagnostics"] == []
    assert len(doc["findings"]) >= 10  # the fixture has plenty: a comparison that means something
    return sorted(key(f) for f in doc["findings"])


def check_expectations(doc: dict, expect: dict[str, Expect]) -> None:
    diags = diagnostics_by_path(doc)
    for path, e in sorted(expect.items()):
        if e.diagnostic is not None:
            assert path in diags, f"{path}: no diagnostic (expected /{e.diagnostic}/); got {diags}"
            assert any(re.search(e.diagnostic, m) for m in diags[path]), (path, diags[path])
        else:
            assert path not in diags, (path, diags.get(path))
        if e.analyzed:
            hits = [f for f in doc["findings"] if f["path"] == path and f["rule"] == "FAL101"]
            assert [f["line"] for f in hits] == [e.line], (path, hits)
    # every file that could not be analyzed is an expected one, and none is named twice
    assert set(diags) <= set(expect), set(diags) - set(expect)
    assert all(len(m) == 1 for m in diags.values()), diags


def test_hostile_tree_review_json_text_and_inspect(tmp_path: Path, clean_findings: list[tuple]) -> None:
    root = copy_bigger_app(tmp_path / "proj")
    outside = tmp_path / "outside"
    expect = build_hostile_tree(root, outside)
    # jobs = 2: the process pool, as on any multi-core machine, even where this runs on one CPU
    (root / "pyproject.toml").write_text("[tool.fastapi-arch-lint]\njobs = 2\n")
    try:
        started = time.monotonic()
        cache = str(tmp_path / "facts-cache")
        p = run(root, "review", ".", "--format", "json", "--cache-dir", cache)  # cold cache
        cold = time.monotonic() - started
        text = run(root, "review", ".", "--cache-dir", cache)  # warm cache: the same answers
        inspect = run(root, "inspect", ".", "--format", "json", "--no-cache", "--jobs", "1")  # in one process
    finally:
        restore_permissions(root)

    for proc in (p, text, inspect):
        no_traceback(proc)
    assert p.returncode == 1, p.stderr  # bigger_app has warnings and errors
    assert p.stderr == ""
    doc = json.loads(p.stdout)

    # the good app's findings are exactly those of a clean run
    app_findings = sorted(key(f) for f in doc["findings"] if f["path"].startswith("app/"))
    assert app_findings == clean_findings

    check_expectations(doc, expect)
    assert doc["summary"]["not_analyzed"] == len(diagnostics_by_path(doc))

    # nothing outside the target was read: neither the linked file nor the linked folder
    assert "outside" not in json.dumps(doc["findings"])
    assert "outside-marker-7f3a" not in p.stdout + text.stdout + inspect.stdout
    assert "/get-outside" not in inspect.stdout

    # the text report (from the cache this time) says the same
    assert text.returncode == 1
    for path, e in expect.items():
        if e.diagnostic is not None:
            assert re.search(rf"^{re.escape(path)}: not analyzed: ", text.stdout, re.M), path
    n = len(diagnostics_by_path(doc))
    assert f"{n} files could not be analyzed" in text.stdout

    # inspect survives the same tree and names the same files
    assert inspect.returncode == 0
    idoc = json.loads(inspect.stdout)
    assert "/get-bom-crlf" in inspect.stdout and "/get-generated-blob" in inspect.stdout
    assert idoc["apps"], "bigger_app's app must still be there"
    assert cold < 120, f"the hostile review took {cold:.0f} s"


def test_pathological_file_hits_the_time_limit(tmp_path: Path, clean_findings: list[tuple]) -> None:
    """A file whose every expression passes the nesting guard but which LibCST needs a minute
    for (about a minute): with ``file-timeout = 3`` the run finishes in seconds and names it."""
    root = copy_bigger_app(tmp_path)
    (root / "junk").mkdir()
    (root / "junk" / "slow_chains.py").write_bytes(slow_module())
    (root / "pyproject.toml").write_text("[tool.fastapi-arch-lint]\nfile-timeout = 3\njobs = 2\n")
    started = time.monotonic()
    p = run(root, "review", ".", "--format", "json", "--no-cache")
    elapsed = time.monotonic() - started
    no_traceback(p)
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert diagnostics_by_path(doc) == {"junk/slow_chains.py": ["skipped: analysis took longer than 3 s"]}
    assert sorted(key(f) for f in doc["findings"] if f["path"].startswith("app/")) == clean_findings
    assert elapsed < 30, f"took {elapsed:.1f} s"


def test_max_file_bytes_from_config(tmp_path: Path) -> None:
    root = copy_bigger_app(tmp_path)
    (root / "pyproject.toml").write_text("[tool.fastapi-arch-lint]\nmax-file-bytes = 1500\n")
    p = run(root, "review", ".", "--format", "json", "--no-cache")
    no_traceback(p)
    doc = json.loads(p.stdout)
    diags = diagnostics_by_path(doc)
    sizes = {f.relative_to(root).as_posix(): f.stat().st_size for f in (root / "app").rglob("*.py")}
    too_big = {path for path, size in sizes.items() if size > 1500}
    assert too_big and too_big != set(sizes)  # the limit splits the app
    assert set(diags) == too_big
    for path in too_big:
        assert diags[path] == [f"skipped: {sizes[path]:,} bytes is over the 1,500-byte limit (max-file-bytes)"]
    assert not any(f["path"] in too_big for f in doc["findings"])
    # the skipped files held routers and dependencies: the review says the model has holes
    notes = [d for d in doc["diagnostics"] if d.get("kind") == "unresolved"]
    assert len(notes) == 1 and notes[0]["count"] >= 1, doc["diagnostics"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_unreadable_file_is_a_diagnostic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Denied reads become "permission denied". As root ``chmod 000`` does not deny anything,
    so the denial is then simulated at the system call the reader uses."""
    from fastapi_arch_lint.config import Config
    from fastapi_arch_lint.engine import review

    root = copy_bigger_app(tmp_path)
    src, _ = route_module("private")
    private = root / "app" / "private.py"
    private.write_text(src)
    private.chmod(0)
    try:
        if os.access(private, os.R_OK):  # privileged: simulate EACCES for this one file
            real_open, real_read_bytes = os.open, Path.read_bytes

            def deny_open(path, *args, **kwargs):  # type: ignore[no-untyped-def]
                if Path(path).resolve() == private.resolve():
                    raise PermissionError(13, "Permission denied", os.fspath(path))
                return real_open(path, *args, **kwargs)

            def deny_read_bytes(self: Path) -> bytes:
                if self.resolve() == private.resolve():
                    raise PermissionError(13, "Permission denied", os.fspath(self))
                return real_read_bytes(self)

            monkeypatch.setattr(os, "open", deny_open)
            monkeypatch.setattr(Path, "read_bytes", deny_read_bytes)
        monkeypatch.chdir(root)
        result = review(["."], Config(root=root), jobs=1)
    finally:
        private.chmod(0o644)
    assert [(d.path, d.message) for d in result.diagnostics] == [("app/private.py", "cannot read file: permission denied")]
    assert result.findings and not any(f.path == "app/private.py" for f in result.findings)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_named_py_never_blocks(tmp_path: Path) -> None:
    """A FIFO would block ``open()`` until a writer comes: discovery skips it, and the reader
    refuses anything but a regular file even when asked directly."""
    from fastapi_arch_lint.discovery import discover
    from fastapi_arch_lint.extract.parse import extract_file, read_source

    (tmp_path / "ok.py").write_text("x = 1\n")
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    found = discover([tmp_path], cwd=tmp_path)
    assert [f.display for f in found.files] == ["ok.py"]
    assert [(d.path, d.message) for d in found.diagnostics] == [
        ("pipe.py", "not a regular file (a FIFO, socket or device): skipped")]
    got = read_source(fifo, "pipe.py")
    assert not isinstance(got, bytes) and "not a regular file" in got.message
    ex = extract_file(fifo, "pipe.py")
    assert ex.facts is None and ex.diagnostic is not None and "not a regular file" in ex.diagnostic.message


def test_reader_stops_at_the_limit_even_if_the_file_grows(tmp_path: Path) -> None:
    from fastapi_arch_lint.extract.source import read_source

    p = tmp_path / "m.py"
    p.write_bytes(b"x = 1\n" * 100)
    assert read_source(p, "m.py", max_bytes=600) == b"x = 1\n" * 100
    got = read_source(p, "m.py", max_bytes=599)
    assert not isinstance(got, bytes) and got.message == "skipped: 600 bytes is over the 599-byte limit (max-file-bytes)"
    assert read_source(p, "m.py", max_bytes=0) == b"x = 1\n" * 100  # 0: no limit
    assert "no such file" in read_source(tmp_path / "gone.py", "gone.py").message.lower()  # type: ignore[union-attr]


# ---------------------------------------------------------------------------
# configuration and usage errors: exit 2, one clear line, no traceback (what test_review_cli.py
# does not cover already: inspect, --config problems, file-timeout, unwritable outputs)

CONFIG_CASES = [
    # (pyproject.toml bytes or None, args, expected text in the one line)
    (None, ("inspect", "does-not-exist"), "path does not exist: does-not-exist"),
    (None, ("inspect", ".", "--format", "yaml"), "Invalid value for '--format'"),
    (None, ("review", ".", "--config", "missing.toml"), "config file not found: missing.toml"),
    (None, ("inspect", ".", "--config", "missing.toml"), "config file not found: missing.toml"),
    (b"[tool.fastapi-arch-lint\nselect = [", ("inspect", "."), "invalid TOML"),
    (b'[tool.fastapi-arch-lint]\nselect = ["FAL1\xff"]\n', ("review", "."), "cannot read"),
    (b"[tool]\nfastapi-arch-lint = 3\n", ("review", "."), "must be a table"),
    (b'[tool.fastapi-arch-lint]\nfile-timeout = "fast"\n', ("review", "."), "`file-timeout` must be a positive number"),
    (b"[tool.fastapi-arch-lint]\nfile-timeout = 0\n", ("review", "."), "`file-timeout` must be a positive number"),
    (b"[tool.fastapi-arch-lint]\nfile-timeout = nan\n", ("review", "."), "`file-timeout` must be a positive number"),
    (b"[tool.fastapi-arch-lint]\nfile-timeout = true\n", ("review", "."), "`file-timeout` must be a positive number"),
    (b'[tool.fastapi-arch-lint]\nmax-file-bytes = "1MB"\n', ("review", "."), "`max-file-bytes` must be a non-negative integer"),
    (b'[tool.fastapi-arch-lint]\nselect = ["FAL999"]\n', ("inspect", "."), "unknown rule code or prefix `FAL999`"),
]


@pytest.mark.parametrize(("pyproject", "args", "needle"), CONFIG_CASES,
                         ids=[f"{i}-{' '.join(c[1])}" for i, c in enumerate(CONFIG_CASES)])
def test_config_and_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pyproject: bytes | None,
                                 args: tuple[str, ...], needle: str) -> None:
    from click.testing import CliRunner

    from fastapi_arch_lint.cli import cli

    (tmp_path / "app.py").write_text(route_module("x")[0])
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_bytes(pyproject)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [*args, "--no-cache"])
    # anything but a clean exit would have been a traceback
    assert isinstance(result.exception, SystemExit) or result.exception is None, result.exception
    assert result.exit_code == 2, (result.output, result.stderr)
    assert needle in result.stderr, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    # one line of our own, or click's usage block (usage, hint, error)
    assert len(lines) == 1 or (lines[0].startswith("Usage:") and lines[-1].startswith("Error:")), lines


def test_pyproject_that_is_a_directory_is_not_a_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").mkdir()
    (tmp_path / "app.py").write_text(route_module("x")[0])
    p = run(tmp_path, "review", ".", "--no-cache", "--select", "FAL101")
    no_traceback(p)
    assert p.returncode == 1 and "app.py:6:1: FAL101" in p.stdout  # ignored, the review runs
    q = run(tmp_path, "review", ".", "--no-cache", "--config", "pyproject.toml")
    no_traceback(q)
    assert q.returncode == 2 and "is a directory" in q.stderr


@pytest.mark.parametrize("option", ["-o", "--sarif-output"])
def test_unwritable_output_is_one_line_exit_2(tmp_path: Path, option: str) -> None:
    (tmp_path / "app.py").write_text(route_module("x")[0])
    p = run(tmp_path, "review", ".", "--no-cache", option, str(tmp_path / "no" / "such" / "dir" / "out.txt"))
    no_traceback(p)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        f"fastapi-arch-lint: error: {tmp_path / 'no' / 'such' / 'dir' / 'out.txt'}: No such file or directory"]


@pytest.mark.slow
def test_generated_module_of_real_code_just_under_the_limit(request: pytest.FixtureRequest) -> None:
    """A 1 MB module of generated functions (not a cheap data blob): analyzed, not skipped, and
    within the default per-file time limit (8 s here idle, 23 s under load). ``python -m pytest -m slow tests/test_hostile.py``"""
    markexpr = request.config.getoption("markexpr") or ""
    if "slow" not in markexpr or "not slow" in markexpr:
        pytest.skip("slow (8-25 s): run with -m slow")
    from fastapi_arch_lint.engine import DEFAULT_FILE_TIMEOUT
    from fastapi_arch_lint.extract.parse import DEFAULT_MAX_FILE_BYTES, extract_source

    source = generated_module(DEFAULT_MAX_FILE_BYTES - 2000)
    assert len(source) <= DEFAULT_MAX_FILE_BYTES
    started = time.monotonic()
    ex = extract_source(source, "generated.py")
    elapsed = time.monotonic() - started
    assert ex.diagnostic is None and ex.facts is not None
    assert len(ex.facts.scope.functions) > 5000
    assert elapsed < DEFAULT_FILE_TIMEOUT, f"{elapsed:.1f} s"
