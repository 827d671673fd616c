"""Running the selected rules over the linked model: in this process, or shared with one forked copy
of it (``run_rules(jobs=2)``); the result is the same either way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from fastapi_arch_lint.findings import Diagnostic, Finding

if TYPE_CHECKING:
    from fastapi_arch_lint.model.app import AppModel

__all__ = ["run_rules"]


# one rule's result: its findings, and the diagnostic saying it failed (None when it did not)
_RuleResult = tuple[list[Finding], Diagnostic | None]


def _run_rule(model: AppModel, cls: type, options: Mapping[str, dict]) -> _RuleResult:
    try:
        return list(cls(options.get(cls.code)).check(model)), None
    except Exception as exc:  # a bug in one rule must not hide the others' findings
        return [], Diagnostic("<internal>", f"rule {cls.code} ({cls.name}) failed: {type(exc).__name__}: {exc}")


def run_rules(model: AppModel, rules: Sequence[type], options: dict[str, dict] | None = None, *,
              jobs: int = 1) -> tuple[list[Finding], list[Diagnostic]]:
    """Run ``rules`` over ``model``. A rule that fails becomes a diagnostic, never a crash.

    With ``jobs`` > 1 (on Linux, in a process that runs no other thread) the rules are shared with
    one forked copy of this process (``_shared_with_a_fork``): the result does not depend on it."""
    options = options or {}
    results: dict[int, _RuleResult] = {}
    if jobs > 1 and len(rules) > 1:
        results = _shared_with_a_fork(model, rules, options)
    findings: list[Finding] = []
    diagnostics: list[Diagnostic] = []
    for i, cls in enumerate(rules):  # in the rules' order, whoever ran them
        got, problem = results[i] if i in results else _run_rule(model, cls, options)
        findings.extend(got)
        if problem is not None:
            diagnostics.append(problem)
    return findings, diagnostics


def _shared_with_a_fork(model: AppModel, rules: Sequence[type], options: Mapping[str, dict]
                        ) -> dict[int, _RuleResult]:
    """Run ``rules`` in this process and in one forked child, each taking the next rule not yet
    taken, and return the results of those that ran (by index); ``run_rules`` runs the others.

    The queue is a pipe holding one byte per rule, written before the fork and closed for writing:
    each process reads one byte at a time (a one-byte read of a pipe is atomic) until it is empty,
    so the faster process takes more rules and no rule runs twice. The child sends its results back
    pickled and exits without running any clean-up of its parent's. The linked model is not copied:
    the child shares the parent's pages until it writes them. If the child dies or its answer does
    not arrive whole, the rules it took are not in the result and run here afterwards. Nothing is
    shared when forking is unsafe (another thread runs: a language server) or there are more rules
    than one byte can number."""
    import os
    import pickle
    import sys
    import threading

    if not (sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1
            and len(rules) < 256):
        return {}
    queue_r, queue_w = os.pipe()
    os.write(queue_w, bytes(range(len(rules))))
    os.close(queue_w)
    answer_r, answer_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: run what it takes, answer, leave without the parent's clean-up
        code = 1
        try:
            os.close(answer_r)
            mine = _take_rules(queue_r, model, rules, options)
            data = pickle.dumps(mine, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(answer_w, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(answer_w)
    results = _take_rules(queue_r, model, rules, options)
    os.close(queue_r)
    with os.fdopen(answer_r, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0 and data:
        try:
            results.update(pickle.loads(data))
        except Exception:  # pragma: no cover - a truncated answer: those rules run here
            pass
    return results


def _take_rules(queue: int, model: AppModel, rules: Sequence[type], options: Mapping[str, dict]
                ) -> dict[int, _RuleResult]:
    import os

    out: dict[int, _RuleResult] = {}
    while True:
        got = os.read(queue, 1)
        if not got:
            return out
        out[got[0]] = _run_rule(model, rules[got[0]], options)
