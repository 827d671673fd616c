"""Benchmark ``fastapi-arch-lint review`` against the floor: parsing the same files with LibCST.

    python benchmarks/run.py                          # small and medium synthetic projects
    python benchmarks/run.py --sizes large            # about 300k lines (a few minutes)
    python benchmarks/run.py --path ~/src/my-backend  # any real codebase, nothing generated
    python benchmarks/run.py --sizes small --repeat 5 --jobs 4

For each project, side by side and repeated (runs interleaved so machine noise spreads evenly):
the bare LibCST parse of every file the tool analyzes (the floor), ``review`` cold with one job,
cold with all jobs, warm (nothing changed, the cache filled by a cold run), and ruff and bandit
on the same tree when they are on PATH. Every command runs as its own process, so each time
includes interpreter start-up and imports. Printed: wall time min/median/max, the median's
ratio to the floor's, CPU seconds (all processes of the command) and peak RSS (the largest
single process). ``--breakdown`` (on by default) also times the pipeline's stages in this
process. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import SIZES, generate  # noqa: E402

FLOOR = """
import sys, libcst
for line in open(sys.argv[1], encoding="utf-8"):
    path = line.rstrip("\\n")
    try:
        libcst.parse_module(open(path, "rb").read())
    except Exception:
        pass
"""


def measure(cmd: list[str], cwd: Path | None = None) -> dict[str, float]:
    """Wall seconds, CPU seconds (the command and its waited-for children) and peak RSS in MB."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024}


def project_files(root: Path) -> list[Path]:
    from fastapi_arch_lint.config import load_config
    from fastapi_arch_lint.discovery import discover

    config = load_config(start=root)
    return [f.path for f in discover([root], config.all_excludes, base=config.root).files]


