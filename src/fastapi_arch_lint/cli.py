"""The command line: ``fastapi-arch-lint review|inspect|rules|explain``. Nothing imports this module.

Exit codes: 0 nothing at or above the fail level, 1 findings at or above it,
2 usage or configuration error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fastapi_arch_lint import __version__

FORMATS = ["text", "json", "sarif", "github", "gitlab", "junit"]


def _split(values: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


def _fail(message: str) -> None:
    click.echo(f"fastapi-arch-lint: error: {message}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="fastapi-arch-lint")
def cli() -> None:
    """Static architecture review for FastAPI backends.

    Reads your code with LibCST (it never imports or runs it), builds one model
    of the whole app (routers, include chains, dependencies, effective auth,
    Pydantic models, tables) and runs deterministic rules over it.

    \b
    Start with:
      fastapi-arch-lint review ./app        review the app, exit 1 on findings
      fastapi-arch-lint inspect ./app       show the route table the model sees
      fastapi-arch-lint rules               list the rules
      fastapi-arch-lint explain FAL101      show one rule's documentation
    """


def _load_config(config_path: str | None, paths: tuple[str, ...]):  # type: ignore[no-untyped-def]
    from fastapi_arch_lint.config import ConfigError, load_config

    try:
        if config_path:
            return load_config(Path(config_path))
        start = Path(paths[0]) if paths else Path.cwd()
        if not start.exists():
            start = Path.cwd()
        return load_config(start=start)
    except ConfigError as exc:
        _fail(str(exc))


def _project_root(config, paths: tuple[str, ...]) -> Path:  # type: ignore[no-untyped-def]
    """Where the whole app lives when only some of its files are given (see ``review``)."""
    import os

    if config.path is not None:
        return Path(config.root).resolve()
    first = Path(paths[0]).resolve().parent
    for candidate in (first, *first.parents):
        if (candidate / ".git").exists():
            return candidate
    from fastapi_arch_lint.discovery import package_root

    return Path(os.path.commonpath([str(package_root(Path(p).resolve())) for p in paths]))


def _perf_options(f):  # type: ignore[no-untyped-def]
    """``--jobs``, ``--no-cache`` and ``--cache-dir``, shared by ``review`` and ``inspect``."""
    f = click.option("--cache-dir", default=None, metavar="DIR", envvar="FASTAPI_ARCH_LINT_CACHE_DIR",
                     help="Where to cache per-file facts (and review's last result)  [default: .fastapi_arch_lint_cache "
                          "in the project root; "
                          "env FASTAPI_ARCH_LINT_CACHE_DIR].")(f)
    f = click.option("--no-cache", is_flag=True, envvar="FASTAPI_ARCH_LINT_NO_CACHE",
                     help="Neither read nor write the cache: parse, link and check everything.")(f)
    f = click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
                     help="Parse in N processes  [default: the CPU count; 1: in this process].")(f)
    return f


def _cache(config, no_cache: bool, cache_dir: str | None):  # type: ignore[no-untyped-def]
    """The facts cache for this run, or None: in the config's folder, else the current one."""
    from fastapi_arch_lint.cache import FactCache, resolve_cache_dir

    root = Path(config.root) if config.path is not None else Path.cwd()
    where = resolve_cache_dir(no_cache=no_cache, cli_dir=cache_dir, config_dir=config.cache_dir, root=root)
    return FactCache(where, max_bytes=config.max_file_bytes) if where is not None else None


def _cache_warning(cache) -> None:  # type: ignore[no-untyped-def]
    if cache is not None and cache.problem:
        click.echo(f"fastapi-arch-lint: warning: facts not cached: {cache.problem}", err=True)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")
