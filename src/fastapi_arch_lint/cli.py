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


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")
@click.option("--select", multiple=True, metavar="CODES", help="Only these rule codes or prefixes (comma-separated).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rule codes or prefixes.")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Add to the selected rules.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Lowest severity that makes the exit code 1  [default: warning].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="A pyproject.toml to read [tool.fastapi-arch-lint] from (default: the nearest one).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Also exclude files matching GLOB.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to a file instead of standard output.")
def review(paths: tuple[str, ...], fmt: str, select: tuple[str, ...], ignore: tuple[str, ...],
           extend_select: tuple[str, ...], fail_on: str | None, exit_zero: bool, config_path: str | None,
           exclude: tuple[str, ...], output: str | None) -> None:
    """Review a FastAPI codebase and report findings.

    PATHS are files or folders (default: the current folder). The whole app
    under them is analyzed, so a route's prefix and auth are known even when
    they are set in another file.

    \b
    Examples:
      fastapi-arch-lint review ./app
      fastapi-arch-lint review . --select FAL4 --format json
      fastapi-arch-lint review src --ignore FAL103 --fail-on error
    """
    from fastapi_arch_lint.config import ConfigError, parse_severity, validate_selectors
    from fastapi_arch_lint.engine import review as run_review
    from fastapi_arch_lint.findings import Severity

    config = _load_config(config_path, paths)
    sel, ign, ext = _split(select), _split(ignore), _split(extend_select)
    try:
        validate_selectors(sel, "--select")
        validate_selectors(ign, "--ignore")
        validate_selectors(ext, "--extend-select")
        threshold = parse_severity(fail_on, "--fail-on") if fail_on else config.fail_on
    except ConfigError as exc:
        _fail(str(exc))
        return
    config.extend_exclude = [*config.extend_exclude, *exclude]
    targets = paths or (".",)
    missing = [p for p in targets if not Path(p).exists()]
    if missing and len(missing) == len(targets):
        _fail(f"path does not exist: {missing[0]}")
    # Only files given (pre-commit passes the changed files): they are the *report* scope,
    # the whole project is the *analysis* scope, because a route's prefix and auth live in
    # files that did not change. The project is the config's folder (nearest pyproject.toml),
    # else the git top level of the first file, else the folder holding the files' top packages.
    report_only: set[Path] | None = None
    if paths and all(Path(p).is_file() for p in paths):
        report_only = {Path(p).resolve() for p in paths}
        project = _project_root(config, paths)
        targets = (str(project), *[p for p in paths if not Path(p).resolve().is_relative_to(project)])
    result = run_review(targets, config, select=sel or None, ignore=ign, extend_select=ext)
    if report_only is not None:
        result.findings = [f for f in result.findings if Path(f.path).resolve() in report_only]
        result.diagnostics = [d for d in result.diagnostics
                              if d.path.startswith("<") or Path(d.path).resolve() in report_only]
    files = len(result.analysis.files)
    if fmt == "json":
        from fastapi_arch_lint.report import jsonout

        text = jsonout.render(result.findings, result.diagnostics, files=files)
    elif fmt == "sarif":
        from fastapi_arch_lint.report import sarif

        text = sarif.render(result.findings, result.diagnostics, result.rules, files=files)
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
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
    failing = [f for f in result.findings if f.severity.rank >= Severity(threshold).rank]
    sys.exit(1 if failing and not exit_zero else 0)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Exclude files matching GLOB (repeatable).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="A pyproject.toml to read excludes from (default: the nearest one).")
def inspect(paths: tuple[str, ...], fmt: str, exclude: tuple[str, ...], config_path: str | None) -> None:
    """Show the app model: every route with its full path, auth, status and models.

    PATHS are files or folders (default: the current folder). Items the model
    could not resolve statically are listed with the reason.
    """
    from fastapi_arch_lint.engine import analyze
    from fastapi_arch_lint.report.inspect import render_json, render_text

    config = _load_config(config_path, paths)
    targets = paths or (".",)
    missing = [p for p in targets if not Path(p).exists()]
    if missing and len(missing) == len(targets):
        _fail(f"path does not exist: {missing[0]}")
    analysis = analyze(targets, excludes=[*config.all_excludes, *exclude], base=config.root,
                       max_bytes=config.max_file_bytes)
    out = render_json(analysis.model, analysis.diagnostics) if fmt == "json" else render_text(analysis.model, analysis.diagnostics)
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
             "confidence": r.confidence.value, "summary": r.summary, "cwe": list(r.cwe), "owasp": list(r.owasp)}
            for r in rules.values()
        ], indent=2))
        return
    current = None
    for r in rules.values():
        if r.category() != current:
            current = r.category()
            click.echo(f"\n{CATEGORY_TITLES.get(current, current)}")
        click.echo(f"  {r.code}  {r.name:<38} {r.severity.value:<8} {r.summary}")


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
    header = f"{cls.code} {cls.name} ({cls.severity.value}, {cls.confidence.value} confidence)"
    click.echo(doc if doc else f"{header}\n\n{cls.summary}")


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        click.echo("interrupted", err=True)
        sys.exit(130)
