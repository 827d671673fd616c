"""The optional second stage of ``review``: an architect's narrative written by Claude.

``review PATH --narrative`` prints the deterministic report first, then this module builds the
brief (:mod:`.brief`, redacted by :mod:`.redact`), sends it with the system prompt
(:mod:`.prompt`) through the ``anthropic`` SDK (:mod:`.client`) and streams the answer as
Markdown. ``--dry-run`` prints the brief with its estimated size and cost and sends nothing.

The narrative's file option is ``--narrative-output FILE``, not the issue's ``--output``, because
``-o/--output`` already writes the *report* to a file. With a machine-readable report on standard
output (``--format json|sarif|gitlab|junit`` without ``-o``) nothing is streamed there: the narrative
goes to ``--narrative-output`` and/or ``$GITHUB_STEP_SUMMARY`` and is fetched in one (non-streamed)
response; without either, ``--narrative`` is a usage error (exit 2).

:func:`run` never raises and never decides the exit code: every problem is one line on stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from fastapi_arch_lint.narrative.client import (
    DEFAULT_MODEL,
    NarrativeError,
    NarrativeSettings,
    estimate_cost,
    resolve_settings,
)

if TYPE_CHECKING:  # pragma: no cover
    from fastapi_arch_lint.engine import ReviewResult

__all__ = ["NarrativeError", "NarrativeSettings", "resolve_settings", "run", "dry_run_text", "PREFIX"]

PREFIX = "fastapi-arch-lint: narrative"


def _header(model: str, focus: str | None) -> str:
    scope = f" (focus: {focus})" if focus else ""
    return (f"# Architecture review{scope}\n\n"
            f"_Written by {model} from the fastapi-arch-lint app model and findings. The findings are "
            "deterministic; this narrative is not: check it before acting on it._\n\n")


def dry_run_text(brief_text: str, system_text: str, user_text: str, settings: NarrativeSettings) -> str:
    """The brief followed by its estimated size and cost (a ``--dry-run``)."""
    from fastapi_arch_lint.narrative.brief import estimate_tokens

    brief_tokens = estimate_tokens(brief_text)
    input_tokens = estimate_tokens(system_text) + estimate_tokens(user_text)
    lines = [brief_text.rstrip(), "", "---", "",
             "**Dry run: nothing was sent.**", "",
             f"- brief: {len(brief_text):,} characters, about {brief_tokens:,} tokens",
             f"- whole request (system prompt {len(system_text):,} characters + brief and instructions "
             f"{len(user_text):,} characters): about {input_tokens:,} input tokens",
             "- token counts are estimates (characters / 4); the API counts exactly"]
    model = settings.model
    cost_in = estimate_cost(model, input_tokens, 0)
    if cost_in is None:
        lines.append(f"- no price known for `{model}`; with the default model `{DEFAULT_MODEL}`:")
        model = DEFAULT_MODEL
        cost_in = estimate_cost(model, input_tokens, 0) or 0.0
    cost_out = estimate_cost(model, 0, settings.max_output_tokens) or 0.0
    lines.append(f"- estimated cost with `{model}`: input ≈ ${cost_in:.4f}, output at most "
                 f"{settings.max_output_tokens:,} tokens ≈ ${cost_out:.4f}, total at most ≈ ${cost_in + cost_out:.4f} "
                 "(without prompt-cache discounts)")
    return "\n".join(lines) + "\n"


def _say(err: TextIO, message: str) -> None:
    err.write(f"{PREFIX}: {' '.join(message.split())}\n")
    err.flush()


def run(result: "ReviewResult", settings: NarrativeSettings, *, root: Path, extra_roots: Sequence[Path] = (),
        send: bool = True, dry_run: bool = False, to_stdout: bool = True, output: str | None = None,
        env: Mapping[str, str] | None = None, out: TextIO | None = None, err: TextIO | None = None,
        max_retries: int | None = None) -> bool:
    """Build the brief and print / send it. Returns True when a narrative (or dry run) was produced.

    Never raises (except KeyboardInterrupt): every failure is one line on ``err``.
    """
    env = os.environ if env is None else env
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        return _run(result, settings, root=root, extra_roots=extra_roots, send=send, dry_run=dry_run,
                    to_stdout=to_stdout, output=output, env=env, out=out, err=err, max_retries=max_retries)
    except NarrativeError as exc:
        _say(err, f"failed: {exc}")
    except OSError as exc:
        _say(err, f"failed: {exc.strerror or exc} ({exc.filename})" if exc.filename else f"failed: {exc}")
    except Exception as exc:  # a bug here must never cost the user the deterministic report or exit code
        _say(err, f"failed: unexpected {type(exc).__name__}: {exc}")
    return False


def _run(result: "ReviewResult", settings: NarrativeSettings, *, root: Path, extra_roots: Sequence[Path],
         send: bool, dry_run: bool, to_stdout: bool, output: str | None, env: Mapping[str, str],
         out: TextIO, err: TextIO, max_retries: int | None) -> bool:
    from fastapi_arch_lint.narrative import prompt
    from fastapi_arch_lint.narrative.brief import BriefOptions, brief_for_review

    if env.get("PRE_COMMIT") == "1":
        _say(err, "skipped: not run under pre-commit (PRE_COMMIT=1); run `fastapi-arch-lint review --narrative` "
                  "yourself or in CI")
        return False
    brief = brief_for_review(result, root, BriefOptions(focus=settings.focus), extra_roots=extra_roots)
    system = prompt.system_blocks()
    user = prompt.user_message(brief.text, settings.focus)
    if dry_run:
        text = dry_run_text(brief.text, str(system[0]["text"]), user, settings)
        if to_stdout:
            out.write("\n" + text)
            out.flush()
        if output:
            Path(output).write_text(text, encoding="utf-8")
        return True
    if not send:
        return False
    key = (env.get("ANTHROPIC_API_KEY") or "").strip()
    if not key:
        _say(err, "skipped: ANTHROPIC_API_KEY is not set (export your Anthropic API key, or use --dry-run "
                  "to see what would be sent)")
        return False
    from fastapi_arch_lint.narrative.client import MAX_RETRIES, generate

    header = _header(settings.model, settings.focus)
    started = False

    def show(chunk: str) -> None:
        nonlocal started
        if not to_stdout:
            return
        if not started:
            out.write("\n" + header)
            started = True
        out.write(chunk)
        out.flush()

    try:
        res = generate(system, user, settings, api_key=key, base_url=(env.get("ANTHROPIC_BASE_URL") or None),
                       stream=to_stdout, on_text=show,
                       max_retries=MAX_RETRIES if max_retries is None else max_retries)
    except NarrativeError:
        if started:
            out.write("\n")
            out.flush()
        raise
    if to_stdout:
        out.write("\n" if res.text.endswith("\n") else "\n\n")
        out.flush()
    document = header + res.text.rstrip() + "\n"
    if output:
        Path(output).write_text(document, encoding="utf-8")
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with Path(summary).open("a", encoding="utf-8") as fh:
                fh.write("\n" + document)
        except OSError as exc:
            _say(err, f"could not append to GITHUB_STEP_SUMMARY ({exc.strerror or exc})")
    if res.stop_reason == "max_tokens":
        _say(err, f"cut short: the answer reached --max-output-tokens ({settings.max_output_tokens}); raise it "
                  "or narrow the review with --focus")
    elif res.stop_reason == "refusal":
        _say(err, "the model declined to finish the review (stop reason: refusal)")
    cost = res.cost()
    cached = f", {res.cache_read_tokens:,} read from cache" if res.cache_read_tokens else ""
    _say(err, f"{res.model}: {res.input_tokens + res.cache_read_tokens + res.cache_creation_tokens:,} input tokens"
              f"{cached}, {res.output_tokens:,} output tokens"
              + (f", about ${cost:.4f}" if cost is not None else "")
              + (f" ({res.attempts} attempts)" if res.attempts > 1 else ""))
    return True
