"""Which project functions a request can run: route handlers, their dependencies, middleware, and
every project function they call (through the resolved call graph), at any depth.

A side channel that needs the response time (FAL506), or a value that can come from a client
(FAL529), only matters in code a request runs; a background job, a webhook worker fed by a queue,
a CLI command or a startup script is not timed by an attacker. Calls the linker did not resolve
are not followed, so a function missing from the set is "not shown to be reachable", not "proved
unreachable": rules use it to lower a finding, never to drop one silently on that ground alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi_arch_lint.analysis.index import unique_routes
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import Attr, Name, render
from fastapi_arch_lint.model.paths import is_test_path


def request_reachable(app: AppModel) -> frozenset[str]:
    """The qualnames of the project functions a request runs (handlers, dependencies, middleware and
    what they call), computed once per model."""
    return memo(app, _request_reachable)


def is_request_reachable(app: AppModel, fn: Function) -> bool:
    return fn.qualname in memo(app, _request_reachable)


def _class_methods(app: AppModel, cls: str, names: tuple[str, ...]) -> list[str]:
    return [f"{cls}.{n}" for n in names if f"{cls}.{n}" in app.functions]


def _entry_points(app: AppModel) -> list[str]:
    out: list[str] = []
    for route in unique_routes(app):
        out.append(route.handler.qualname)
        for d in route.dependencies:
            if d.name in app.functions:
                out.append(d.name)
            elif d.name in app.classes:  # ``Depends(Pagination)``: FastAPI calls the class
                out += _class_methods(app, d.name, ("__init__", "__call__"))
            elif d.kind == "instance" and app.values is not None and "." in d.name:
                module, name = d.name.rsplit(".", 1)
                cls = app.values.instance_of(Name(name), module)  # ``Depends(checker)``: its ``__call__``
                if cls:
                    out += _class_methods(app, cls, ("__call__",))
    for a in app.apps:
        for mw in a.middleware:
            if mw.name in app.functions:
                out.append(mw.name)
            elif mw.name in app.classes:
                out += _class_methods(app, mw.name, ("dispatch", "__call__"))
    return out


def _request_reachable(app: AppModel) -> frozenset[str]:
    seen: set[str] = set()
    queue = _entry_points(app)
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        fn = app.functions.get(name)
        if fn is None:
            continue
        seen.add(name)
        for _site, target in fn.calls:
            if not target or target in seen:
                continue
            if target in app.functions:
                queue.append(target)
            elif target in app.classes:  # ``Service(db)``: its ``__init__`` runs
                queue += _class_methods(app, target, ("__init__",))
    return frozenset(seen)


def _callers(app: AppModel) -> dict[str, tuple[str, ...]]:
    """The reverse of the resolved call graph: for each project function, the functions calling it
    (a call of a class counts as a call of its ``__init__``)."""
    out: dict[str, list[str]] = {}
    for name, fn in app.functions.items():
        for _site, target in fn.calls:
            if not target:
                continue
            if target in app.functions:
                out.setdefault(target, []).append(name)
            elif target in app.classes:
                for init in _class_methods(app, target, ("__init__",)):
                    out.setdefault(init, []).append(name)
    return {k: tuple(dict.fromkeys(v)) for k, v in out.items()}


# words of a module path, class or function name, or decorator that mark code run outside requests
JOB_WORDS = frozenset({"worker", "workers", "task", "tasks", "job", "jobs", "consumer", "consumers", "consume",
                       "scheduler", "scheduled", "schedule", "cron", "celery", "cli", "command", "commands",
                       "scripts", "listener", "subscriber", "periodic", "actor", "dramatiq", "arq", "rq"})
# the first word of a function that reads the jobs its name mentions rather than being one
READ_VERBS = frozenset({"get", "list", "fetch", "count", "find", "read", "search", "query", "load", "retrieve",
                        "describe", "show"})
# calls that hand a function to something that runs it later, outside the request
SCHEDULING_CALLS = frozenset({"add_task", "enqueue", "enqueue_call", "delay", "apply_async", "send_task",
                              "add_job", "create_task", "run_in_executor", "submit", "schedule"})


def _words(text: str) -> set[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return {w for w in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if w}


def _scheduled_names(app: AppModel) -> frozenset[str]:
    """The short names of functions handed to a scheduler: ``background_tasks.add_task(scraper.run, ...)``,
    ``queue.enqueue(send_mail, ...)``."""
    out: set[str] = set()
    for fn in app.functions.values():
        for site, _target in fn.calls:
            func = site.call.func
            if isinstance(func, Attr) and func.attr in SCHEDULING_CALLS and site.call.args:
                first = site.call.args[0]
                if isinstance(first, Attr):
                    out.add(first.attr)
                elif isinstance(first, Name):
                    out.add(first.id)
    return frozenset(out)


def _job_evidence(app: AppModel, fn: Function) -> str | None:
    """Why ``fn`` runs outside a request, from the code itself; None without evidence."""
    if fn.fact.name in memo(app, _scheduled_names):
        return "handed to a background task or queue"
    for d in fn.fact.decorators:
        if _words(render(d.expr, 80)) & JOB_WORDS:
            return f"decorated `@{render(d.expr, 40)}`"
    parts = fn.qualname.split(".")
    if _words(" ".join(parts[:-1])) & JOB_WORDS:
        return "a job, a consumer or a command, by its module or name"
    own = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", parts[-1]).lower().split("_")
    if set(own) & JOB_WORDS and own[0] not in READ_VERBS:
        # ``get_connection_jobs``, ``list_tasks``: a read of the jobs (which a route may well serve), not one
        return "a job, a consumer or a command, by its module or name"
    return None


def caller_outside_requests(app: AppModel, fn: Function, depth: int = 6,
                            raises: frozenset[int] | None = None) -> tuple[str, str] | None:
    """A project function that calls ``fn`` (directly or through others, up to ``depth`` calls), that no
    request is shown to run, and that the code shows to run outside requests (a background task, a queue
    consumer, a scheduled job, a CLI command), with why. A caller that is merely not shown reachable (a
    call the linker did not resolve) does not count; test code does not either. None when none is found.

    ``raises`` (indexes into ``fn``'s raises) are what the walk is about: a call whose arguments rule
    them all out (``install(..., validate=False)`` over ``if validate: raise ...``) is no way to them,
    and likewise one that rules out every call leading on up the path (``Function.ruled_out``)."""
    callers = memo(app, _callers)
    reachable = memo(app, _request_reachable)
    seen = {fn.qualname}
    # each function on the frontier, with what the walk needs it to run: its raises or calls (indexes)
    frontier: list[tuple[str, frozenset[int] | None, bool]] = [(fn.qualname, raises, True)]
    for _ in range(depth):
        nxt: list[tuple[str, frozenset[int] | None, bool]] = []
        for name, needed, are_raises in frontier:
            for caller in callers.get(name, ()):
                if caller in seen:
                    continue
                cf = app.functions.get(caller)
                if cf is None or is_test_path(cf.path):
                    continue
                ways = _ways(cf, name, needed, are_raises)
                if not ways:
                    continue  # every call it makes rules out what the walk is after
                seen.add(caller)
                if caller not in reachable:
                    why = _job_evidence(app, cf)
                    if why:
                        return caller, why
                nxt.append((caller, ways, False))
        frontier = nxt
    return None


def _ways(caller: Function, callee: str, needed: frozenset[int] | None, are_raises: bool) -> frozenset[int]:
    """The calls of ``caller`` into ``callee`` (indexes) that leave some of ``needed`` (the callee's raises or
    calls, all when None) able to run. A call of a class (its ``__init__``) is taken as it is."""
    out: set[int] = set()
    for i, (_site, target) in enumerate(caller.calls):
        if target != callee and not (target and callee.startswith(target + ".")):
            continue
        off_calls, off_raises = caller.rules_out(i) if target == callee else (frozenset(), frozenset())
        off = off_raises if are_raises else off_calls
        if needed is None or not needed <= off:
            out.add(i)
    return frozenset(out)


def only_offline_callers(app: AppModel, fn: Function, offline: Callable[[Function], bool],
                         depth: int = 6, dead_ends: frozenset[str] = frozenset()) -> str | None:
    """A project function that ``offline`` holds for (a CLI command, a script) calling ``fn``, when ``fn`` is
    a helper only such code calls: no request is shown to run it, it has callers, and every chain of callers
    up from it (up to ``depth`` calls, test code aside) reaches offline code before it runs out. A chain that
    ends in a function nothing calls that is not offline (a startup hook, a handler the linker missed), or
    that runs past ``depth``, is no evidence: None; unless it is one of ``dead_ends`` (functions already
    judged, which ``offline_helper`` passes)."""
    if fn.qualname in memo(app, _request_reachable):
        return None
    callers = memo(app, _callers)
    found: str | None = None
    seen = {fn.qualname}
    frontier = [fn.qualname]
    for _ in range(depth + 1):
        nxt: list[str] = []
        for name in frontier:
            mine = [c for c in callers.get(name, ()) if (cf := app.functions.get(c)) is not None
                    and not is_test_path(cf.path)]
            if not mine:
                if name in dead_ends and name != fn.qualname:
                    continue
                return None  # an entry point that is not offline code (or ``fn`` itself, called by no one)
            for caller in mine:
                if caller in seen:
                    continue
                seen.add(caller)
                if offline(app.functions[caller]):
                    found = found or caller
                else:
                    nxt.append(caller)
        if not nxt:
            return found
        frontier = nxt
    return None


def _module_functions(app: AppModel) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for name, fn in app.functions.items():
        out.setdefault(fn.module, []).append(name)
    return {k: tuple(v) for k, v in out.items()}


def offline_helper(app: AppModel, fn: Function, offline: Callable[[Function], bool]) -> str | None:
    """``only_offline_callers``; and for a function nothing in the project calls, its module read as a whole:
    a client module of a command-line tool (``api.get``, ``api.ping`` and their siblings) where no function is
    shown to run in a request and every function that has callers is only called by offline code. The
    offline caller found, or None."""
    found = only_offline_callers(app, fn, offline)
    if found is not None:
        return found
    callers = memo(app, _callers)
    if any(not is_test_path(app.functions[c].path) for c in callers.get(fn.qualname, ()) if c in app.functions):
        return None  # called, and not only from offline code
    reachable = memo(app, _request_reachable)
    siblings = memo(app, _module_functions).get(fn.module, ())
    if any(s in reachable for s in siblings):
        return None
    uncalled = frozenset(s for s in siblings if not callers.get(s))
    for s in siblings:
        if s in uncalled:
            continue
        other = only_offline_callers(app, app.functions[s], offline, dead_ends=uncalled)
        if other is None:
            return None
        found = found or other
    return found
