"""FAL401 state-changing-route-without-auth."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import call_target
from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Handler, IncludeStep, Route
from fastapi_arch_lint.analysis.taint import model_of
from fastapi_arch_lint.model.expr import Attr, BoolOp, Call, Compare, Const, DictExpr, Expr, Name, Not, Seq, render, walk
from fastapi_arch_lint.model.facts import CallSite, ModuleFacts
from fastapi_arch_lint.rule import Rule, matches, register
from fastapi_arch_lint.rules.http._common import classify, writes
from fastapi_arch_lint.rules._util import (
    auth_uncertain,
    dispatched_instead,
    pydantic_model,
    raised_http_exceptions,
    STATE_CHANGING,
    include_chain_text,
    is_param,
    memo,
    route_entity,
    route_related,
    segments,
    slash_twins,
    twin_text,
    unique_routes,
)
from fastapi_arch_lint.rules.auth._common import (
    capability_url,
    credential_readers,
    DEFAULT_PUBLIC_HANDLERS,
    DEFAULT_PUBLIC_ROUTES,
    func_name,
    handler_credential_reads,
    handler_name,
    is_public,
    one_time_setup,
    open_by_switch,
    callees_receiving,
    params_receiving,
    short,
    verifies_signature,
)
from fastapi_arch_lint.rules.auth._optional import configured_requirement, optional_handed_on

def _sibling_includes(app: AppModel, route: Route) -> list[IncludeStep]:
    """Includes into the same parent routers as this route's chain that do attach auth."""
    parents = {s.parent for s in route.include_chain} or {a.name for a in app.apps if a.id == route.app}
    mine = {(s.path, s.line) for s in route.include_chain}
    found: dict[tuple[str, int], IncludeStep] = {}
    for step in memo(app, _auth_include_steps).get(route.app, ()):
        if step.parent in parents and (step.path, step.line) not in mine:
            found.setdefault((step.path, step.line), step)
    return sorted(found.values(), key=lambda s: (s.path, s.line))


def _auth_include_steps(app: AppModel) -> dict[str, list[IncludeStep]]:
    """By app id: the include steps with dependencies on the chains of routes that include-level auth
    reaches, in route and chain order, each (place, parent) once: its first step is the one
    ``_sibling_includes`` keeps."""
    out: dict[str, list[IncludeStep]] = {}
    for a in app.apps:
        steps = out.setdefault(a.id, [])
        seen: set[tuple[str, int, str]] = set()
        for other in a.routes:
            if not any(v.level == "include" for v in other.auth.via):
                continue
            for step in other.include_chain:
                key = (step.path, step.line, step.parent)
                if step.dependencies and key not in seen:
                    seen.add(key)
                    steps.append(step)
    return out


WRITE_DEPTH = 4  # project calls below a handler searched for a database write
APP_LISTED = 5  # routes an app's finding names in its message
APP_RELATED = 20  # routes it lists as related locations


def _suppressed(noqa: dict[str, ModuleFacts], f: Finding) -> bool:
    """``f`` is suppressed at its own line (``# noqa: FAL401``) or in its whole file."""
    facts = noqa.get(f.path)
    if facts is None:
        return False
    return any(codes is not None and (not codes or any(matches(c, f.rule) for c in codes))
               for codes in (facts.file_noqa, facts.noqa.get(f.line)))


def _redirect_only(app: AppModel, route: Route) -> bool:
    """The handler does nothing but answer with a redirect (``return RedirectResponse(f"/v2/items/{id}",
    307)``, a moved endpoint's shim): it changes no state itself, and the route it sends the client to is
    judged where it is registered."""
    fn = app.function(route.handler.qualname)
    if fn is None or len(fn.fact.scope.returns) != 1 or fn.fact.raises:
        return False
    value = fn.fact.scope.returns[0].value
    if not isinstance(value, Call) or "RedirectResponse" not in (call_target(fn, value) or render(value.func)):
        return False
    inside = {id(e) for e in walk(value)}
    # the calls outside the response only build its URL (``url = URL(str(request.url))``,
    # ``url.replace(path=url.path + "/")``): none may reach the app's state
    return all(id(site.call) in inside or _inert_call(app, site, target) for site, target in fn.calls) and not any(
        True for _ in writes(app, route.handler.qualname, WRITE_DEPTH))


_ERROR_STATUS_RE = re.compile(r"^[45]\d\d$|(?:^|\.)HTTP_[45]\d\d_\w+$")


def _error_status(status: Expr | None) -> str | None:
    """``410``, ``status.HTTP_410_GONE``: a constant error status (4xx/5xx), as written."""
    if isinstance(status, Const) and isinstance(status.value, int):
        text = str(status.value)
    elif status is not None:
        text = render(status, 60)
    else:
        return None
    return text if _ERROR_STATUS_RE.search(text) else None


