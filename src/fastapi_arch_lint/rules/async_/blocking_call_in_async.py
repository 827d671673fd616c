"""FAL601 blocking-call-in-async."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import Attr, BoolOp, Call, Const, Expr, Name, Not, render
from fastapi_arch_lint.model.facts import CallSite, Pos
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, session_kind, split_target, unique_routes

# -- what the linker resolves calls to ------------------------------------------------
# A call's target is a dotted name: ``requests.get`` for a function, ``httpx.Client().get``
# for a method of an instance built in the function (``client = httpx.Client()``), and
# ``sqlalchemy.orm.Session.execute`` for a method of a parameter annotated ``Session``.
# ``rules._util`` splits them (``split_target``) and knows the ORM session classes (``session_kind``).

# Session methods that talk to the database
SESSION_IO_METHODS = frozenset({
    "execute", "exec", "query", "scalar", "scalars", "get", "get_one", "commit", "flush", "refresh", "merge",
    "rollback", "connection",
})

HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
REQUESTS_SESSIONS = frozenset({"requests.Session", "requests.sessions.Session", "requests.session()"})
HTTPX_CLIENTS = frozenset({"httpx.Client"})
PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})
PATH_IO_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes", "open"})
SMTP_CLASSES = frozenset({"smtplib.SMTP", "smtplib.SMTP_SSL"})

BLOCKING_FUNCTIONS: dict[str, str] = {
    **{f"requests.{v}": "HTTP request with `requests`" for v in HTTP_VERBS},
    **{f"requests.api.{v}": "HTTP request with `requests`" for v in HTTP_VERBS},
    **{f"httpx.{v}": "synchronous `httpx` request" for v in HTTP_VERBS | {"stream"}},
    "urllib.request.urlopen": "HTTP request with `urllib`",
    "urllib.request.urlretrieve": "HTTP request with `urllib`",
    "time.sleep": "`time.sleep`",
    "builtins.open": "file I/O",
    "io.open": "file I/O",
    **{f"subprocess.{f}": "subprocess" for f in ("run", "call", "check_call", "check_output", "Popen",
                                                  "getoutput", "getstatusoutput")},
    "os.system": "subprocess",
    "os.popen": "subprocess",
    **{c: "SMTP connection" for c in SMTP_CLASSES},
}

MAX_RELATED = 12
# async functions whose only blocking call is the same call in a shared helper: reported once, at that call
SHARED_SINK_MINIMUM = 3

OFFLOAD_FUNCTIONS = frozenset({
    "fastapi.concurrency.run_in_threadpool", "starlette.concurrency.run_in_threadpool", "asyncio.to_thread",
    "anyio.to_thread.run_sync", "asgiref.sync.sync_to_async",
})


def blocking_kind(app: AppModel, target: str | None) -> str | None:
    """What kind of blocking I/O a resolved call target does, or None."""
    if not target:
        return None
    if target in BLOCKING_FUNCTIONS:
        return BLOCKING_FUNCTIONS[target]
    receiver, method, _ = split_target(target)
    if receiver in REQUESTS_SESSIONS and method in HTTP_VERBS | {"send"}:
        return "HTTP request with `requests`"
    if receiver in HTTPX_CLIENTS and method in HTTP_VERBS | {"send", "stream"}:
        return "synchronous `httpx.Client` request"
    if receiver in PATH_CLASSES and method in PATH_IO_METHODS:
        return "file I/O"
    if receiver in SMTP_CLASSES:
        return "SMTP connection"
    if method in SESSION_IO_METHODS and session_kind(app, receiver) == "sync":
        return "synchronous SQLAlchemy `Session` I/O"
    return None


# responses that iterate a sync iterator in the threadpool (``iterate_in_threadpool``), not on the loop
THREADPOOL_ITERATING = frozenset({"StreamingResponse"})


def iterated_in_threadpool(site: CallSite, target: str | None) -> bool:
    """``StreamingResponse(...)``: a sync generator handed to it runs in Starlette's threadpool."""
    func = site.call.func
    name = func.attr if isinstance(func, Attr) else func.id if isinstance(func, Name) else ""
    return name in THREADPOOL_ITERATING or (target or "").rsplit(".", 1)[-1] in THREADPOOL_ITERATING


def is_offload(site: CallSite, target: str | None) -> bool:
    if target in OFFLOAD_FUNCTIONS:
        return True
    func = site.call.func
    return isinstance(func, Attr) and func.attr == "run_in_executor"


def _inside(inner: Pos, outer: Pos) -> bool:
    return (inner.line, inner.col) >= (outer.line, outer.col) and (inner.end_line, inner.end_col) <= (
        outer.end_line, outer.end_col) and inner != outer


