"""FAL803 database-query-in-middleware."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import Attr, Compare, Const, Expr, Name, Not, Opaque, render, walk
from fastapi_arch_lint.model.facts import CallSite
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import middleware_entry_points, session_kind, split_target

# session methods that make a round trip to the database. Not ``commit``/``rollback``/``close``: a
# middleware that opens the request's session and ends its transaction after the handler ran
# (session per request) adds no query of its own
SESSION_QUERIES = frozenset({
    "execute", "exec", "query", "scalar", "scalars", "get", "get_one", "stream", "stream_scalars",
})
ENGINE_CLASSES = frozenset({
    "sqlalchemy.Engine", "sqlalchemy.engine.Engine", "sqlalchemy.engine.base.Engine",
    "sqlalchemy.ext.asyncio.AsyncEngine", "sqlalchemy.ext.asyncio.engine.AsyncEngine",
    "sqlalchemy.create_engine()", "sqlalchemy.engine.create_engine()",
    "sqlalchemy.ext.asyncio.create_async_engine()",
})
ENGINE_METHODS = frozenset({"connect", "begin", "raw_connection"})
METADATA_METHODS = frozenset({"create_all", "drop_all", "reflect"})
INSPECTORS = frozenset({"sqlalchemy.inspect", "sqlalchemy.inspection.inspect"})
# what an engine or connection is called when its type is unknown
ENGINE_NAME = re.compile(r"(?i)(?:^|[._])(?:engine|async_engine|db_engine|bind)$")
# a repository object (``self.users_repo.get``, ``UserRepository(session).find``)
REPOSITORY_CLASS = re.compile(r"(?:Repository|Repo|DAO|Dao|Crud|CRUD)$")
# words of a middleware, or of a function on the way to the query, that make the lookup the
# request's authentication (the caller's session, token or API key): a middleware that
# authenticates must read its credentials somewhere, and reading them is its job
AUTH_WORDS = frozenset({
    "auth", "authenticate", "authentication", "authn", "principal", "identity", "subject", "credential",
    "credentials", "token", "apikey", "api_key", "login", "current_user", "user_session", "jwt",
})


def _words(name: str) -> set[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.rsplit(".", 1)[-1])
    parts = [w for w in spaced.lower().split("_") if w]
    return set(parts) | {"_".join(parts[i:i + 2]) for i in range(len(parts) - 1)}


def _is_auth(name: str) -> bool:
    return bool(_words(name) & AUTH_WORDS)


def round_trip(app: AppModel, site: CallSite, target: str | None) -> str | None:
    """What database round trip or schema inspection a call makes, or None."""
    call = site.call
    func = call.func
    method = func.attr if isinstance(func, Attr) else func.id if isinstance(func, Name) else ""
    if target in INSPECTORS and call.args:
        arg = render(call.args[0], 30)
        if ENGINE_NAME.search(arg) or "connection" in arg.lower() or "conn" == arg.lower():
            return f"`inspect({arg})` (schema inspection)"
        return None
    if method in METADATA_METHODS and isinstance(func, Attr) and "metadata" in render(func.value, 60).lower():
        return f"`{render(func, 40)}()` (schema inspection or DDL)"
    # ``conn.run_sync(Base.metadata.create_all)``
    for a in call.args:
        if isinstance(a, Attr) and a.attr in METADATA_METHODS and "metadata" in render(a.value, 60).lower():
            return f"`{render(a, 40)}` (schema inspection or DDL)"
    if not target:
        return None
    receiver, tmethod, _ = split_target(target)
    if tmethod in SESSION_QUERIES and session_kind(app, receiver) is not None:
        return f"`{render(func, 40)}()`"
    if tmethod in ENGINE_METHODS and (receiver in ENGINE_CLASSES or (
            isinstance(func, Attr) and ENGINE_NAME.search(render(func.value, 40)))):
        return f"`{render(func, 40)}()` (a connection from the pool)"
    callee = app.functions.get(target)
    if callee is not None and callee.class_name and REPOSITORY_CLASS.search(callee.class_name.rsplit(".", 1)[-1]):
        return f"`{render(func, 40)}()` (a repository call)"
    return None


# reads of a cache (``await redis.get(key)``, ``cache.aget(key)``): with a ``return`` of the cached answer
# before the query, the query runs only on a miss
CACHE_READS = frozenset({"get", "aget", "hget", "ahget", "hgetall", "mget", "get_many"})
CACHE_NAME = re.compile(r"(?i)redis|cache|memcache")


def _call_line(fn: Function, target: str) -> int | None:
    """The first line where ``fn`` calls ``target``."""
    return min((s.pos.line for s, t in fn.calls if t == target), default=None)


def _early_returns(fn: Function, line: int) -> list[str]:
    """The conditions under which ``fn`` returns before ``line`` (``if not token: return await call_next(
    request)``): requests that meet one never reach the call at ``line``. Returns in a loop or an ``except``
    are left out (they may not run)."""
    out: list[str] = []
    derived = _from_request(fn)
    for r in fn.fact.scope.returns:
        if r.pos.line >= line or not r.conds or any(isinstance(t, Opaque) for _, t in r.conds):
            continue
        negated, test = r.conds[-1]
        if _unless(test, not negated) and any(isinstance(x, Name) and x.id in derived for x in walk(test)):
            out.append(f"not ({render(test, 50)})" if negated else render(test, 50))
    return out


def _from_request(fn: Function) -> set[str]:
    """The middleware's request parameter and the locals computed from it (``is_admin_path =
    matches(request.url.path)``, ``token = extract(request)``, ``subject = decode(token)``): a test of these
    sorts requests; a test of a setting (``if not settings.ENABLED:``) does not."""
    names = {p.name for p in fn.fact.params if p.name in ("request", "req", "scope", "conn")}
    for a in sorted(fn.fact.scope.assigns, key=lambda a: a.pos.line):
        if a.target and "." not in a.target and any(isinstance(x, Name) and x.id in names for x in walk(a.value)):
            names.add(a.target)
    return names


def _unless(test: Expr, holds: bool) -> bool:
    """A return taken when something is missing (``if not token:``, ``if user is None:``, ``if path not in
    SCOPED:``): only requests that have it go on. A return taken when something is there (``if path ==
    "/health":``) lets every other request through, and does not count."""
    while isinstance(test, Not):
        test, holds = test.operand, not holds
    if not holds:
        return True
    return isinstance(test, Compare) and (test.op == "not in" or (
        test.op in ("is", "==") and isinstance(test.right, Const) and test.right.value is None))


def _cache_first(fn: Function, line: int) -> str | None:
    """``fn`` reads a cache and may return what it found before ``line``: the cache read, else None."""
    for site, _t in fn.calls:
        func = site.call.func
        if site.pos.line >= line or not (isinstance(func, Attr) and func.attr in CACHE_READS
                                         and CACHE_NAME.search(render(func.value, 40))):
            continue
        if any(site.pos.line < r.pos.line < line and r.conds for r in fn.fact.scope.returns):
            return f"`{render(func, 40)}()`"
    return None


def _reached_by(app: AppModel, trail: tuple[str, ...], line: int) -> tuple[list[str], str | None]:
    """Along the calls from the middleware's entry to the query at ``line`` (in the trail's last function):
    the conditions of the entry's early returns above the call that leads there, and a cache read that
    answers first on the way."""
    guards: list[str] = []
    cache = None
    for i, q in enumerate(trail):
        fn = app.functions.get(q)
        if fn is None:
            continue
        at = line if i == len(trail) - 1 else _call_line(fn, trail[i + 1])
        if at is None:
            continue
        if i == 0:
            guards = _early_returns(fn, at)
        cache = cache or _cache_first(fn, at)
    return guards, cache


@register
class DatabaseQueryInMiddleware(Rule):
    code = "FAL803"
    name = "database-query-in-middleware"
    summary = "An HTTP middleware queries or inspects the database: a round trip on every request"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    other_severities = {Severity.INFO: "with low confidence, when the middleware returns early (a path prefix, "
                                       "a missing token) before the call that leads to the query, or reads a cache "
                                       "that answers first: not every request reaches the query"}
    default_options = {"depth": 3}

    def check(self, app: AppModel) -> Iterator[Finding]:
        depth = int(self.options["depth"])
        seen: set[str] = set()
        for a in app.apps:
            for mw in a.middleware:
                if mw.name in seen or _is_auth(mw.name):
                    continue
                seen.add(mw.name)
                hits: list[tuple[str, CallSite, str, tuple[str, ...]]] = []
                for entry in middleware_entry_points(app, mw):
                    for fn, site, target, trail in app.callees(entry, depth=depth):
                        if any(_is_auth(q) for q in trail[1:]):
                            continue  # the middleware authenticates through this call
                        what = round_trip(app, site, target)
                        if what is not None:
                            hits.append((fn.path, site, what, trail))
                if not hits:
                    continue
                path, site, what, trail = hits[0]
                chain = " -> ".join(q.rsplit(".", 1)[-1] for q in trail)
                via = f" (call chain `{chain}`)" if len(trail) > 1 else ""
                more = len(hits) - 1
                extra = f", and {more} more" if more else ""
                related = [Related(mw.loc.path, mw.loc.line, f"middleware `{mw.name.rsplit('.', 1)[-1]}` registered here")]
                related += [Related(p, s.pos.line, w) for p, s, w, _ in hits[1:6]]
                # every hit is reached only past early returns, or after a cache read that answers first
                reach = [_reached_by(app, t, s.pos.line) for _p, s, _w, t in hits]
                severity = confidence = None
                when = "on every request"
                if all(g or c for g, c in reach):
                    guards, cache = reach[0]
                    parts = []
                    if guards:
                        shown = ", ".join(f"`{g}`" for g in guards[:3]) + (" and more" if len(guards) > 3 else "")
                        parts.append(f"only for requests that pass its early returns (it returns first when {shown})")
                    if cache:
                        parts.append(f"only when the cache read {cache} before it misses")
                    when = " and ".join(parts)
                    severity, confidence = Severity.INFO, Confidence.LOW
                yield self.finding(
                    path, site.pos.line, site.pos.col,
                    f"middleware `{mw.name.rsplit('.', 1)[-1]}` makes {what} {when}{via}{extra}",
                    severity=severity, confidence=confidence,
                    help="middleware runs for every request, static files, health checks and 404s included: "
                         "cache the answer (schema names, tenants, settings) at startup or with a TTL, or move "
                         "the lookup into a dependency of the routes that need it",
                    end_line=site.pos.end_line, end_col=site.pos.end_col,
                    related=tuple(related),
                    entity=f"{mw.name}:{site.pos.line}",
                )