def _error_stub(app: AppModel, route: Route) -> bool:
    """The handler's whole body answers one constant error (``return JSONResponse(status_code=410, content=GONE)``,
    ``raise HTTPException(405)``), unconditionally: a retired or unimplemented endpoint's stub, which changes no
    state. Only library calls that log or build the answer may run beside it."""
    fn = app.function(route.handler.qualname)
    if fn is None or fn.fact.is_generator:
        return False
    scope = fn.fact.scope
    exits = [*scope.returns, *scope.raises]
    if len(exits) != 1 or exits[0].conds:
        return False
    if scope.returns:
        value = scope.returns[0].value
        if not isinstance(value, Call) or value.starred:
            return False
        target = call_target(fn, value) or render(value.func)
        if not target.endswith("Response") or "Redirect" in target or _error_status(value.arg(1, "status_code")) is None:
            return False
    else:
        raised = list(raised_http_exceptions(app, fn))
        if len(raised) != 1 or not _ERROR_STATUS_RE.search(raised[0][3]):
            return False
        value = scope.raises[0].expr
    inside = {id(e) for e in walk(value)} if value is not None else set()
    return all(id(site.call) in inside or _inert_call(app, site, target) for site, target in fn.calls) and not any(
        True for _ in writes(app, route.handler.qualname, WRITE_DEPTH))


# library calls that change none of the app's state: logging and telemetry, reading the request, building the
# response or the error, hashing and encoding
_INERT_LIBRARIES = frozenset({
    "logging", "structlog", "loguru", "json", "hmac", "hashlib", "base64", "binascii", "time", "datetime", "uuid",
    "re", "math", "typing", "atexit", "posthog", "sentry_sdk", "prometheus_client", "opentelemetry", "statsd",
})
_INERT_FRAMEWORK = re.compile(r"^(fastapi|starlette)\.(HTTPException|Response|JSONResponse|PlainTextResponse|Request\.\w+"
                              r"|responses\.\w+|requests\.Request\.\w+|exceptions\.HTTPException"
                              r"|(datastructures\.)?(URL|URLPath|QueryParams|Headers)(\.\w+)?)$")
_INERT_BUILTINS = frozenset({"len", "str", "int", "float", "bool", "dict", "list", "tuple", "set", "isinstance", "repr",
                             "sorted", "min", "max", "sum", "any", "all", "print", "format", "getattr", "hasattr"})
# methods of a local string or bytes value (``payload.decode("utf-8")``) the model leaves unresolved
_VALUE_METHODS = frozenset({"decode", "encode", "hexdigest", "digest", "strip", "lower", "upper", "split", "join",
                            "startswith", "endswith", "replace", "format", "get", "items", "keys", "values"})


def _inert_call(app: AppModel, site: CallSite, target: str | None) -> bool:
    """A library call that changes none of the app's state (logging, reading the request, building the response
    or a URL, hashing), or an unresolved string method on a local value."""
    func = site.call.func
    if target is None:
        return isinstance(func, Attr) and isinstance(func.value, Name) and func.attr in _VALUE_METHODS
    if target in app.functions or target in app.classes:
        return False
    root, _, rest = target.partition(".")
    return root in _INERT_LIBRARIES or bool(_INERT_FRAMEWORK.match(target)) or root == "builtins" and (
        rest in _INERT_BUILTINS or rest.partition(".")[0] in ("str", "bytes"))


# a path that names the caller's own session rather than one by id: ``DELETE /session`` signs out
_OWN_SESSION_PATH_RE = re.compile(r"(?:^|/)(?:session|sessions/(?:current|me|mine|self))/?$", re.I)
_SESSION_CLEARING = frozenset({"pop", "clear", "get", "__delitem__"})


def _own_session_logout(app: AppModel, route: Route) -> bool:
    """``DELETE /session`` whose handler only clears the caller's own ``request.session`` (pops or clears
    its keys, deletes the session cookie) and answers: a logout under another name. It can sign out nobody
    but the caller, who needs no authentication for that. A handler that deletes a stored session (a row by
    id, through a store) is judged as any other delete."""
    if route.methods != ("DELETE",) or route.path_params or not _OWN_SESSION_PATH_RE.search(route.path):
        return False
    fn = app.function(route.handler.qualname)
    if fn is None or any(True for _ in writes(app, route.handler.qualname, WRITE_DEPTH)):
        return False
    clears = False
    params = {p.name for p in fn.fact.params}
    for site, target in fn.calls:
        func = site.call.func
        if isinstance(func, Attr) and func.attr in _SESSION_CLEARING and isinstance(func.value, Attr) \
                and func.value.attr == "session" and isinstance(func.value.value, Name) and func.value.value.id in params:
            clears = clears or func.attr != "get"
            continue  # ``request.session.pop("user_id")``: the caller's signed cookie session
        if isinstance(func, Attr) and func.attr == "delete_cookie":
            clears = True
            continue
        if not _inert_call(app, site, target):
            return False
    return clears or any(a.target.endswith(".session") and a.target.split(".")[0] in params and not a.augmented
                         for a in fn.fact.scope.assigns)


def _path_seen_without_writes(app: AppModel, route: Route) -> bool:
    """Every call on the route's path (its handler, its dependencies and the project functions they call,
    ``WRITE_DEPTH`` levels down) is seen, none stores into a container its module or object holds
    (``STORE[key] = value``), and none can change the app's state: project functions (followed), project
    classes built, and library calls that only log, read the request, hash or answer. Then no write is on its
    path even where the project's writes elsewhere are not seen (they go through objects the model cannot
    follow)."""
    starts = [route.handler.qualname, *(d.name for d in route.dependencies if d.kind == "function")]
    for start in dict.fromkeys(starts):
        if start not in app.functions or _stores_shared(app, app.functions[start]):
            return False
        for _fn, site, target, _trail in app.callees(start, depth=WRITE_DEPTH):
            if target in app.functions and _stores_shared(app, app.functions[target]):
                return False  # ``STORE[key] = value``: state kept across requests, in memory
            if target in app.functions or target in app.classes:
                continue
            if not _inert_call(app, site, target):
                return False
    return True