def _rss_mb() -> float:
    """This process's resident memory now (not its peak), in MB; 0 where /proc is missing."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


def largest_parse_mb(files: list[Path]) -> tuple[str, float]:
    """Peak RSS of a process that imports LibCST and parses only the largest file (MB)."""
    largest = max(files, key=lambda p: p.stat().st_size)
    listing = Path(tempfile.mkstemp(suffix=".files")[1])
    listing.write_text(f"{largest}\n", encoding="utf-8")
    try:
        return largest.name, measure([sys.executable, "-c", FLOOR, str(listing)])["rss"]
    finally:
        listing.unlink()


def breakdown(root: Path) -> dict[str, float]:
    """Stage times of one cold, one-job, uncached run in this process (CPU seconds)."""
    import gc

    from fastapi_arch_lint import engine
    from fastapi_arch_lint.config import load_config
    from fastapi_arch_lint.discovery import discover
    from fastapi_arch_lint.link import Linker
    from fastapi_arch_lint.rule import select_rules

    config = load_config(start=root)
    clock = time.process_time
    gc.collect()
    rss0 = _rss_mb()
    t0 = clock()
    found = discover([root], config.all_excludes, base=config.root)
    t1 = clock()
    extracted = engine.extract_all(found.files, max_bytes=config.max_file_bytes, jobs=1)
    t2 = clock()
    with engine._old_objects_frozen():  # as engine.analyze and engine.review do
        facts = engine.name_modules(found.files, extracted)
        t3 = clock()
        model = Linker(facts, auth_names=config.auth_names).link()
        t4 = clock()
    gc.collect()
    held = _rss_mb() - rss0  # the facts and the linked model, as the rules get them
    t_rules = clock()  # not the full collection above (0.6 s on medium)
    rules = select_rules(config.select, config.ignore, config.extend_select)
    with engine._old_objects_frozen():
        findings, _ = engine.run_rules(model, rules, config.rule_options)
    t5 = clock()
    del extracted, facts, model
    gc.collect()
    return {"discover": t1 - t0, "parse+collect": t2 - t1, "name modules": t3 - t2, "link": t4 - t3,
            "rules": t5 - t_rules, "findings": len(findings), "model MB": held}


def run_target(name: str, root: Path, repeat: int, jobs: int, scratch: Path, with_breakdown: bool,
               may_edit: bool = False) -> dict:
    files = project_files(root)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    listing = scratch / f"{name}.files"
    listing.write_text("".join(f"{p}\n" for p in files), encoding="utf-8")
    tool = [sys.executable, "-m", "fastapi_arch_lint", "review", str(root), "--format", "json", "--exit-zero"]
    warm_cache = scratch / f"{name}.warm-cache"
    shutil.rmtree(warm_cache, ignore_errors=True)
    subprocess.run([*tool, "--cache-dir", str(warm_cache)], stdout=subprocess.DEVNULL, check=False)
    # the pre-commit case: one file edited since the last run, every other file's facts cached
    edit_cache = scratch / f"{name}.edit-cache"
    shutil.rmtree(edit_cache, ignore_errors=True)
    shutil.copytree(warm_cache, edit_cache)
    edited = files[len(files) // 2]

    commands: dict[str, list[str] | None] = {
        "LibCST parse (floor)": [sys.executable, "-c", FLOOR, str(listing)],
        "review cold, 1 job": None,  # a fresh cache folder each time: filled, never read
        f"review cold, {jobs} jobs": None,
        f"review warm, {jobs} jobs": [*tool, "--cache-dir", str(warm_cache), "--jobs", str(jobs)],
        "review --no-cache, 1 job": [*tool, "--no-cache", "--jobs", "1"],
    }
    if may_edit:  # never on a real codebase: only the generated projects are edited
        commands[f"review 1 file edited, {jobs} jobs"] = [*tool, "--cache-dir", str(edit_cache), "--jobs", str(jobs)]
    if shutil.which("ruff"):
        commands["ruff check"] = [shutil.which("ruff"), "check", "--no-cache", "--exit-zero", "--quiet", str(root)]
    if shutil.which("bandit"):
        commands["bandit -r"] = [shutil.which("bandit"), "-r", "-q", "--exit-zero", "-f", "json",
                                 "-o", os.devnull, str(root)]
    samples: dict[str, list[dict[str, float]]] = {k: [] for k in commands}
    for r in range(repeat):
        for label, cmd in commands.items():
            if cmd is None:
                cold = scratch / f"{name}.cold-{r}"
                shutil.rmtree(cold, ignore_errors=True)
                n = "1" if "1 job" in label else str(jobs)
                cmd = [*tool, "--cache-dir", str(cold), "--jobs", n]
                samples[label].append(measure(cmd))
                shutil.rmtree(cold, ignore_errors=True)
            elif label.startswith("review 1 file edited"):
                original = edited.read_bytes()
                edited.write_bytes(original + f"\n# benchmark edit {r}\n".encode())
                try:
                    samples[label].append(measure(cmd))
                finally:
                    edited.write_bytes(original)
            else:
                samples[label].append(measure(cmd))
    result = {"name": name, "files": len(files), "lines": lines, "samples": samples}
    if with_breakdown:
        result["largest"] = largest_parse_mb(files)
        # in a process of its own: this one must stay small, as a child's peak RSS counts the
        # pages it shares with its parent between fork and exec
        out = subprocess.run([sys.executable, __file__, "--breakdown-only", str(root)], capture_output=True,
                             text=True, check=True)
        result["breakdown"] = json.loads(out.stdout)
    return result


def render(res: dict) -> str:
    samples = res["samples"]
    floor = statistics.median(s["wall"] for s in samples["LibCST parse (floor)"])
    out = [f"\n## {res['name']}: {res['files']:,} files, {res['lines']:,} lines", "",
           f"| command | min s | median s | max s | × floor | CPU s | peak RSS MB | lines/s |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, runs in samples.items():
        walls = [s["wall"] for s in runs]
        med = statistics.median(walls)
        cpu = statistics.median(s["cpu"] for s in runs)
        rss = max(s["rss"] for s in runs)
        out.append(f"| {label} | {min(walls):.2f} | {med:.2f} | {max(walls):.2f} | {med / floor:.2f} | "
                   f"{cpu:.2f} | {rss:.0f} | {res['lines'] / med:,.0f} |")
    if "breakdown" in res:
        b = res["breakdown"]
        stages = {k: v for k, v in b.items() if k not in ("findings", "model MB")}
        total = sum(stages.values())
        out += ["", "In-process stages of one cold run (1 job, no cache), CPU seconds: " + ", ".join(
            f"{k} {v:.2f} ({v / total:.0%})" for k, v in stages.items())
            + f"; {b['findings']} findings."]
        name, largest = res["largest"]
        peak = max(s["rss"] for s in samples["review cold, 1 job"])
        budget = 2 * (largest + b["model MB"])
        out += ["", f"Memory: review cold, 1 job peaks at {peak:.0f} MB; a process parsing only the largest "
                f"file ({name}) peaks at {largest:.0f} MB; the facts and linked model hold {b['model MB']:.0f} MB "
                f"(RSS growth in one process); goal 2 × ({largest:.0f} + {b['model MB']:.0f}) = {budget:.0f} MB: "
                f"{'met' if peak <= budget else 'NOT met'}."]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description="Time fastapi-arch-lint review against the LibCST parse floor.")
    ap.add_argument("--sizes", default="small,medium",
                    help=f"comma-separated synthetic sizes: {', '.join(f'{k} (~{v:,} lines)' for k, v in SIZES.items())}")
    ap.add_argument("--path", type=Path, default=None, help="benchmark this codebase instead (nothing is generated)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each command (default 3)")
    ap.add_argument("--jobs", type=int, default=None, help="jobs for the parallel runs (default: the CPU count)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where generated projects and caches go (default: a temporary folder, removed after)")
    ap.add_argument("--no-breakdown", action="store_true", help="skip the in-process stage timing")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw samples to this file")
    ap.add_argument("--breakdown-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.breakdown_only is not None:
        print(json.dumps(breakdown(args.breakdown_only)))
        return

    from fastapi_arch_lint.engine import default_jobs

    jobs = args.jobs or default_jobs()
    scratch = args.workdir or Path(tempfile.mkdtemp(prefix="fal-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"# fastapi-arch-lint benchmark: {os.cpu_count()} CPUs, {jobs} jobs, repeat {args.repeat}, "
          f"Python {sys.version.split()[0]}, load average before {os.getloadavg()[0]:.2f}")
    results = []
    try:
        if args.path is not None:
            root = args.path.resolve()
            if not root.is_dir():
                raise SystemExit(f"not a folder: {args.path}")
            results.append(run_target(root.name, root, args.repeat, jobs, scratch, not args.no_breakdown))
            print(render(results[-1]), flush=True)
        else:
            for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
                if size not in SIZES:
                    raise SystemExit(f"unknown size {size!r} (known: {', '.join(SIZES)})")
                root = scratch / size
                stats = generate(root, SIZES[size])
                print(f"\ngenerated {root}: {stats['files']} files, {stats['lines']:,} lines", flush=True)
                results.append(run_target(size, root, args.repeat, jobs, scratch, not args.no_breakdown,
                                          may_edit=True))
                print(render(results[-1]), flush=True)
        if len(results) > 1:
            print("\n## growth (median wall seconds per 10k lines)\n")
            labels = list(results[0]["samples"])
            print("| command | " + " | ".join(r["name"] for r in results) + " |")
            print("|---|" + "---:|" * len(results))
            for label in labels:
                cells = [f"{statistics.median(s['wall'] for s in r['samples'][label]) / r['lines'] * 10_000:.2f}"
                         for r in results if label in r["samples"]]
                print(f"| {label} | " + " | ".join(cells) + " |")
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    finally:
        if args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
