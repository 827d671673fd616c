"""The command line: ``fastapi-arch-lint inspect|review|rules|explain``. Nothing imports this module."""

from __future__ import annotations

import sys

import click

from fastapi_arch_lint import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="fastapi-arch-lint")
def cli() -> None:
    """Static architecture review for FastAPI backends.

    Reads your code with LibCST (never imports or runs it), builds one model of
    the whole app (routers, include chains, dependencies, effective auth, models,
    tables) and runs deterministic rules over it.
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Exclude files matching GLOB (repeatable).")
def inspect(paths: tuple[str, ...], fmt: str, exclude: tuple[str, ...]) -> None:
    """Show the app model: every route with its full path, auth, status and models.

    PATHS are files or folders (default: the current folder).
    """
    from fastapi_arch_lint.engine import analyze
    from fastapi_arch_lint.report.inspect import render_json, render_text

    analysis = analyze(paths or (".",), excludes=exclude)
    out = render_json(analysis.model, analysis.diagnostics) if fmt == "json" else render_text(analysis.model, analysis.diagnostics)
    click.echo(out)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        click.echo("interrupted", err=True)
        sys.exit(130)