# a task handed to a queue by the task object itself (Celery's ``task.delay(...)``, ``task.apply_async(...)``)
_QUEUE_METHODS = frozenset({"delay", "apply_async"})


def _task_function(app: AppModel, fn: Function, name: str) -> str | None:
    """The project function a task name in ``fn`` is bound to: imported in the function's body or its module
    (``from app.tasks import process_upload``, absolute), or defined in the same module."""
    module = app.module(fn.module)
    imports = [*fn.fact.scope.imports, *(module.facts.imports if module is not None else ())]
    for imp in imports:
        if imp.local == name and imp.level == 0 and imp.name is not None:
            q = f"{imp.module}.{imp.name}"
            if q in app.functions:
                return q
    q = f"{fn.module}.{name}"
    return q if q in app.functions else None


def _queued_write(app: AppModel, route: Route) -> str | None:
    """A task the route's path queues (``process_upload.delay(...)``) whose own code writes to a data store
    (``WRITE_DEPTH`` levels down): the write happens in a worker, out of the request, but the request causes it."""
    for fn, site, _target, _trail in app.callees(route.handler.qualname, depth=WRITE_DEPTH):
        func = site.call.func
        if isinstance(func, Attr) and func.attr in _QUEUE_METHODS and isinstance(func.value, Name):
            task = _task_function(app, fn, func.value.id)
            if task is not None and any(True for _ in writes(app, task, WRITE_DEPTH)):
                return task
    return None


# the last segment of a POST that reads by its name: a search or a query sent as a body (``POST .../search``)
_READ_ACTIONS = frozenset({"search", "query", "lookup", "find", "filter"})


def _read_action(route: Route) -> str | None:
    """The route's last literal path segment when it names a read (``/rag_configs/{id}/search``), else None."""
    literal = [seg for seg in segments(route.path) if not is_param(seg)]
    last = literal[-1].lower() if literal else ""
    return last if last in _READ_ACTIONS else None


def _project_writes(app: AppModel) -> bool:
    """Whether the review sees the project write to a data store from some route (so that a route where
    no write is seen says something)."""
    return any(any(True for _ in writes(app, r.handler.qualname, WRITE_DEPTH)) for r in unique_routes(app)
               if set(r.methods) & STATE_CHANGING)


def _apps_without_auth(app: AppModel) -> frozenset[str]:
    """The apps none of whose routes any authentication reaches or may reach (no unresolved dependency): a
    local tool or a service meant to sit behind something else. Their write routes are each reported; a POST
    that only computes adds nothing to that."""
    names, guarded = set(), set()
    for r in unique_routes(app):
        names.add(r.app)
        if r.auth.via or (auth_uncertain(app, r) and not r.path_unresolved):  # a path not read says nothing of auth
            guarded.add(r.app)
    return frozenset(names - guarded)


# the libraries that keep data beyond the request: a path that uses one may write through it unseen
_STORE_LIBRARIES = frozenset({
    "sqlalchemy", "sqlmodel", "tortoise", "peewee", "playhouse", "django", "pymongo", "motor", "beanie",
    "odmantic", "mongoengine", "databases", "asyncpg", "psycopg", "psycopg2", "aiosqlite", "sqlite3", "redis",
    "aioredis", "prisma", "piccolo", "ormar", "edgedb", "gel", "supabase", "firebase_admin", "google",
    "elasticsearch", "opensearchpy", "aiomysql", "pymysql", "mysql", "neo4j", "cassandra", "aioboto3", "boto3",
    "botocore", "minio", "azure", "shelve", "dbm", "tinydb", "duckdb", "chromadb", "qdrant_client", "pinecone",
    "weaviate", "lancedb", "pymilvus", "clickhouse_driver", "influxdb_client", "sqlite_utils", "pony",
})
# methods that change a container in place (``ITEMS.append(x)``)
_MUTATORS = frozenset({"append", "extend", "insert", "pop", "popitem", "remove", "clear", "update", "setdefault",
                       "add", "discard", "__setitem__", "__delitem__"})


def _uses_store(app: AppModel, fn: Function) -> bool:
    """``fn`` or its module imports a library that keeps data (``import redis``, ``from sqlalchemy import ...``)."""
    module = app.module(fn.module)
    imports = [*fn.fact.scope.imports, *(module.facts.imports if module is not None else ())]
    return any(imp.level == 0 and imp.module.split(".")[0] in _STORE_LIBRARIES for imp in imports)


# an unresolved call named for a change (``registry.register_node(...)``, ``store.save(...)``): its code is not
# seen, its name says it keeps something
_CHANGE_VERB_RE = re.compile(
    r"^_*(?:add|create|insert|register|unregister|deregister|set|put|update|upsert|save|store|persist|delete|"
    r"remove|drop|clear|reset|write|append|push|enqueue|assign|grant|revoke|rename|move|upload|purge|destroy|"
    r"edit|modify|patch|replace|commit)(?:_|$|[A-Z])")
_CONTAINER_TYPES = frozenset({"dict", "list", "set", "defaultdict", "OrderedDict", "deque", "Counter"})