@dataclass(frozen=True, slots=True)
class Hop:
    fn: Function
    site: CallSite
    target: str | None


def short_name(fn: Function, home_module: str) -> str:
    """``items.get_item`` for ``app.services.items.get_item`` seen from another module."""
    own = fn.fact.qualname
    if fn.module == home_module:
        return own
    return f"{fn.module.rsplit('.', 1)[-1]}.{own}"


def project_callee(app: AppModel, target: str | None) -> Function | None:
    """The project function a call runs: the function itself, or a class's ``__init__``."""
    if not target:
        return None
    fn = app.functions.get(target)
    if fn is None and target in app.classes:
        fn = app.functions.get(f"{target}.__init__")
    return fn


CACHED_DECORATORS = ("lru_cache", "cache", "cached", "cached_property")


def is_cached(fn: Function) -> bool:
    """``@lru_cache``/``@cache``: the body runs once (the first request or at startup), not per request."""
    for d in fn.fact.decorators:
        text = render(d.expr.func if isinstance(d.expr, Call) else d.expr)
        if text.rsplit(".", 1)[-1] in CACHED_DECORATORS:
            return True
    return False


def constant_args(site: CallSite, callee: Function) -> dict[str, object]:
    """The callee's parameters bound to a constant ``True``/``False``/``None`` by the call (or by
    the default it leaves)."""
    params = [p.name for p in callee.fact.params if p.kind in ("positional", "keyword")]
    if callee.fact.is_method and params and params[0] in ("self", "cls"):
        params = params[1:]
    flags = (True, False, None)
    out: dict[str, object] = {}
    call = site.call
    for i, a in enumerate(call.args):
        if i < len(params) and isinstance(a, Const) and a.value in flags:
            out[params[i]] = a.value
    passed = {k for k, _ in call.kwargs}
    for k, a in call.kwargs:
        if isinstance(a, Const) and a.value in flags:
            out[k] = a.value
    if site.spread:
        return out
    for p in callee.fact.params:
        if p.name in out or p.name in passed or p.name not in params or params.index(p.name) < len(call.args):
            continue
        if isinstance(p.default, Const) and p.default.value in flags:
            out[p.name] = p.default.value
    return out


def known_truth(test: Expr | None, known: dict[str, object]) -> bool | None:
    """Whether ``test`` holds when the parameters in ``known`` have those values, when that alone decides
    it: ``if flag:``, ``if not flag:``, and an ``and`` with an operand known false (``if trace and flag:``
    with ``flag=False``: falsy whatever the other operands are) or an ``or`` with one known true. None when
    anything else is needed to tell."""
    if isinstance(test, Const):
        return bool(test.value)
    if isinstance(test, Name):
        return bool(known[test.id]) if test.id in known else None
    if isinstance(test, Not):
        inner = known_truth(test.operand, known)
        return None if inner is None else not inner
    if isinstance(test, BoolOp) and test.op in ("and", "or"):
        decides = test.op == "or"  # the value of one operand that decides the whole test
        truths = [known_truth(v, known) for v in test.values]
        if decides in truths:
            return decides
        if all(t is not None for t in truths):
            return not decides
    return None


def dead_calls(fn: Function, known: dict[str, object]) -> set[int]:
    """Indexes of ``fn``'s calls in a branch that cannot run with the ``known`` parameter values:
    ``if persist:`` when the caller passed ``persist=False`` (or ``if trace and persist:``)."""
    dead: set[int] = set()
    # a parameter the body assigns again may no longer hold what the call passed
    reassigned = {a.target for a in fn.fact.scope.assigns}
    known = {k: v for k, v in known.items() if k not in reassigned}
    if not known:
        return dead
    for g in fn.fact.guards:
        truth: bool | None = None
        if g.test is not None:
            truth = known_truth(g.test, known)
        elif len(g.tests) == 1:
            negated, atom = g.tests[0]
            if isinstance(atom, Name) and atom.id in known:
                truth = bool(known[atom.id]) != negated
        if truth is None:
            continue
        dead.update(g.orelse_calls if truth else g.body_calls)
    return dead