@click.option("--select", multiple=True, metavar="CODES", help="Only these rule codes or prefixes (comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rule codes or prefixes.")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Add to the selected rules.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Lowest severity that makes the exit code 1  [default: warning].")
@click.option("--min-confidence", type=click.Choice(["high", "medium", "low"]), default=None,
              help="Report only findings at least this confident  [default: low, all].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="A pyproject.toml to read [tool.fastapi-arch-lint] from (default: the nearest one).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Also exclude files matching GLOB.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to a file instead of standard output.")
@click.option("--narrative", is_flag=True,
              help="After the report, stream an architect's review written by Claude (needs ANTHROPIC_API_KEY).")
@click.option("--model", default=None, metavar="NAME", help="Claude model for --narrative  [default: claude-sonnet-5-5].")
@click.option("--max-output-tokens", type=int, default=None, metavar="N",
              help="Most tokens the narrative may use  [default: 16000].")
@click.option("--narrative-output", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Also write the narrative (Markdown) to FILE; -o/--output is the report's file.")
@click.option("--focus", type=click.Choice(["api", "database", "security"]), default=None,
              help="Narrow the narrative and its brief to one area.")
@click.option("--dry-run", is_flag=True, help="Print the brief --narrative would send, its estimated tokens and cost; send nothing.")
@click.option("--changed-since", metavar="REF", default=None,
              help="Only report findings on lines changed since the merge base of REF and HEAD "
                   "(committed, staged, unstaged and untracked changes).")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=True), default=None, metavar="FILE",
              help="Only report findings that are not in this baseline.")