def _module_containers(app: AppModel, name: str) -> frozenset[str]:
    """The names a module binds to a literal dict, list or set (``ITEMS: list = []``): state its functions share
    across requests."""
    module = app.module(name)
    if module is None:
        return frozenset()
    def container(v: Expr | None) -> bool:
        if isinstance(v, Call):
            return render(v.func).rpartition(".")[2] in _CONTAINER_TYPES
        return isinstance(v, DictExpr) or isinstance(v, Seq) and v.kind != "tuple"

    return frozenset(a.target for a in module.facts.scope.assigns if a.target.isidentifier() and container(a.value))


def _stores_shared(app: AppModel, fn: Function) -> bool:
    """``fn`` stores an item into (or deletes one from) a container kept across requests: one its module holds
    (``STORE[key] = value``) or one of its object's (``self.rows[key] = value``)."""
    if not fn.fact.scope.stores:
        return False
    local = {p.name for p in fn.fact.params} | {a.target for a in fn.fact.scope.assigns}
    held = _module_containers(app, fn.module)
    for name in fn.fact.scope.stores:
        root, _, rest = name.partition(".")
        if (root == "self" and rest and fn.class_name is not None) or (not rest and name in held and name not in local):
            return True
    return False


def _subclasses(app: AppModel) -> dict[str, list[str]]:
    """Each project class's project subclasses (all of them, by qualname)."""
    out: dict[str, list[str]] = {}
    for q, bases in app.class_bases.items():
        for b in bases:
            out.setdefault(b, []).append(q)
    return out


def _stub(fn: Function) -> bool:
    """An abstract method or an empty body (``pass``, ``...``): the code that runs is elsewhere."""
    if any(render(d.expr).rpartition(".")[2] == "abstractmethod" for d in fn.fact.decorators):
        return True
    return not fn.calls and not fn.fact.raises and all(r.value is None for r in fn.fact.scope.returns) \
        and not fn.fact.scope.assigns and not fn.fact.scope.stores


def _implementations(app: AppModel, target: str) -> list[str] | None:
    """What a call resolved to ``target`` may run: the method and its overrides in the project's subclasses
    (``API.create_item`` of an abstract class runs ``ServerAPI.create_item``); None when it is a stub that no
    subclass overrides (its code is not in the project)."""
    cls, _, meth = target.rpartition(".")
    found = [target]
    if cls in app.classes:
        found += [f"{k}.{meth}" for k in memo(app, _subclasses).get(cls, ()) if f"{k}.{meth}" in app.functions]
    if len(found) == 1 and _stub(app.functions[target]):
        return None
    return found


def _store_free_path(app: AppModel, route: Route) -> bool:
    """Nothing on the route's path (its handler, its dependencies and the project functions they call,
    ``WRITE_DEPTH`` levels down, a method's overrides in subclasses too) can keep data beyond the request as far
    as the review sees: no function on it (nor its module) uses a library that stores data, no call reaches one
    or writes to a database, none changes a container its module or object holds (``ITEMS.append(x)``,
    ``self.rows[key] = value``), and no call on an object the model cannot resolve is named for a change
    (``registry.register_node(...)``). Other calls on unresolved objects are not followed: the caller's other
    evidence (an app that authenticates nothing, a project with no write seen) must carry it."""
    starts = [route.handler.qualname, *(d.name for d in route.dependencies if d.kind == "function")]
    todo = [(q, 0) for q in dict.fromkeys(starts)]
    seen: set[str] = set()
    while todo:
        q, depth = todo.pop(0)
        if q in seen:
            continue
        seen.add(q)
        caller = app.function(q)
        if caller is None or _uses_store(app, caller) or _stores_shared(app, caller):
            return False
        for site, target in caller.calls:
            if target is not None and target.split(".")[0] in _STORE_LIBRARIES:
                return False
            if classify(site, target, app, caller) is not None or _writes_file(site, target):
                return False  # ``session.commit()``, ``collection.insert_one(...)``, ``open(path, "wb")``
            func = site.call.func
            receiver = func.value.id if isinstance(func, Attr) and isinstance(func.value, Name) else None
            local = receiver is not None and (caller.fact.param(receiver) is not None
                                              or any(a.target == receiver for a in caller.fact.scope.assigns))
            if target is None and _CHANGE_VERB_RE.match(func_name(site.call)) and not (
                    func_name(site.call) in _MUTATORS and (receiver is None or local)):
                return False  # ``controller.register_node(...)`` on an object the model cannot resolve
            if receiver is not None and not local and func_name(site.call) in _MUTATORS \
                    and receiver in _module_containers(app, caller.module):
                return False  # ``ITEMS.append(x)``: the module's shared state, kept across requests
            if target is not None and target in app.functions and depth < WRITE_DEPTH:
                runs = _implementations(app, target)
                if runs is None:
                    return False
                todo.extend((r, depth + 1) for r in runs)
    return True


# calls that change the filesystem: what they write stays after the request
_FILE_WRITERS = frozenset({
    "shutil.copyfileobj", "shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree", "shutil.move",
    "shutil.rmtree", "os.remove", "os.unlink", "os.rename", "os.replace", "os.makedirs", "os.mkdir", "os.rmdir",
    "aiofiles.os.remove", "aiofiles.os.rename", "aiofiles.os.makedirs"})
_PATH_WRITERS = frozenset({"write_text", "write_bytes", "unlink", "mkdir", "rmdir", "touch", "rename", "replace"})