def blocking_chains(app: AppModel, start: str, depth: int) -> list[tuple[tuple[Hop, ...], str]]:
    """Blocking calls made by ``start`` or by the project functions it calls (``depth`` levels).

    Calls inside ``run_in_threadpool(...)``/``asyncio.to_thread(...)`` and awaited calls are
    not blocking, nor is a sync generator called inside ``StreamingResponse(...)`` (the call runs
    nothing, and Starlette iterates it in its threadpool); a sync function that is awaited is wrapped by something (``sync_to_async``)
    and is not followed; nor is a cached function (``@lru_cache``: it runs once), nor a branch
    that a constant argument rules out (``save(data, persist=False)`` into ``if persist:``).
    """
    out: list[tuple[tuple[Hop, ...], str]] = []
    found: set[tuple[str, Pos]] = set()  # a blocking call reached along two paths is listed once
    seen: set[tuple[str, frozenset[tuple[str, object]], frozenset[int]]] = set()
    # each function to walk, with the path to it, the constant arguments its call passes, and the calls of its
    # body that the linker found the call's arguments rule out (``Function.rules_out``: a test it can fold)
    queue: list[tuple[str, tuple[Hop, ...], dict[str, object], frozenset[int]]] = [(start, (), {}, frozenset())]
    while queue:
        name, hops, known, off = queue.pop(0)
        key = (name, frozenset(known.items()), off)
        if key in seen:
            continue
        seen.add(key)
        fn = app.functions.get(name)
        if fn is None:
            continue
        offload = [site.pos for site, target in fn.calls if is_offload(site, target)]
        streamed = [site.pos for site, target in fn.calls if iterated_in_threadpool(site, target)]
        dead = dead_calls(fn, known) | off
        for index, (site, target) in enumerate(fn.calls):
            if index in dead or any(_inside(site.pos, span) for span in offload):
                continue
            callee = project_callee(app, target)
            if callee is not None:
                if site.awaited and not callee.fact.is_async:
                    continue
                if callee.fact.is_generator and not callee.fact.is_async and \
                        any(_inside(site.pos, span) for span in streamed):
                    continue  # calling it runs nothing; the response iterates it in the threadpool
                if is_cached(callee):
                    continue
                if len(hops) < depth and callee.qualname != start:
                    ruled = fn.rules_out(index)[0] if target == callee.qualname else frozenset()
                    queue.append((callee.qualname, hops + (Hop(fn, site, target),), constant_args(site, callee),
                                  ruled))
                continue
            if site.awaited:
                continue
            kind = blocking_kind(app, target)
            if kind is not None and (fn.qualname, site.pos) not in found:
                found.add((fn.qualname, site.pos))
                out.append((hops + (Hop(fn, site, target),), kind))
    return out


def chain_text(hops: tuple[Hop, ...], home: str) -> str:
    """``read_item -> items.get_item -> db.get``: project functions, then the call as written."""
    parts = [short_name(hop.fn, home) for hop in hops]
    parts.append(render(hops[-1].site.call.func, 60))
    return " -> ".join(parts)


FIXES = {
    "requests": "use `httpx.AsyncClient` and `await` the request",
    "httpx": "use `httpx.AsyncClient` and `await` the request",
    "urllib": "use `httpx.AsyncClient` and `await` the request",
    "time.sleep": "use `await asyncio.sleep(...)`",
    "file": "use `anyio.Path`/`aiofiles`",
    "subprocess": "use `asyncio.create_subprocess_exec`",
    "Session": "use `AsyncSession` and `await` its calls",
    "SMTP": "use `aiosmtplib`",
}


def help_text(kind: str, role: str) -> str:
    fix = next((text for key, text in FIXES.items() if key in kind), "use an async API and `await` it")
    out = f"{fix}, or offload the work with `await run_in_threadpool(fn, ...)` / `await asyncio.to_thread(fn, ...)`"
    if role != "middleware":
        out += f", or declare the {role.split()[-1]} with plain `def` so FastAPI runs it in the threadpool"
    return out