@click.option("--write-baseline", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Record today's findings in FILE and exit 0.")
@click.option("--sarif-output", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Also write the findings as SARIF to FILE (one analysis, two reports).")
@click.option("--fix", is_flag=True, help="Apply the fixes of the reported findings, then report what remains.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Print the fixes as a unified diff and write nothing (exit 1 when there is one).")
@click.option("--unsafe-fixes", is_flag=True,
              help="With --fix or --diff, also apply the fixes that change behaviour (a status code, a timeout...).")
@_perf_options
def review(paths: tuple[str, ...], fmt: str, select: tuple[str, ...], ignore: tuple[str, ...],
           extend_select: tuple[str, ...], fail_on: str | None, exit_zero: bool, config_path: str | None,
           exclude: tuple[str, ...], output: str | None, jobs: int | None = None, no_cache: bool = False,
           cache_dir: str | None = None, changed_since: str | None = None, min_confidence: str | None = None,
           baseline_path: str | None = None, write_baseline: str | None = None,
           sarif_output: str | None = None, narrative: bool = False, model: str | None = None,
           max_output_tokens: int | None = None, narrative_output: str | None = None, focus: str | None = None,
           dry_run: bool = False, fix: bool = False, show_diff: bool = False, unsafe_fixes: bool = False) -> None:
    """Review a FastAPI codebase and report findings.

    PATHS are files or folders (default: the current folder). The whole app
    under them is analyzed, so a route's prefix and auth are known even when
    they are set in another file.

    \b
    Examples:
      fastapi-arch-lint review ./app
      fastapi-arch-lint review . --select FAL4 --format json
      fastapi-arch-lint review src --ignore FAL103 --fail-on error
      fastapi-arch-lint review . --min-confidence high
      fastapi-arch-lint review ./app --narrative --focus security
      fastapi-arch-lint review . --diff --unsafe-fixes    show the fixes, write nothing
      fastapi-arch-lint review . --fix                    apply the safe fixes
    """
    from fastapi_arch_lint.config import ConfigError, parse_confidence, parse_severity, validate_selectors
    from fastapi_arch_lint.engine import review as run_review
    from fastapi_arch_lint.findings import Severity

    config = _load_config(config_path, paths)
    sel, ign, ext = _split(select), _split(ignore), _split(extend_select)
    try:
        validate_selectors(sel, "--select")
        validate_selectors(ign, "--ignore")
        validate_selectors(ext, "--extend-select")
        threshold = parse_severity(fail_on, "--fail-on") if fail_on else config.fail_on
        least_sure = parse_confidence(min_confidence, "--min-confidence") if min_confidence else config.min_confidence
    except ConfigError as exc:
        _fail(str(exc))
        return
    narrative_settings = _narrative_settings(config, narrative or dry_run, model, max_output_tokens, focus,
                                             fmt, output, narrative_output)
    config.extend_exclude = [*config.extend_exclude, *exclude]
    targets = paths or (".",)
    missing = [p for p in targets if not Path(p).exists()]
    if missing and len(missing) == len(targets):
        _fail(f"path does not exist: {missing[0]}")
    changed, known = _changed_and_baseline(changed_since, baseline_path, write_baseline, targets)
    if (fix or show_diff) and (write_baseline or narrative_settings is not None):
        _fail("--fix and --diff cannot be combined with " + ("--write-baseline" if write_baseline else "--narrative"))
    # Only files given (pre-commit passes the changed files): they are the *report* scope,
    # the whole project is the *analysis* scope, because a route's prefix and auth live in
    # files that did not change. The project is the config's folder (nearest pyproject.toml),
    # else the git top level of the first file, else the folder holding the files' top packages.
    report_only: set[Path] | None = None
    if paths and all(Path(p).is_file() for p in paths):
        report_only = {Path(p).resolve() for p in paths}
        project = _project_root(config, paths)
        targets = (str(project), *[p for p in paths if not Path(p).resolve().is_relative_to(project)])
    cache = _cache(config, no_cache, cache_dir)
    # an unchanged project's stored result answers the run, unless the narrative needs the model
    result = run_review(targets, config, select=sel or None, ignore=ign, extend_select=ext, jobs=jobs, cache=cache,
                        reuse_results=narrative_settings is None)
    _cache_warning(cache)
    # below the confidence asked for, a finding is not reported anywhere (report, baseline, narrative)
    result.findings = [f for f in result.findings if f.confidence.rank >= least_sure.rank]
    if write_baseline:
        _write_baseline(Path(write_baseline), result.findings)
    result = _reported_again(result, least_sure, known, changed, report_only)
    fixed_line = None
    if fix or show_diff:  # only the reported findings are fixed (not those under `# noqa`, ignored or baselined)
        from fastapi_arch_lint.engine import fix_findings

        fixes = fix_findings(result.findings, unsafe=unsafe_fixes, write=not show_diff)
        for d in fixes.problems:
            click.echo(f"fastapi-arch-lint: {d.path}: {d.message}", err=True)
        for f, why in fixes.skipped:
            click.echo(f"fastapi-arch-lint: {f.path}:{f.line}: {f.rule} not fixed: {why}", err=True)
        if show_diff:
            _print_diff(fixes, output)
            sys.exit(1 if fixes.diffs else 0)
        if fixes.files:  # the files changed: what remains is a new review's answer
            result = _reported_again(run_review(targets, config, select=sel or None, ignore=ign,
                                                extend_select=ext, jobs=jobs, cache=cache, reuse_results=True),
                                     least_sure, known, changed, report_only)
        fixed_line = _fixed_summary(fixes, result.findings, unsafe_fixes)
    files = len(result.analysis.files)
    replacements = None  # the lines each fix would change, for the formats that carry them
    if (fmt in ("json", "sarif") or sarif_output) and any(f.fix is not None for f in result.findings):
        from fastapi_arch_lint.engine import fix_replacements, jobs_for

        replacements = fix_replacements(result.findings, cache, jobs=jobs_for(jobs, config))
    if fmt == "json":
        from fastapi_arch_lint.report import jsonout

        text = jsonout.render(result.findings, result.diagnostics, files=files, replacements=replacements)
    elif fmt == "sarif":
        from fastapi_arch_lint.report import sarif

        text = sarif.render(result.findings, result.diagnostics, result.rules, files=files,
                            replacements=replacements)
    elif fmt in ("github", "gitlab", "junit"):
        import importlib

        mod = importlib.import_module(f"fastapi_arch_lint.report.{fmt}")
        text = mod.render(result.findings, result.diagnostics, files=files)
        if fmt == "github":
            mod.write_step_summary(result.findings, result.diagnostics, files=files)
    else:
        from fastapi_arch_lint.report import text as textout

        text = textout.render(result.findings, result.diagnostics, files=files,
                              color=output is None and sys.stdout.isatty())
    if fixed_line is not None and fmt == "text" and output is None:
        text += "\n" + fixed_line
    elif fixed_line is not None:
        click.echo(f"fastapi-arch-lint: {fixed_line}", err=True)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
    if fmt in ("gitlab", "junit"):  # formats with no place for it: the line goes to standard error
        for d in result.diagnostics:
            if d.is_note:
                click.echo(f"fastapi-arch-lint: note: {d.message}", err=True)
    if sarif_output:
        from fastapi_arch_lint.report import sarif as sarif_report

        Path(sarif_output).write_text(sarif_report.render(result.findings, result.diagnostics, result.rules,
                                                          files=files, replacements=replacements) + "\n",
                                      encoding="utf-8")
    if narrative_settings is not None:  # after the complete report; never changes the exit code
        _narrative(result, narrative_settings, targets, config, send=narrative, dry_run=dry_run,
                   to_stdout=fmt in ("text", "github") or output is not None, narrative_output=narrative_output)
    failing = [f for f in result.findings if f.severity.rank >= Severity(threshold).rank]
    sys.exit(1 if failing and not exit_zero else 0)


def _reported_again(result, least_sure, known, changed, report_only):  # type: ignore[no-untyped-def]
    """The filters ``review`` applies to what it reports, on its result and on the review after ``--fix``
    (``--write-baseline``, which records the findings before the baseline and the changed-lines filters,
    cannot be combined with ``--fix``)."""
    result.findings = [f for f in result.findings if f.confidence.rank >= least_sure.rank]
    if known is not None:
        from fastapi_arch_lint.baseline import new_findings

        result.findings = new_findings(result.findings, known)
    if changed is not None:
        result.findings, result.diagnostics = changed.filter(result.findings, result.diagnostics)
    if report_only is not None:
        result.findings = [f for f in result.findings if Path(f.path).resolve() in report_only]
        result.diagnostics = [d for d in result.diagnostics
                              if d.path.startswith("<") or Path(d.path).resolve() in report_only]
    return result


def _fixed_summary(fixes, remaining, unsafe: bool) -> str:  # type: ignore[no-untyped-def]
    """``Fixed 3 findings in 2 files; 5 remain (2 more fixable with --unsafe-fixes).``"""
    n = len(fixes.fixed)
    line = (f"Fixed {n} finding{'s' if n != 1 else ''} in {len(fixes.files)} file{'s' if len(fixes.files) != 1 else ''}"
            f"; {len(remaining)} remain{'s' if len(remaining) == 1 else ''}")
    more = sum(1 for f in remaining if f.fix is not None and not f.fix.safe) if not unsafe else 0
    return line + (f" ({more} more fixable with --unsafe-fixes)." if more else ".")


def _print_diff(fixes, output: str | None) -> None:  # type: ignore[no-untyped-def]
    """``--diff``: the diff on standard output (or ``-o``), the count on standard error."""
    text = "".join(fixes.diffs[p] for p in sorted(fixes.diffs))
    if output:
        Path(output).write_text(text, encoding="utf-8")
    elif text:
        click.echo(text, nl=False)
    n = len(fixes.fixed)
    tail = f" ({fixes.unsafe_left} more with --unsafe-fixes)" if fixes.unsafe_left else ""
    click.echo(f"fastapi-arch-lint: would fix {n} finding{'s' if n != 1 else ''} in {len(fixes.diffs)} "
               f"file{'s' if len(fixes.diffs) != 1 else ''}{tail}; nothing written", err=True)


def _changed_and_baseline(changed_since, baseline_path, write_baseline, targets):  # type: ignore[no-untyped-def]
    """``review``'s git and baseline inputs, checked before the analysis (exit 2 on a problem)."""
    from fastapi_arch_lint.baseline import BaselineError, load
    from fastapi_arch_lint.gitutil import GitError, changed_lines

    if write_baseline and (baseline_path or changed_since):
        _fail("--write-baseline records every finding: it cannot be combined with "
              + ("--baseline" if baseline_path else "--changed-since"))
    if write_baseline and not Path(write_baseline).resolve().parent.is_dir():
        _fail(f"cannot write baseline {write_baseline}: folder {Path(write_baseline).parent} does not exist")
    changed = known = None
    try:
        if changed_since is not None:
            changed = changed_lines(changed_since, Path(targets[0]))
        if baseline_path:
            known = load(Path(baseline_path))
    except (GitError, BaselineError) as exc:
        _fail(f"--changed-since: {exc}" if isinstance(exc, GitError) else str(exc))
    return changed, known


def _write_baseline(path: Path, findings) -> None:  # type: ignore[no-untyped-def]
    from fastapi_arch_lint.baseline import BaselineError, write

    try:
        count = write(path, findings)
    except BaselineError as exc:
        _fail(str(exc))
        return
    click.echo(f"fastapi-arch-lint: wrote {count} finding{'s' if count != 1 else ''} to baseline {path}", err=True)
    sys.exit(0)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Exclude files matching GLOB (repeatable).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="A pyproject.toml to read excludes from (default: the nearest one).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to a file instead of standard output.")
@_perf_options
def inspect(paths: tuple[str, ...], fmt: str, exclude: tuple[str, ...], config_path: str | None,
            output: str | None = None, jobs: int | None = None, no_cache: bool = False,
            cache_dir: str | None = None) -> None:
    """Show the app model: every route with its full path, auth, status and models.

    PATHS are files or folders (default: the current folder). Items the model
    could not resolve statically are listed with the reason.
    """
    from fastapi_arch_lint.engine import DEFAULT_FILE_TIMEOUT, analyze, jobs_for
    from fastapi_arch_lint.report.inspect import render_json, render_text

    config = _load_config(config_path, paths)
    targets = paths or (".",)
    missing = [p for p in targets if not Path(p).exists()]
    if missing and len(missing) == len(targets):
        _fail(f"path does not exist: {missing[0]}")
    cache = _cache(config, no_cache, cache_dir)
    analysis = analyze(targets, excludes=[*config.all_excludes, *exclude], base=config.root,
                       max_bytes=config.max_file_bytes, jobs=jobs_for(jobs, config), cache=cache,
                       auth_names=config.auth_names, timeout=config.file_timeout or DEFAULT_FILE_TIMEOUT)
    _cache_warning(cache)
    out = render_json(analysis.model, analysis.diagnostics) if fmt == "json" else render_text(analysis.model, analysis.diagnostics)
    if output:
        Path(output).write_text(out + "\n", encoding="utf-8")
    else:
        click.echo(out)


@cli.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_rules(fmt: str) -> None:
    """List every rule: code, name, severity and summary."""
    import json

    from fastapi_arch_lint.rule import CATEGORY_TITLES, load_rules

    rules = load_rules()
    if fmt == "json":
        click.echo(json.dumps([
            {"code": r.code, "name": r.name, "category": r.category(), "severity": r.severity.value,
             "other_severities": {s.value: when for s, when in r.other_severities.items()},
             "confidence": r.confidence.value, "summary": r.summary, "cwe": list(r.cwe), "owasp": list(r.owasp)}
            for r in rules.values()
        ], indent=2))
        return
    current = None
    for r in rules.values():
        if r.category() != current:
            current = r.category()
            click.echo(f"\n{CATEGORY_TITLES.get(current, current)}")
        sev = "/".join(s.value for s in r.severities())
        click.echo(f"  {r.code}  {r.name:<38} {sev:<13} {r.summary}")


@cli.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Show the documentation of RULE (a code such as FAL101, or a name)."""
    from fastapi_arch_lint.rule import by_name_or_code, rule_doc

    cls = by_name_or_code(rule)
    if cls is None:
        _fail(f"unknown rule `{rule}` (see `fastapi-arch-lint rules`)")
        return
    doc = rule_doc(cls)
    header = f"{cls.code} {cls.name} ({cls.severity_text()}, {cls.confidence.value} confidence)"
    click.echo(doc if doc else f"{header}\n\n{cls.summary}")


def _narrative_settings(config, wanted: bool, model: str | None, max_output_tokens: int | None,  # type: ignore[no-untyped-def]
                        focus: str | None, fmt: str, output: str | None, narrative_output: str | None):
    """``[tool.fastapi-arch-lint.narrative]`` plus flags, checked before the analysis (exit 2 on a problem).

    The table is validated on every ``review``; the settings are returned only with --narrative/--dry-run.
    """
    import os

    if not wanted and not config.narrative:  # nothing to check: the narrative code stays unloaded (8 ms)
        return None
    from fastapi_arch_lint.config import ConfigError
    from fastapi_arch_lint.narrative.client import resolve_settings

    try:
        settings = resolve_settings(config.narrative, config.path, model=model if wanted else None,
                                    max_output_tokens=max_output_tokens if wanted else None,
                                    focus=focus if wanted else None)
    except ConfigError as exc:
        _fail(str(exc))
    if not wanted:
        return None
    machine = fmt not in ("text", "github") and output is None
    if machine and not narrative_output and not os.environ.get("GITHUB_STEP_SUMMARY") \
            and os.environ.get("PRE_COMMIT") != "1":
        _fail(f"--format {fmt} writes the report to standard output, so the narrative needs "
              "--narrative-output FILE (or write the report with -o FILE)")
    return settings


def _narrative(result, settings, targets, config, *, send: bool, dry_run: bool, to_stdout: bool,  # type: ignore[no-untyped-def]
               narrative_output: str | None) -> None:
    from fastapi_arch_lint.narrative import run
    from fastapi_arch_lint.narrative.brief import project_root

    sys.stdout.flush()
    root = project_root(targets, config.root if config.path is not None else None)
    run(result, settings, root=root, extra_roots=[Path(config.root)] if config.path is not None else [],
        send=send, dry_run=dry_run, to_stdout=to_stdout, output=narrative_output)


@cli.command("diff")
@click.argument("base")
@click.argument("head", required=False)
@click.option("-p", "--path", "app_path", default=".", show_default=True, type=click.Path(path_type=str),
              help="The app's folder inside the repository.")
@click.option("--merge-base", "use_merge_base", is_flag=True,
              help="Compare with the merge base of BASE and HEAD (what a pull request changes), "
                   "as `git diff --merge-base` does.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="Output format (markdown: ready to post as a pull-request comment).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even with breaking changes or lost authentication.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the report to a file instead of standard output.")
def api_diff(base: str, head: str | None, app_path: str, use_merge_base: bool, fmt: str, exit_zero: bool,
             output: str | None) -> None:
    """Report how the API changed between two git revisions.

    Builds the app model at BASE and at HEAD (default: the working tree) from
    the files stored in git (nothing is checked out) and lists routes added,
    removed and moved, methods, path parameters, status codes and response
    models changed, routes that lost authentication and new unauthenticated
    state-changing routes, each marked breaking or not. Exit 1 on breaking
    changes or lost authentication (unless --exit-zero), 2 on a usage error.

    \b
    Examples:
      fastapi-arch-lint diff main
      fastapi-arch-lint diff --merge-base origin/main HEAD --format markdown
      fastapi-arch-lint diff v1.4.0 v1.5.0 --path backend --format json
    """
    import tempfile

    from fastapi_arch_lint.apidiff import compare
    from fastapi_arch_lint.gitutil import GitError, merge_base, prefix_of, resolve_commit, toplevel
    from fastapi_arch_lint.report import diff as render

    if not Path(app_path).is_dir():
        _fail(f"--path: not a folder: {app_path}")
    try:
        repo = toplevel(Path(app_path))
        prefix = prefix_of(Path(app_path), repo)
        head_commit = resolve_commit(head, repo) if head else None
        base_commit = (merge_base(base, repo, head or "HEAD") if use_merge_base else resolve_commit(base, repo))
    except GitError as exc:
        _fail(str(exc))
        return
    with tempfile.TemporaryDirectory(prefix="fastapi-arch-lint-diff-") as tmp:
        (b_model, b_map, b_diags) = _model_at(base, base_commit, repo, prefix, Path(tmp) / "base")
        if head_commit is None:
            (h_model, h_map, h_diags) = _model_at(None, None, repo, prefix, Path(app_path))
        else:
            (h_model, h_map, h_diags) = _model_at(head, head_commit, repo, prefix, Path(tmp) / "head")
    if not b_model.routes and not h_model.routes:
        _fail(f"no FastAPI routes found under {app_path} at {base} or at {head or 'the working tree'}")
    result = compare(b_model, h_model, base_path=b_map, head_path=h_map)
    sides = (render.Side(base, base_commit), render.Side(head or "WORKTREE", head_commit))
    diags = [render.SideDiagnostic("base", b_map(d.path), d.message) for d in b_diags]
    diags += [render.SideDiagnostic("head", h_map(d.path), d.message) for d in h_diags]
    renderer = {"json": render.render_json, "markdown": render.render_markdown, "text": render.render_text}[fmt]
    text = renderer(result, *sides, diags)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
    sys.exit(1 if result.fails and not exit_zero else 0)


def _model_at(rev, commit, repo, prefix, dest):  # type: ignore[no-untyped-def]
    """The app model at ``commit`` (files read from git into ``dest``), or of the working tree
    at ``dest`` when ``commit`` is None; with a function mapping its paths to repository-relative."""
    import os

    from fastapi_arch_lint.config import ConfigError, load_config
    from fastapi_arch_lint.engine import DEFAULT_FILE_TIMEOUT, analyze
    from fastapi_arch_lint.gitutil import GitError, read_tree

    if commit is not None:
        try:
            read_tree(commit, repo, dest, prefix)
        except GitError as exc:
            _fail(f"reading {rev}: {exc}")
        root, target = dest.resolve(), (dest / prefix).resolve()
        target.mkdir(parents=True, exist_ok=True)
    else:
        root, target = repo, dest.resolve()
    try:
        config = load_config(start=target)
    except ConfigError as exc:
        _fail(f"at {rev or 'the working tree'}: {exc}")
    analysis = analyze([target], excludes=config.all_excludes, base=config.root, max_bytes=config.max_file_bytes,
                       auth_names=config.auth_names, timeout=config.file_timeout or DEFAULT_FILE_TIMEOUT)

    def to_repo(path: str) -> str:
        if path.startswith("<"):
            return path
        absolute = Path(os.path.abspath(path))
        for base in (root, root.resolve()):
            try:
                return absolute.resolve().relative_to(base).as_posix()
            except ValueError:
                continue
        return path

    return analysis.model, to_repo, analysis.diagnostics


@cli.command()
@click.option("--stdio", is_flag=True, help="Talk over standard input and output (the default and only transport).")
@_perf_options
def server(stdio: bool, jobs: int | None = None, no_cache: bool = False, cache_dir: str | None = None) -> None:
    """Run the language server (LSP over standard input and output) for an editor.

    The editor starts it; it analyzes the workspace's project once, then again on every change
    (the open files' unsaved text included), and publishes the findings as diagnostics, with a
    "Suppress CODE on this line" code action and a hover on route decorators (full path, effective
    auth and include chain). See "Editor integration" in the README for VS Code, Neovim and Helix.
    """
    from fastapi_arch_lint.server import serve

    sys.exit(serve(no_cache=no_cache, cache_dir=cache_dir, jobs=jobs))


def main() -> None:
    _exit_now(_run())


def _run() -> int:
    from fastapi_arch_lint.engine import frozen_until_exit

    frozen_until_exit()  # the process ends with the command: see _exit_now
    try:
        cli(standalone_mode=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        click.echo(exc.code, err=True)
        return 1
    except KeyboardInterrupt:  # pragma: no cover
        click.echo("interrupted", err=True)
        return 130
    except OSError as exc:  # a report, baseline or narrative file that cannot be written (-o /no/such/dir/x)
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"fastapi-arch-lint: error: {where}{exc.strerror or exc}", err=True)
        return 2
    return 0


def _exit_now(code: int) -> None:
    """End the process without tearing the interpreter down.

    A run leaves its facts and model behind (about a million objects on a 100k-line project,
    many in reference cycles); a normal exit collects and frees them one by one (0.7 s on the
    medium benchmark) just before the process's memory goes back to the system anyway. mypy
    ends the same way. The exit handlers still run and the output streams are flushed first;
    an output that cannot be flushed is reported and ends the run with 120, as Python would.
    """
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed
            continue
        try:
            stream.flush()
        except (OSError, ValueError) as exc:  # a full disk, a closed pipe
            if stream is sys.stdout:
                try:
                    sys.stderr.write(f"fastapi-arch-lint: error: cannot write the output: {exc}\n")
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass
                code = code or 120
    os._exit(code)