def _writes_file(site: CallSite, target: str | None) -> bool:
    """``open(path, "wb")`` (any mode that writes), ``shutil.copyfileobj(...)``, ``os.remove(...)``,
    ``Path(...).write_bytes(...)``: the route keeps a file beyond the request."""
    call = site.call
    if target in ("builtins.open", "aiofiles.open", "io.open"):
        mode = call.arg(1, "mode")
        return isinstance(mode, Const) and isinstance(mode.value, str) and bool(set(mode.value) & set("wax+"))
    if target in _FILE_WRITERS:
        return True
    return (target is None or target.startswith(("pathlib.", "anyio.Path", "aiopath."))) \
        and isinstance(call.func, Attr) and call.func.attr in _PATH_WRITERS


def _bare_apps(app: AppModel) -> frozenset[str]:
    """The apps that authenticate none of their routes and do not try to either: no route of theirs has a
    dependency (an internal service whose handlers take the request and answer, a model worker). An app whose
    routes depend on a user or a session may mean to authenticate and fail at it: not one of these."""
    with_deps = {r.app for r in unique_routes(app) if r.dependencies}
    return frozenset(a for a in memo(app, _apps_without_auth) if a not in with_deps)


# a body field that carries a one-time code the server sent the caller (an e-mailed verification code)
_CODE_FIELD_RE = re.compile(r"(?i)(?:^|_)(?:code|otp|passcode|pin)$")
# a call that checks such a code
_VERIFY_CALL_RE = re.compile(r"(?i)(?:^|_)(?:verify|check|validate|confirm)")
_REFUSED_RE = re.compile(r"^40[13]$|HTTP_40[13]_")
CODE_DEPTH = 2  # project functions below the handler the code may be handed to


def _refuses_wrong_code(app: AppModel, fn: Function, held: set[str], depth: int, seen: set[str]) -> bool:
    """``fn`` hands the code to a check (``record.verify_identity(db, code)``) inside a ``try`` whose ``except``
    answers 401/403, or a project function it hands the code to does (``depth`` calls down)."""
    if fn.qualname in seen:
        return False
    seen.add(fn.qualname)
    refusing = {(line, col) for line, col, _, status in raised_http_exceptions(app, fn) if _REFUSED_RE.search(status)}
    refused = {i for i, r in enumerate(fn.fact.raises) if (r.pos.line, r.pos.col) in refusing}
    def carries(e: Expr) -> bool:  # ``body.code``, ``code``
        return render(e, 80) in held

    if any(refused.intersection(x.raises) for x in fn.fact.excepts):
        for site, _target in fn.calls:
            call = site.call
            if _VERIFY_CALL_RE.search(func_name(call)) and any(map(carries, (*call.args, *(v for _, v in call.kwargs)))):
                return True
    if depth <= 0:
        return False
    return any(_refuses_wrong_code(app, callee, set(bound), depth - 1, seen)
               for _call, callee, bound in callees_receiving(app, fn, carries))


def _body_fields(app: AppModel, route: Route, name_re: re.Pattern[str]) -> set[str]:
    """The body or form values of ``route`` whose name ``name_re`` finds: a parameter (``code``) or a field of
    its model (``body.code``)."""
    held: set[str] = set()
    for p in route.params:
        if p.source not in ("body", "form"):
            continue
        if name_re.search(p.name):
            held.add(p.name)
        model = pydantic_model(app, model_of(app, p.type_names) or "")
        for f in model.fields if model is not None else ():
            if name_re.search(f.name):
                held.add(f"{p.name}.{f.name}")
    return held


def verification_code(app: AppModel, route: Route) -> bool:
    """The request carries a one-time code (a body field ``code``, ``verification_code``) that the handler, or a
    function it hands the code to, checks and refuses with 401/403 when wrong: the code the server sent to the
    requester authenticates the request (a data subject confirming a consent change)."""
    fn = app.function(route.handler.qualname)
    held = _body_fields(app, route, _CODE_FIELD_RE)
    return fn is not None and bool(held) and _refuses_wrong_code(app, fn, held, CODE_DEPTH, set())


# a body field that carries the caller's current password (not the new one it is changed to)
_PASSWORD_FIELD_RE = re.compile(r"(?i)^(?:(?:old|current|curr|original|existing|previous|prev)_?)?(?:password|passwd|pwd)$")
# an attribute that holds a stored credential (``user.password``, ``user.hashed_password``)
_STORED_SECRET_RE = re.compile(r"(?i)password|passwd|pwd|(?:^|_)hash")
# a call that checks a password against the stored one (``verify_password(plain, user.hashed_password)``)
_PASSWORD_CHECK_RE = re.compile(r"(?i)(?:verify|check|validate|match|compare)")


def _attr_root(e: Expr) -> str | None:
    while isinstance(e, Attr):
        e = e.value
    return e.id if isinstance(e, Name) else None


