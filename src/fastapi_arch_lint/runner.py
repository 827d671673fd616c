"""Running the selected rules over the linked model: in this process, or shared with one forked copy
of it (``run_rules(jobs=2)``, through ``in_two_processes``, which the reports' fix lines use too); the
result is the same either way."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from fastapi_arch_lint.findings import Diagnostic, Finding

if TYPE_CHECKING:
    from fastapi_arch_lint.model.app import AppModel

__all__ = ["in_two_processes", "run_rules"]

T = TypeVar("T")


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
    one forked copy of this process (``in_two_processes``): the result does not depend on it."""
    opts: Mapping[str, dict] = options or {}
    results: dict[int, _RuleResult] = {}
    if jobs > 1 and len(rules) > 1:
        results = in_two_processes([partial(_run_rule, model, cls, opts) for cls in rules])
    findings: list[Finding] = []
    diagnostics: list[Diagnostic] = []
    for i, cls in enumerate(rules):  # in the rules' order, whoever ran them
        got, problem = results[i] if i in results else _run_rule(model, cls, opts)
        findings.extend(got)
        if problem is not None:
            diagnostics.append(problem)
    return findings, diagnostics


MAX_TASKS = 255  # one byte numbers a task in the queue


def in_two_processes(tasks: Sequence[Callable[[], T]]) -> dict[int, T]:
    """Run ``tasks`` in this process and in one forked child, each taking the next task not yet
    taken, and return the results of those that ran (by index); the caller runs the others itself
    (a task that raised, or one a dead child took), so that an error surfaces as it would alone.

    The queue is a pipe holding one byte per task, written before the fork and closed for writing:
    each process reads one byte at a time (a one-byte read of a pipe is atomic) until it is empty,
    so the faster process takes more tasks and no task runs twice. The child sends its results back
    pickled and exits without running any clean-up of its parent's. What the tasks read (the linked
    model) is not copied: the child shares the parent's pages until it writes them. Nothing is shared
    (an empty result) when forking is unsafe (another thread runs: a language server), off Linux, or
    with more than ``MAX_TASKS`` tasks."""
    import os
    import pickle
    import sys
    import threading

    if not (sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1
            and 1 < len(tasks) <= MAX_TASKS):
        return {}
    queue_r, queue_w = os.pipe()
    os.write(queue_w, bytes(range(len(tasks))))
    os.close(queue_w)
    answer_r, answer_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: run what it takes, answer, leave without the parent's clean-up
        code = 1
        try:
            os.close(answer_r)
            data = pickle.dumps(_take(queue_r, tasks), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(answer_w, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(answer_w)
    results = _take(queue_r, tasks)
    os.close(queue_r)
    with os.fdopen(answer_r, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0 and data:
        try:
            results.update(pickle.loads(data))
        except Exception:  # pragma: no cover - a truncated answer: those tasks run in the caller
            pass
    return results


def _take(queue: int, tasks: Sequence[Callable[[], T]]) -> dict[int, T]:
    import os

    out: dict[int, T] = {}
    while True:
        got = os.read(queue, 1)
        if not got:
            return out
        try:
            out[got[0]] = tasks[got[0]]()
        except Exception:  # left out: the caller runs it again, where its error surfaces
            continue