@register
class BlockingCallInAsync(Rule):
    code = "FAL601"
    name = "blocking-call-in-async"
    summary = "An `async def` handler or dependency makes a blocking call (directly or through project functions)"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "when every blocking call is file I/O in a project function it calls (a "
                                       "small local file, a cache, a branch that seldom runs)"}
    confidence = Confidence.HIGH
    default_options = {"depth": 3}

    def contexts(self, app: AppModel) -> Iterator[tuple[str, str, str]]:
        """(qualname, role, entity) of every async function that runs on the event loop per request."""
        seen: set[str] = set()
        for route in unique_routes(app):
            h = route.handler
            if h.is_async and h.qualname not in seen:
                seen.add(h.qualname)
                yield h.qualname, "route handler", route_entity(route)
        for route in unique_routes(app):
            for dep in route.dependencies:
                fn = app.functions.get(dep.name)
                if fn is None or not fn.fact.is_async or dep.name in seen:
                    continue
                seen.add(dep.name)
                yield dep.name, "dependency", f"dependency {dep.name}"
        for a in app.apps:
            for mw in a.middleware:
                fn = app.functions.get(mw.name)
                if mw.kind != "function" or fn is None or not fn.fact.is_async or mw.name in seen:
                    continue
                seen.add(mw.name)
                yield mw.name, "middleware", f"middleware {mw.name}"

    def check(self, app: AppModel) -> Iterator[Finding]:
        depth = int(self.options["depth"])
        found: list[tuple[Function, str, str, list[tuple[tuple[Hop, ...], str]]]] = []
        for qualname, role, entity in self.contexts(app):
            fn = app.functions.get(qualname)
            if fn is None:
                continue
            chains = blocking_chains(app, qualname, depth)
            if chains:
                found.append((fn, role, entity, chains))
        # a blocking call in a shared helper (a logger's sink) that is all that several async functions
        # block on is one thing to fix: reported once, where it is, with the async functions as related places
        by_sink: dict[tuple[str, Pos], list[int]] = {}
        for n, (fn, _role, _entity, chains) in enumerate(found):
            sinks = {(h[-1].fn.qualname, h[-1].site.pos) for h, _ in chains}
            if len(sinks) == 1 and all(len(h) > 1 for h, _ in chains):
                by_sink.setdefault(next(iter(sinks)), []).append(n)
        shared = {n for at in by_sink.values() if len(at) >= SHARED_SINK_MINIMUM for n in at}
        for at in by_sink.values():
            if len(at) >= SHARED_SINK_MINIMUM:
                yield self._shared_sink([found[n] for n in at])
        for n, (fn, role, entity, chains) in enumerate(found):
            if n in shared:
                continue
            # network and database waits first (they hold the loop longest), then by position in the async
            # function, then by length
            chains.sort(key=lambda c: (c[1] == "file I/O", c[0][0].site.pos.line, c[0][0].site.pos.col, len(c[0])))
            hops, kind = chains[0]
            first = hops[0].site
            home = fn.module
            text = chain_text(hops, home)
            more = ""
            if len(chains) > 1:
                more = f"; {len(chains) - 1} more blocking call{'s' if len(chains) > 2 else ''} listed below"
            related: list[Related] = []
            for i, hop in enumerate(hops[1:], start=1):
                tail = f": {kind}" if i == len(hops) - 1 else ""
                related.append(Related(hop.fn.path, hop.site.pos.line,
                                       f"`{short_name(hop.fn, home)}` calls `{render(hop.site.call.func, 60)}`{tail}"))
            for other, other_kind in chains[1:MAX_RELATED]:
                last = other[-1]
                related.append(Related(last.fn.path, last.site.pos.line,
                                       f"also `{chain_text(other, home)}` ({other_kind})"))
            confidence = Confidence.HIGH if len(hops) == 1 else Confidence.MEDIUM
            # only file reads and writes, all in project functions it calls (a small local file, a cache, a
            # branch that seldom runs): the loop waits on the disk, a note rather than a warning
            minor = all(k == "file I/O" and len(h) > 1 for h, k in chains)
            yield self.finding(
                fn.path, first.pos.line, first.pos.col,
                f"`async def {fn.fact.name}` ({role}) blocks the event loop: `{text}` ({kind}){more}",
                help=help_text(kind, role),
                end_line=first.pos.end_line, end_col=first.pos.end_col,
                related=related, entity=entity, confidence=confidence,
                severity=Severity.INFO if minor else None,
            )

    def _shared_sink(self, group: list[tuple[Function, str, str, list[tuple[tuple[Hop, ...], str]]]]) -> Finding:
        """One finding at a helper's blocking call that is the only one each async function of ``group`` makes."""
        fn0, _role0, _entity0, chains0 = group[0]
        chains0.sort(key=lambda c: (c[0][0].site.pos.line, c[0][0].site.pos.col, len(c[0])))
        last = chains0[0][0][-1]
        kind = chains0[0][1]
        sink = last.fn
        call = render(last.site.call.func, 60)
        related: list[Related] = []
        for fn, role, _entity, chains in group[:MAX_RELATED]:
            chains.sort(key=lambda c: (c[0][0].site.pos.line, c[0][0].site.pos.col, len(c[0])))
            hops = chains[0][0]
            related.append(Related(fn.path, hops[0].site.pos.line,
                                   f"`async def {fn.fact.name}` ({role}) reaches it: `{chain_text(hops, fn.module)}`"))
        roles = {r for _, r, _, _ in group}
        role = roles.pop() if len(roles) == 1 else "async function"
        minor = kind == "file I/O"
        return self.finding(
            sink.path, last.site.pos.line, last.site.pos.col,
            f"`{call}` in `{sink.fact.qualname}` ({kind}) blocks the event loop of {len(group)} async functions "
            f"that reach it through project code and block on nothing else (first `{fn0.fact.name}`)",
            help=help_text(kind, role).replace("offload the work", "offload the call"),
            end_line=last.site.pos.end_line, end_col=last.site.pos.end_col,
            related=related, entity=f"blocking-sink {sink.qualname}", confidence=Confidence.MEDIUM,
            severity=Severity.INFO if minor else None,
        )