def _refuses_wrong_password(app: AppModel, fn: Function, held: set[str], params: set[str], depth: int,
                            seen: set[str], kept: frozenset[str] = frozenset()) -> bool:
    """``fn`` raises or returns early when the password it holds does not match a stored one: ``if
    user.password != hash(password): raise ...`` (or ``return error``), ``if not verify_password(password,
    user.hashed_password): ...``, a check call in a ``try`` whose ``except`` raises or returns; or a project
    function it hands the password (and the stored one, its parameters ``kept``) to does (``depth`` calls down)."""
    if fn.qualname in seen:
        return False
    seen.add(fn.qualname)

    def carries(e: Expr) -> bool:  # ``password``, ``body.old_password``, ``hash(password)``
        return any(render(x, 80) in held for x in walk(e))

    def stored(e: Expr) -> bool:  # ``user.password`` of a row looked up, not of the request
        if isinstance(e, Name) and e.id in kept:
            return True
        return (isinstance(e, Attr) and bool(_STORED_SECRET_RE.search(e.attr)) and not carries(e)
                and _attr_root(e) not in params)

    def mismatch(negated: bool, test: Expr) -> bool:
        while isinstance(test, Not):
            negated, test = not negated, test.operand
        if isinstance(test, BoolOp) and test.op == "or" and not negated:  # ``if user is None or user.password != ...``
            return any(mismatch(False, v) for v in test.values)
        if isinstance(test, Compare) and test.op in ("==", "!="):
            if not ((carries(test.left) and stored(test.right)) or (carries(test.right) and stored(test.left))):
                return False
            return (test.op == "!=") != negated
        return negated and isinstance(test, Call) and checks(test)

    def checks(call: Call) -> bool:
        if not _PASSWORD_CHECK_RE.search(func_name(call)):
            return False
        args = [*call.args, *(v for _, v in call.kwargs)]
        func = call.func  # ``user.check_password(password)``: a method of the row looked up
        on_row = (isinstance(func, Attr) and bool(_STORED_SECRET_RE.search(func.attr)) and not carries(func.value)
                  and _attr_root(func.value) not in params)
        return any(map(carries, args)) and (on_row or any(map(stored, args)))

    for exit_ in (*fn.fact.scope.raises, *fn.fact.scope.returns):
        if any(mismatch(negated, test) for negated, test in exit_.conds):
            return True
    if any(x.raises or x.returns for x in fn.fact.excepts) and any(checks(site.call) for site, _ in fn.calls):
        return True  # ``try: verify(password, user.password) except Mismatch: raise ...``
    if depth <= 0:
        return False
    for call, callee, bound in callees_receiving(app, fn, carries):
        if _refuses_wrong_password(app, callee, set(bound), set(), depth - 1, seen,
                                   frozenset(params_receiving(call, callee, stored))):
            return True
    return False


def current_password(app: AppModel, route: Route) -> bool:
    """The request carries the caller's current password (a body field ``password``, ``old_password``) that the
    handler, or a function it hands it to, compares with the stored one and refuses when it differs: a password
    change for a user who cannot log in (an expired password) is authenticated by the old password."""
    fn = app.function(route.handler.qualname)
    held = _body_fields(app, route, _PASSWORD_FIELD_RE)
    if fn is None or not held:
        return False
    return _refuses_wrong_password(app, fn, held, {p.name for p in fn.fact.params}, CODE_DEPTH, set())


