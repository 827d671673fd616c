"""The per-file facts cache: a warm run equals a cold one, entries hold no prose from the
source, corrupt or planted entries are ignored, concurrent runs are safe."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapi_arch_lint import __version__
from fastapi_arch_lint import engine
from fastapi_arch_lint.cache import CACHE_DIR_NAME, DB_NAME, FactCache, decode_entry, loads
from fastapi_arch_lint.cli import cli
from fastapi_arch_lint.discovery import discover
from fastapi_arch_lint.extract.source import digest

FIXTURES = Path(__file__).parent / "fixtures"
APPS = ["factory_app", "vuln_app", "good_app", "auth_styles_dependencies", "src_layout", "annotated_app"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def database(cache_dir: Path) -> Path:
    return cache_dir / __version__ / DB_NAME


def entries(cache_dir: Path) -> list[tuple[str, bytes]]:
    """The per-file facts entries ``(key, data)`` (not the stored review results, nor the fixes' replaced
    lines the JSON and SARIF reports keep beside them)."""
    if not database(cache_dir).exists():
        return []
    with closing(sqlite3.connect(database(cache_dir))) as db:
        return sorted((k, d) for k, d in db.execute("SELECT key, data FROM entries") if not _lines_entry(d))


def _lines_entry(data: bytes) -> bool:
    try:
        return loads(data)[3] == "lines"
    except Exception:  # a planted or corrupt entry: not one of ours
        return False


def set_entry(cache_dir: Path, key: str, data: bytes) -> None:
    with closing(sqlite3.connect(database(cache_dir))) as db, db:
        db.execute("UPDATE entries SET data = ? WHERE key = ?", (data, key))


def results(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / __version__ / "results").glob("*"))


def copy_app(tmp_path: Path, name: str) -> Path:
    dest = tmp_path / name
    shutil.copytree(FIXTURES / name, dest)
    return dest


@pytest.mark.parametrize("app", APPS)
def test_warm_review_equals_cold(app: str, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    target = str(FIXTURES / app)
    cold = run("review", target, "--format", "json", "--cache-dir", str(cache_dir), "--jobs", "2")
    written = entries(cache_dir)
    # one entry per distinct content (the empty ``__init__.py`` files share one)
    assert len(written) == len({f.path.read_bytes() for f in discover([FIXTURES / app]).files})
    warm = run("review", target, "--format", "json", "--cache-dir", str(cache_dir), "--jobs", "2")
    uncached = run("review", target, "--format", "json", "--no-cache", "--jobs", "1")
    assert json.loads(cold[1])["summary"]  # a real report
    assert cold == warm == uncached
    assert entries(cache_dir) == written  # nothing new was written


def test_warm_inspect_equals_cold(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    target = str(FIXTURES / "bigger_app")
    cold = run("inspect", target, "--format", "json", "--cache-dir", str(cache_dir), "--jobs", "1")
    warm = run("inspect", target, "--format", "json", "--cache-dir", str(cache_dir), "--jobs", "1")
    assert json.loads(cold[1])["apps"][0]["routes"]
    assert cold == warm


def analyze_with(target: Path, cache: FactCache | None, jobs: int = 1) -> engine.Analysis:
    return engine.analyze([target], base=target, jobs=jobs, cache=cache)


def test_warm_run_reads_and_hashes_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = FIXTURES / "factory_app"
    files = discover([target]).files
    n, distinct = len(files), len({f.path.read_bytes() for f in files})
    cold_cache = FactCache(tmp_path / "c", max_bytes=1_000_000)
    cold = analyze_with(target, cold_cache)
    # one write per distinct content: the empty ``__init__.py`` files share an entry
    assert (cold_cache.hits, cold_cache.misses, cold_cache.writes) == (0, n, distinct) and distinct < n

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("a warm run must not parse")

    from fastapi_arch_lint.extract import parse

    monkeypatch.setattr(engine, "extract_source", no_parsing)  # what pool workers call
    monkeypatch.setattr(parse, "extract_sources", no_parsing)  # what a one-job run calls
    warm_cache = FactCache(tmp_path / "c", max_bytes=1_000_000)
    warm = analyze_with(target, warm_cache)
    assert (warm_cache.hits, warm_cache.misses, warm_cache.writes) == (n, 0, 0)
    assert warm.facts == cold.facts
    assert warm.model == cold.model
    assert warm.diagnostics == cold.diagnostics


def test_layout_like_ruff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = copy_app(tmp_path, "factory_app")
    (app / "pyproject.toml").write_text("[tool.fastapi-arch-lint]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASTAPI_ARCH_LINT_CACHE_DIR", raising=False)
    run("review", str(app), "--jobs", "1")
    cache_dir = app / CACHE_DIR_NAME  # the config's folder is the project root
    assert (cache_dir / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted([".gitignore", "CACHEDIR.TAG", __version__])
    assert not list(cache_dir.rglob(".tmp-*"))


def test_cache_dir_from_config_env_and_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = copy_app(tmp_path, "tutorial_jwt_app")
    (app / "pyproject.toml").write_text('[tool.fastapi-arch-lint]\ncache-dir = "build/facts"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASTAPI_ARCH_LINT_CACHE_DIR", raising=False)
    run("review", str(app))
    assert entries(app / "build" / "facts")
    monkeypatch.setenv("FASTAPI_ARCH_LINT_CACHE_DIR", str(tmp_path / "from-env"))
    run("review", str(app))
    assert entries(tmp_path / "from-env")
    run("review", str(app), "--cache-dir", str(tmp_path / "from-flag"))
    assert entries(tmp_path / "from-flag")
    run("review", str(app), "--no-cache", "--cache-dir", str(tmp_path / "never"))
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("value, message", [
    ("jobs = 0", "`jobs` must be a positive integer"),
    ('jobs = "4"', "`jobs` must be a positive integer"),
    ("cache-dir = 3", "`cache-dir` must be a folder path"),
])
def test_bad_settings_are_config_errors(tmp_path: Path, value: str, message: str) -> None:
    app = copy_app(tmp_path, "tutorial_jwt_app")
    (app / "pyproject.toml").write_text(f"[tool.fastapi-arch-lint]\n{value}\n", encoding="utf-8")
    code, out, err = run("review", str(app))
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_jobs_flag_must_be_positive(tmp_path: Path) -> None:
    code, _, err = run("review", str(FIXTURES / "tutorial_jwt_app"), "--jobs", "0")
    assert code == 2
    assert "--jobs" in err


def test_entries_hold_no_docstrings_or_comments(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text(
        '"""Module prose: PROSE_IN_MODULE_DOC."""\n'
        "from fastapi import FastAPI\n\n"
        "app = FastAPI()  # COMMENT_TEXT_HERE\n\n\n"
        '@app.get("/items")\n'
        "def items():\n"
        '    """Handler prose: PROSE_IN_HANDLER_DOC."""\n'
        "    return []\n\n\n"
        "class Model:\n"
        '    """Class prose: PROSE_IN_CLASS_DOC."""\n',
        encoding="utf-8",
    )
    cache_dir = tmp_path / "cache"
    run("review", str(app), "--cache-dir", str(cache_dir))
    blobs = b"".join(data for _, data in entries(cache_dir))
    assert b"/items" in blobs  # the facts are there...
    for secret in (b"PROSE_IN_MODULE_DOC", b"PROSE_IN_HANDLER_DOC", b"PROSE_IN_CLASS_DOC", b"COMMENT_TEXT_HERE"):
        assert secret not in blobs  # ...the prose is not
    assert str(app).encode() not in blobs  # nor where the file lives


def test_same_content_elsewhere_is_a_hit_with_its_own_path(tmp_path: Path) -> None:
    a = copy_app(tmp_path / "one", "factory_app")
    b = copy_app(tmp_path / "two", "factory_app")
    cache = FactCache(tmp_path / "c", max_bytes=1_000_000)
    first = analyze_with(a, cache)
    second_cache = FactCache(tmp_path / "c", max_bytes=1_000_000)
    second = analyze_with(b, second_cache)
    assert second_cache.misses == 0 and second_cache.hits == len(second.facts)
    assert [f.path for f in second.facts] == [f.display for f in discover([b]).files]
    assert all("/two/" in f.path for f in second.facts)
    assert [f.module for f in second.facts] == [f.module for f in first.facts]


@pytest.mark.parametrize("jobs", [1, 2])
def test_changed_file_is_the_only_miss(tmp_path: Path, jobs: int) -> None:
    """With two jobs the changed file is parsed in a worker while the cached facts are decoded."""
    app = copy_app(tmp_path, "factory_app")
    analyze_with(app, FactCache(tmp_path / "c", max_bytes=1_000_000))
    items = app / "app" / "api" / "v1" / "endpoints" / "items.py"
    items.write_text(items.read_text().replace('"/{item_id}"', '"/by-id/{item_id}"'), encoding="utf-8")
    cache = FactCache(tmp_path / "c", max_bytes=1_000_000)
    warm = analyze_with(app, cache, jobs)
    assert cache.misses == 1 and cache.writes == 1
    fresh = analyze_with(app, None)
    assert warm.model == fresh.model
    assert any("/by-id/" in r.path for a in warm.model.apps for r in a.routes)


def test_settings_that_change_extraction_change_the_key(tmp_path: Path) -> None:
    small = FactCache(tmp_path / "c", max_bytes=100)
    large = FactCache(tmp_path / "c", max_bytes=1_000_000)
    assert small.key(digest(b"x = 1\n")) != large.key(digest(b"x = 1\n"))
    assert large.key(digest(b"x = 1\n")) != large.key(digest(b"x = 2\n"))
    assert large.key(digest(b"x = 1\n")) == FactCache(tmp_path / "d", max_bytes=1_000_000).key(digest(b"x = 1\n"))


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_corrupt_entries_are_ignored_and_rewritten(tmp_path: Path, jobs: str) -> None:
    cache_dir = tmp_path / "cache"
    target = str(FIXTURES / "vuln_app")
    cold = run("review", target, "--format", "json", "--cache-dir", str(cache_dir), "--jobs", "1")
    for n, (key, data) in enumerate(entries(cache_dir)):  # truncated, garbage, empty, a pickle of something else
        set_entry(cache_dir, key, [data[: len(data) // 2], b"\x00garbage", b"", pickle.dumps({"a": 1})][n % 4])
    for p in results(cache_dir):  # so that the run goes through the facts entries
        p.unlink()
    again = run("review", target, "--format", "json", "--cache-dir", str(cache_dir), "--jobs", jobs)
    assert again == cold
    cache = FactCache(cache_dir, max_bytes=1_000_000)
    files = discover([FIXTURES / "vuln_app"]).files
    for f in files:  # every entry was rewritten and now reads back
        assert cache.load(cache.key(digest(f.path.read_bytes())), f.display) is not None


def test_a_planted_entry_cannot_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    app = copy_app(tmp_path, "tutorial_jwt_app")
    cache_dir = tmp_path / "cache"
    cold = run("review", str(app), "--format", "json", "--cache-dir", str(cache_dir), "--jobs", "1")
    for key, _ in entries(cache_dir):
        planted = pickle.dumps(("fastapi-arch-lint facts", 1, key, "facts", Evil()))
        set_entry(cache_dir, key, planted)
        with pytest.raises(pickle.UnpicklingError):
            loads(planted)
        assert decode_entry(planted, key, "x.py") is None
    assert entries(cache_dir) and all(b"system" in data for _, data in entries(cache_dir))  # all planted
    for p in results(cache_dir):
        p.write_bytes(pickle.dumps(("fastapi-arch-lint facts", 1, "any", "result", Evil())))
    again = run("review", str(app), "--format", "json", "--cache-dir", str(cache_dir), "--jobs", "1")
    assert not marker.exists()
    assert again == cold


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_corrupt_database_is_replaced(tmp_path: Path, damage: str) -> None:
    cache_dir = tmp_path / "cache"
    target = str(FIXTURES / "vuln_app")
    args = ("review", target, "--format", "json", "--cache-dir", str(cache_dir), "--jobs", "1")
    cold = run(*args)
    written = entries(cache_dir)
    data = database(cache_dir).read_bytes()
    database(cache_dir).write_bytes({"garbage": b"not a database\x00" * 500, "truncated": data[: len(data) // 3],
                                     "empty": b""}[damage])
    for p in results(cache_dir):  # so that the run goes through the facts entries
        p.unlink()
    again = run(*args)
    assert again == cold  # no warning either: a damaged cache is the cache's business
    assert entries(cache_dir) == written


def test_a_database_held_by_another_run_is_waited_for_then_skipped(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    target = FIXTURES / "factory_app"
    cache_dir = tmp_path / "c"
    analyze_with(target, FactCache(cache_dir, max_bytes=1_000_000))
    (key, data), *_ = entries(cache_dir)
    with closing(sqlite3.connect(database(cache_dir), isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")  # another run in the middle of a long transaction
        other.execute("DELETE FROM entries WHERE key = ?", (key,))
        monkeypatch.setattr(FactCache, "busy_timeout", 0.2)
        cache = FactCache(cache_dir, max_bytes=1_000_000)
        held = analyze_with(target, cache)
        assert (cache.hits, cache.writes, cache.problem) == (0, 0, None)  # nothing read, nothing written, no fuss
        other.execute("ROLLBACK")
    assert held.model == analyze_with(target, None).model
    cache = FactCache(cache_dir, max_bytes=1_000_000)
    analyze_with(target, cache)
    assert cache.misses == 0  # the entries are all still there


def test_unwritable_cache_warns_and_the_run_goes_on(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = str(FIXTURES / "tutorial_jwt_app")
    code, out, err = run("review", target, "--format", "json", "--cache-dir", str(blocker))
    assert (code, out) == run("review", target, "--format", "json", "--no-cache")[:2]
    assert "warning: facts not cached" in err
    assert "Traceback" not in err


def test_concurrent_runs_share_one_cache(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cmd = [sys.executable, "-m", "fastapi_arch_lint", "review", str(FIXTURES / "good_app"), "--format", "json",
           "--cache-dir", str(cache_dir), "--jobs", "1", "--exit-zero"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    assert outs[0][0] == outs[1][0] == outs[2][0]
    assert not list(cache_dir.rglob(".tmp-*"))
    warm = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert warm.stdout == outs[0][0]


# ---------------------------------------------------------------------------
# whole review results


def test_unchanged_project_is_answered_from_the_stored_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "cache"
    target = str(FIXTURES / "vuln_app")
    for fmt in ("json", "text", "sarif"):
        cold = run("review", target, "--format", fmt, "--cache-dir", str(cache_dir), "--jobs", "1")
        assert cold[0] == 1 and cold[1]
    assert len(results(cache_dir)) == 1  # one slot per project and settings, not per format

    def no_analysis(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged project must not be analyzed again")

    monkeypatch.setattr(engine, "analyze", no_analysis)
    for fmt in ("json", "text", "sarif"):
        warm = run("review", target, "--format", fmt, "--cache-dir", str(cache_dir), "--jobs", "1")
        monkeypatch.undo()
        uncached = run("review", target, "--format", fmt, "--no-cache", "--jobs", "1")
        monkeypatch.setattr(engine, "analyze", no_analysis)
        assert warm == uncached


def test_any_change_of_input_misses_the_stored_result(tmp_path: Path) -> None:
    app = copy_app(tmp_path, "factory_app")
    cache_dir = tmp_path / "cache"

    def both(*extra: str) -> tuple[int, str, str]:
        warm = run("review", str(app), "--format", "json", "--cache-dir", str(cache_dir), "--jobs", "1", *extra)
        assert warm == run("review", str(app), "--format", "json", "--no-cache", "--jobs", "1", *extra)
        return warm

    before = json.loads(both()[1])
    # a changed file
    items = app / "app" / "api" / "v1" / "endpoints" / "items.py"
    items.write_text(items.read_text() + '\n\n@router.get("/get-all-items")\nasync def get_all_items():\n    return []\n',
                     encoding="utf-8")
    after = json.loads(both()[1])
    new = [f for f in after["findings"] if "/get-all-items" in f["message"]]
    assert new and not [f for f in before["findings"] if "/get-all-items" in f["message"]]
    # other settings (a slot of their own), then back to the first ones
    ignored = json.loads(both("--ignore", "FAL101")[1])
    assert not [f for f in ignored["findings"] if f["rule"] == "FAL101"]
    assert json.loads(both()[1]) == after
    # a new file, a file moved elsewhere, a removed file
    (app / "app" / "extra.py").write_text("import time\n", encoding="utf-8")
    assert json.loads(both()[1])["summary"]["files"] == after["summary"]["files"] + 1
    items.rename(items.with_name("things.py"))
    moved = json.loads(both()[1])
    assert moved != after  # the include of ``items`` now resolves to nothing
    (app / "app" / "extra.py").unlink()
    assert json.loads(both()[1])["summary"]["files"] == after["summary"]["files"]


def test_a_corrupt_stored_result_is_ignored_and_rewritten(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    target = str(FIXTURES / "tutorial_jwt_app")
    cold = run("review", target, "--format", "json", "--cache-dir", str(cache_dir), "--jobs", "1")
    (stored,) = results(cache_dir)
    good = stored.read_bytes()
    for bad in (good[: len(good) // 2], b"\x00garbage", b"", pickle.dumps({"a": 1}),
                pickle.dumps(("fastapi-arch-lint facts", 1, "another key", "result", ([], [])))):
        stored.write_bytes(bad)
        assert run("review", target, "--format", "json", "--cache-dir", str(cache_dir), "--jobs", "1") == cold
        assert stored.read_bytes() == good  # rewritten


def test_the_narrative_never_takes_a_stored_result(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    target = str(FIXTURES / "bigger_app")
    run("review", target, "--cache-dir", str(cache_dir), "--jobs", "1")
    warm = run("review", target, "--cache-dir", str(cache_dir), "--jobs", "1", "--dry-run")
    size = re.search(r"brief: ([\d,]+) characters", warm[1])
    assert size and int(size.group(1).replace(",", "")) > 10_000  # route table, models...: from the model
    assert warm == run("review", target, "--no-cache", "--jobs", "1", "--dry-run")


def test_a_run_with_a_crashed_file_is_not_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_arch_lint.config import Config
    from fastapi_arch_lint.findings import Diagnostic

    real = engine.analyze

    def crashing(*args: object, **kwargs: object) -> engine.Analysis:
        analysis = real(*args, **kwargs)
        analysis.diagnostics.append(Diagnostic("x.py", engine.CRASH_MESSAGE))
        return analysis

    monkeypatch.setattr(engine, "analyze", crashing)
    cache = FactCache(tmp_path / "cache", max_bytes=1_000_000)
    target = FIXTURES / "good_app"
    engine.review([target], Config(root=target), jobs=1, cache=cache, reuse_results=True)
    assert entries(tmp_path / "cache") and not results(tmp_path / "cache")
    monkeypatch.setattr(engine, "analyze", real)
    engine.review([target], Config(root=target), jobs=1, cache=cache, reuse_results=True)
    assert len(results(tmp_path / "cache")) == 1


def test_an_answered_run_never_loads_libcst(tmp_path: Path) -> None:
    """A run answered from the stored result reads and hashes files only: LibCST (about 0.15 s
    of start-up) and the linker are never imported, nor the rules (30 ms), the narrative's
    client (8 ms, no narrative table here), ``importlib.metadata`` (10 ms) or the model's
    classes (30 ms)."""
    cache_dir = tmp_path / "cache"
    args = ["review", str(FIXTURES / "good_app"), "--format", "json", "--cache-dir", str(cache_dir), "--exit-zero"]
    script = (
        "import sys\n"
        "from fastapi_arch_lint.cli import cli\n"
        "try:\n"
        f"    cli.main(args={args!r}, standalone_mode=False)\n"
        "finally:\n"
        "    print('loaded:', 'libcst' in sys.modules, 'fastapi_arch_lint.link' in sys.modules,\n"
        "          'fastapi_arch_lint.rules' in sys.modules, file=sys.stderr)\n"
        "    print('also:', 'fastapi_arch_lint.narrative.client' in sys.modules, 'importlib.metadata' in sys.modules,\n"
        "          'fastapi_arch_lint.model.facts' in sys.modules, file=sys.stderr)\n"
    )
    cold = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    warm = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert "loaded: True True True" in cold.stderr
    assert "loaded: False False False" in warm.stderr, warm.stderr[-1000:]
    assert "also: False False False" in warm.stderr, warm.stderr[-1000:]
    assert warm.stdout == cold.stdout and json.loads(warm.stdout)["summary"]["files"] > 10


def test_an_answered_json_run_with_fixes_never_loads_libcst(tmp_path: Path) -> None:
    """The JSON report carries each fix's replaced lines, which cost a LibCST parse of the file: the lines
    are stored with the facts (keyed by the file's text and the fix), so a run answered from the stored
    result still imports neither LibCST nor the linker, and prints the same report."""
    example = Path(__file__).resolve().parent.parent / "examples" / "bookstore"
    cache_dir = tmp_path / "cache"
    args = ["review", str(example), "--format", "json", "--cache-dir", str(cache_dir), "--exit-zero"]
    script = (
        "import sys\n"
        "from fastapi_arch_lint.cli import cli\n"
        "try:\n"
        f"    cli.main(args={args!r}, standalone_mode=False)\n"
        "finally:\n"
        "    print('loaded:', 'libcst' in sys.modules, 'fastapi_arch_lint.link' in sys.modules, file=sys.stderr)\n"
    )
    cold = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    warm = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    fixes = [f["fix"] for f in json.loads(cold.stdout)["findings"] if f.get("fix")]
    assert fixes and all(fx.get("edits") for fx in fixes), fixes
    assert "loaded: False False" in warm.stderr, warm.stderr[-1000:]
    assert warm.stdout == cold.stdout


def test_entries_are_written_in_several_transactions_when_they_add_up(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    target = FIXTURES / "factory_app"
    monkeypatch.setattr(FactCache, "flush_bytes", 2_000)  # a transaction every few entries
    flushes: list[int] = []
    real_flush = FactCache.flush

    def counting(self: FactCache) -> None:
        flushes.append(len(self._pending))
        real_flush(self)

    monkeypatch.setattr(FactCache, "flush", counting)
    cold = FactCache(tmp_path / "c", max_bytes=1_000_000)
    analyze_with(target, cold)
    assert len([n for n in flushes if n]) > 2 and cold.writes == len(entries(tmp_path / "c"))
    warm = FactCache(tmp_path / "c", max_bytes=1_000_000)
    assert analyze_with(target, warm).model == analyze_with(target, None).model
    assert warm.misses == 0