@register
class StateChangingRouteWithoutAuth(Rule):
    code = "FAL401"
    name = "state-changing-route-without-auth"
    summary = ("A POST/PUT/PATCH/DELETE route that no authentication reaches (scheme or hand-written dependency at any "
               "level, auth decorator, or authenticating middleware)")
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "when a dependency or the handler reads a credential without rejecting, only optional "
                                          "auth reaches the route, the route is registered under a condition, it is "
                                          "a one-time setup that closes itself, or it is a POST on whose path no "
                                          "write is seen (in a project whose writes are), or a POST to a search "
                                          "(`.../search`) on whose path no write is seen",
                        Severity.INFO: "for such a POST in an app that authenticates none of its routes (its write "
                                       "routes are reported), for a POST of such an app with no dependencies, in a "
                                       "project where no write is seen, on whose path nothing keeps data, and when "
                                       "the only authentication is one the configuration switches on; an app that "
                                       "authenticates none of its routes is one finding, at the most severe of "
                                       "its routes'"}
    confidence = Confidence.HIGH
    cwe = ("CWE-306",)
    owasp = ("API2:2023", "API5:2023")
    security_severity = 9.1
    default_options = {
        "public-routes": list(DEFAULT_PUBLIC_ROUTES),
        "public-handlers": list(DEFAULT_PUBLIC_HANDLERS),
        "one-finding-per-open-app": True,
    }

    def check(self, app: AppModel) -> Iterator[Finding]:
        open_apps = memo(app, _apps_without_auth) if self.options["one-finding-per-open-app"] else frozenset()
        by_app: dict[str, list[tuple[Route, Finding, str]]] = {}
        for route, finding, note in self._route_findings(app):
            if route.app in open_apps:
                by_app.setdefault(route.app, []).append((route, finding, note))
            else:
                yield finding
        noqa = {m.path: m.facts for m in app.modules}
        for app_id, found in by_app.items():
            # a route's own ``# noqa: FAL401`` (public on purpose) keeps it out of its app's finding
            found = [x for x in found if not _suppressed(noqa, x[1])]
            if len(found) == 1 or not any(a.id == app_id for a in app.apps):
                yield from (x[1] for x in found)  # one open route: its own finding says it all
            elif found:
                yield self._app_finding(app, app_id, found)

    def _app_finding(self, app: AppModel, app_id: str, found: list[tuple[Route, Finding, str]]) -> Finding:
        """One finding for an app that authenticates none of its routes: the cause is the app, not each route.
        At the app's constructor, at the most severe of its routes' findings, naming them (capped)."""
        a = next(x for x in app.apps if x.id == app_id)
        total = sum(1 for r in unique_routes(app) if r.app == app_id)
        rank = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
        found = sorted(found, key=lambda x: (rank.get(x[1].severity, 3), x[1].path, x[1].line))
        worst = found[0][1]
        changing = [x for x in found if x[1].severity == worst.severity]
        shown = ", ".join(f"`{' '.join(sorted(set(x[0].methods) & STATE_CHANGING))} {x[0].path}`"
                          for x in changing[:APP_LISTED])
        more = f" and {len(changing) - APP_LISTED} more" if len(changing) > APP_LISTED else ""
        rest = len(found) - len(changing)
        n = len(changing)
        if worst.severity == Severity.ERROR:
            what = f"{'changes' if n == 1 else 'change'} state with no authentication"
        else:
            what = f"{'is' if n == 1 else 'are'} open to whoever can reach the app"
        message = (f"`{a.name}` authenticates none of its {total} route{'s' if total != 1 else ''}: "
                   f"{n} of them {what} ({shown}{more})")
        if rest:
            message += (f"; {rest} more {'is' if rest == 1 else 'are'} open at a lower severity (listed as related "
                        "locations)")
        related = [Related(x[1].path, x[1].line, f"[{x[1].severity.value}] {note}") for x, note in
                   ((x, x[2]) for x in found[:APP_RELATED])]
        if len(found) > APP_RELATED:
            related.append(Related(a.loc.path, a.loc.line, f"{len(found) - APP_RELATED} more routes not listed"))
        return self.finding(
            a.loc.path, a.loc.line, a.loc.col, message,
            help=("put authentication in front of the whole app (`FastAPI(dependencies=[Depends(get_current_user)])`, "
                  "an authenticating middleware) or bind it to a private address; if the app is open on purpose (a "
                  "local single-user tool, a service behind a gateway), suppress this finding here with "
                  "`# noqa: FAL401`"),
            related=related,
            entity=f"app {a.id}",
            severity=worst.severity,
            confidence=worst.confidence,
        )

    def _route_findings(self, app: AppModel) -> Iterator[tuple[Route, Finding, str]]:
        public_paths = self.options["public-routes"]
        public_handlers = self.options["public-handlers"]
        for route in unique_routes(app):
            if auth_uncertain(app, route):
                continue
            # optional auth (``auto_error=False``, ``optional=True``) lets anonymous requests through: it is
            # not authentication unless a required way reaches the route too
            if route.kind != "http" or any(not v.optional for v in route.auth.via):
                continue
            if optional_handed_on(app, route):
                continue  # its optional credential goes to a check the model cannot see into: unresolved
            # a method an earlier registration of the same path takes: this handler never runs for it
            # (FAL105 reports the duplicate; the route that wins is judged on its own)
            changing = [m for m in route.methods if m in STATE_CHANGING and dispatched_instead(app, route, m) is None]
            if not changing or is_public(route, public_paths, public_handlers):
                continue
            twins = slash_twins(app, route)
            if twins[0] is not route:
                continue  # the handler's registration with(out) a trailing slash: reported with the first
            if _own_session_logout(app, route):
                continue  # ``DELETE /session`` that clears only the caller's own session: a logout
            if verifies_signature(app, route, tokens=True) or _redirect_only(app, route) or _error_stub(app, route):
                continue  # a signed request, or a handler that only redirects or only answers a fixed error
            if capability_url(app, route) or verification_code(app, route) or current_password(app, route):
                continue  # the secret in its path (an incoming webhook's URL), a checked code or the old password
                # authenticates the caller
            if open_by_switch(app, route) is not None:
                continue  # a sign-up or guest mode the operator switches on: public on purpose
            siblings = _sibling_includes(app, route)
            sib_text = ""
            related: list[Related] = list(route_related(route))
            dep_hint = "get_current_user"
            if siblings:
                deps = sorted({short(d) for s in siblings for d in s.dependencies})
                dep_hint = deps[0]
                where = ", ".join(f"{s.path}:{s.line}" for s in siblings[:3])
                sib_text = (f"; sibling includes attach {', '.join(f'`{d}`' for d in deps)} ({where}) "
                            f"but this chain attaches nothing")
                for s in siblings:
                    related.append(Related(s.path, s.line, f"`{s.child}` is included into `{s.parent}` with "
                                                           f"dependencies {', '.join(short(d) for d in s.dependencies)}"))
            readers: list[tuple[Function | Handler | None, str]] = [*credential_readers(app, route)] or handler_credential_reads(route)
            custom = ""
            severity = confidence = None
            if readers:
                fn, what = readers[0]
                by = f"`{short(fn.qualname)}`" if fn is not None else "a dependency"
                custom = (f"; {by} reads {what} but never rejects a request with a 401/403, so nothing marks the "
                          f"route as authenticated")
                severity, confidence = Severity.WARNING, Confidence.MEDIUM
                if fn is not None:
                    related.append(Related(fn.path, fn.fact.pos.line, f"`{short(fn.qualname)}` reads {what}"))
            optional = [v for v in route.auth.via if v.optional]
            configured = configured_requirement(app, route) if optional else None
            if configured is not None:
                # ``if settings.api_keys: <refuse a missing or unknown key>``: the operator switches it on
                custom += (f"; authentication is switched on by configuration: `{configured[0]}` refuses a request "
                           f"without a valid credential when `{configured[1]}` holds, and lets every request "
                           "through otherwise")
                severity, confidence = Severity.INFO, Confidence.MEDIUM
            elif optional:
                names = sorted({v.chain[0] if v.chain else v.name for v in optional})
                custom += (f"; only optional authentication reaches it ({', '.join(f'`{n}`' for n in names)} lets "
                           f"anonymous requests through)")
                severity, confidence = Severity.WARNING, Confidence.MEDIUM  # anonymous access may be meant
            setup = one_time_setup(app, route)
            if setup is not None:
                # a bootstrap that refuses once it has run (and marks that itself): open only on a fresh install
                done = ("says an administrator exists, and creates that administrator itself" if setup.endswith("()")
                        else "says it has run, and sets it itself")
                custom += (f"; it is a one-time setup that refuses once `{setup}` {done}: until then, whoever "
                           "reaches a fresh install first does the setup")
                severity, confidence = Severity.WARNING, Confidence.MEDIUM
            if route.conditional:  # a route the app serves only in some configurations (a local or debug one)
                custom += f"; it is registered only if `{route.conditional}`"
                severity, confidence = Severity.WARNING, Confidence.MEDIUM
            changes = "changes state"
            only_computes = "is a POST (no write to a data store was seen on its path: it may only compute)"
            queued = _queued_write(app, route) if changing == ["POST"] else None
            if queued is not None:
                custom += f"; it queues `{short(queued)}`, which writes to a data store"
            if severity is None and changing == ["POST"] and queued is None and _read_action(route) is not None \
                    and not any(True for _ in writes(app, route.handler.qualname, WRITE_DEPTH)):
                # ``POST /.../search`` with a query in the body: a read by its name, and no write seen on its path
                # (in a project whose writes may not be seen: the name carries the rest)
                changes = (f"is a POST to `{_read_action(route)}` (a read by its name, and no write to a data store "
                           "was seen on its path)")
                severity, confidence = Severity.WARNING, Confidence.MEDIUM
                if route.app in memo(app, _apps_without_auth):
                    custom += ("; the app authenticates none of its routes, and its write routes are reported: "
                               "this one adds only that it can be called")
                    severity = Severity.INFO
            elif severity is None and changing == ["POST"] and memo(app, _project_writes) and not any(
                    True for _ in writes(app, route.handler.qualname, WRITE_DEPTH)) and queued is None:
                # ``POST /conversion`` that only computes: no write on its path, in a project whose writes are seen
                changes = only_computes
                severity, confidence = Severity.WARNING, Confidence.MEDIUM
                if route.app in memo(app, _apps_without_auth):
                    custom += ("; the app authenticates none of its routes, and its write routes are reported: "
                               "this one adds only that it can be called")
                    severity = Severity.INFO
            elif severity is None and changing == ["POST"] and queued is None and route.app in memo(app, _bare_apps) \
                    and not any(True for _ in writes(app, route.handler.qualname, WRITE_DEPTH)) \
                    and _store_free_path(app, route):
                # an internal service (a model worker, a controller) none of whose routes authenticates or has a
                # dependency, in a project where no route's write is seen: an RPC-style POST whose path uses no data store
                # computes or answers from memory; the finding is that the app is open, not that this route
                # changes state
                changes = ("is a POST (no write to a data store was seen on its path, and nothing on it uses a "
                           "library that stores data: it may only compute or answer from memory)")
                count = sum(1 for r in unique_routes(app) if r.app == route.app)
                custom += (f"; the app authenticates none of its {count} route{'s' if count != 1 else ''}: a "
                           "service that trusts whoever can reach it (bind it to a private address or put "
                           "authentication in front of it)")
                severity, confidence = Severity.INFO, Confidence.MEDIUM
            elif changing == ["POST"] and severity is not None and queued is None and (
                    _path_seen_without_writes(app, route) or configured is not None and not any(
                        True for _ in writes(app, route.handler.qualname, WRITE_DEPTH)) and _store_free_path(app, route)):
                # already a warning (a credential read and never rejected on, optional auth): every call on its path
                # is seen and none could write (a webhook that computes the signature and only logs the
                # comparison), whether or not the project's writes elsewhere are seen: do not claim it changes state;
                # nor for auth the configuration switches on, when nothing on the path keeps data
                changes = only_computes
            methods = ",".join(changing)
            webhook = "hook" in route.path.lower() or "hook" in handler_name(route).lower()  # webhooks, /hooks/...
            help_text = (
                "attach the authentication dependency where the route's siblings get it: "
                f"`include_router(router, dependencies=[Depends({dep_hint})])`, "
                f"`APIRouter(dependencies=[...])`, or a `current_user: Annotated[User, Depends({dep_hint})]` "
                "parameter; if the route is public on purpose, add its path to `public-routes`"
            )
            if webhook:
                help_text = (
                    "a webhook cannot carry a user token: verify the provider's signature over the raw body "
                    "(`hmac.compare_digest(expected, signature_header)`, `stripe.Webhook.construct_event`) before "
                    "acting on it, or authenticate the sender with a shared-secret header; " + help_text
                )
            note = f"`{methods} {route.path}`{twin_text(twins)} (`{handler_name(route)}`) {changes}{custom}"
            yield route, self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`{methods} {route.path}`{twin_text(twins)} (`{handler_name(route)}`) {changes} but no "
                f"{'unconditional ' if configured else 'required ' if optional else ''}authentication reaches it; include chain: {include_chain_text(route)}{sib_text}{custom}",
                help=help_text + ("; if that dependency does authenticate in a way the review cannot follow, name it "
                                  "in `auth-dependencies = [\"module.function\"]` under [tool.fastapi-arch-lint]"
                                  if readers else ""),
                related=related,
                entity=route_entity(route),
                severity=severity,
                confidence=confidence,
            ), note
