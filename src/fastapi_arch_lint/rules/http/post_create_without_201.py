"""FAL201 post-create-without-201."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi_arch_lint.findings import Confidence, Edit, Finding, Fix, Related, Severity
from fastapi_arch_lint.analysis.values import instance_of
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.facts import CallSite, CompareFact
from fastapi_arch_lint.model.expr import Attr, Call, Const, DictExpr, Expr, Name, render
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._house import House, app_label, detect, project_finding
from fastapi_arch_lint.rules._house import enabled as house_enabled
from fastapi_arch_lint.rules._html import renders_html
from fastapi_arch_lint.rules._util import is_param, own_decorator, pydantic_model, route_entity, route_related, segments
from fastapi_arch_lint.rules.http._common import (
    BOOKKEEPING,
    call_site_of,
    chain_text,
    is_response_class,
    labels,
    matches_any,
    registrations,
    short,
    writes,
)

CREATE_PREFIXES = ("create_", "add_", "insert_", "register_", "new_")
CREATE_NAMES = frozenset({"create", "insert", "register"})
# ``create_access_token``, ``add_task``: names that start like a creation but make no resource
NOT_RESOURCES = ("token", "jwt", "task", "callback", "header", "middleware", "route", "handler", "engine",
                 "client", "subprocess", "response", "url", "link", "hash", "signature", "password", "cookie")
# segments that always mark an RPC-style endpoint wherever they appear in the path
RPC_SEGMENTS = frozenset({"webhook", "webhooks", "callback", "callbacks", "rpc", "graphql", "hooks"})


# ``access``, ``status``, ``analysis``: words ending in ``s`` that are no plurals
NOT_PLURAL_ENDINGS = ("ss", "us", "is", "ics", "ous")
IRREGULAR_PLURALS = frozenset({"people", "children", "men", "women", "data", "media", "criteria"})
# plural in form, one thing in use: a POST there sets it, it adds no member to a collection
ONE_THING_PLURALS = frozenset({"settings", "preferences", "credentials", "details", "stats", "statistics",
                               "analytics", "metrics", "news"})


def _documents_201(route: Route) -> bool:
    """The decorator's ``responses=`` documents a 201 (``responses={201: {...}}``)."""
    for d in route.handler.fact.decorators:
        if isinstance(d.expr, Call):
            responses = d.expr.kwarg("responses")
            if isinstance(responses, DictExpr):
                if any(isinstance(k, Const) and str(k.value) == "201" for k in responses.keys):
                    return True
    return False


def _status_name_taken(app: AppModel, route: Route) -> bool:
    """The handler's module binds ``status`` to something else than FastAPI's or Starlette's ``status``
    (``from http import status``, ``status = ...``): the fix then writes the number."""
    module = app.module(route.handler.module)
    if module is None:
        return True
    facts = module.facts
    imported = [i for i in facts.imports if i.local == "status"]
    if any(not (i.module in ("fastapi", "starlette") and i.name == "status" and i.level == 0) for i in imported):
        return True
    return any(a.target == "status" for a in facts.scope.assigns) or \
        any(f.name == "status" for f in facts.scope.functions) or any(c.name == "status" for c in facts.scope.classes)


def _fix(app: AppModel, route: Route) -> Fix | None:
    """``status_code=status.HTTP_201_CREATED`` on the route's decorator (replacing an explicit 200), with
    ``from fastapi import status``. Unsafe: clients see another status code. Only for a decorator of the
    handler itself (a route registered by hand, in a loop or a helper is left alone)."""
    at = route.registered
    call = own_decorator(route)
    if call is None or call.starred:
        return None  # ``**options`` may hold a status code of its own
    if _status_name_taken(app, route):
        return Fix("set `status_code=201` on the decorator",
                   (Edit("keyword", at.path, at.line, at.col, "status_code", "201", callee=render(call.func)),),
                   safe=False)
    return Fix("set `status_code=status.HTTP_201_CREATED` on the decorator",
               (Edit("keyword", at.path, at.line, at.col, "status_code", "status.HTTP_201_CREATED",
                     callee=render(call.func)),),
               safe=False, imports=(("fastapi", "status"),))


def _creates_by_name(name: str) -> bool:
    name = name.lower()
    if not (name in CREATE_NAMES or name.startswith(CREATE_PREFIXES)):
        return False
    return not any(w in name for w in NOT_RESOURCES)


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[-_.]", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()) if w]


def _last_segment(route: Route) -> str:
    """The route's last path segment, "" when there is none or it is a parameter."""
    segs = segments(route.path)
    last = segs[-1] if segs else ""
    return "" if not last or is_param(last) else last


def _plural(segment: str) -> bool:
    """A plural noun ends the segment (``payout-accounts``), not one thing named in the plural (``settings``)."""
    words = _words(segment) if segment else []
    return bool(words) and words[-1] not in ONE_THING_PLURALS and (words[-1] in IRREGULAR_PLURALS or (
        len(words[-1]) > 3 and words[-1].endswith("s") and not words[-1].endswith(NOT_PLURAL_ENDINGS)))


# the first word of a segment that names an action verb-first (``store_provider_keys``, ``save_settings``)
ACTION_LEADS = frozenset({"store", "save", "add", "create", "insert", "register", "generate", "upload", "set",
                          "put", "post", "write", "record", "submit", "make", "new", "update", "upsert"})


def _action_phrase(segment: str) -> bool:
    """``store_provider_keys``: a verb and its object, which names what the POST does, not a collection it adds to."""
    words = _words(segment) if segment else []
    return len(words) > 1 and words[0] in ACTION_LEADS


# calls that turn an insert into an upsert: the row may exist already, and is then updated
UPSERT_CALLS = frozenset({"on_conflict_do_update", "on_duplicate_key_update", "merge", "upsert", "bulk_upsert"})


# ``add_update_item``: a create verb right before ``update`` names both, as ``add_or_update`` does
_CREATE_VERBS = frozenset({"add", "create", "insert", "save", "store"})


def _upsert_name(name: str) -> bool:
    """``upsert_tag``, ``create_or_update_secret``, ``add_update_item``, ``insert_on_conflict``: a name (or a
    path segment: ``/add_or_update``) that says the row may exist."""
    words = _words(name)
    return "upsert" in words or ("or" in words and "update" in words) or \
        any(a == "on" and b == "conflict" or a in _CREATE_VERBS and b == "update" for a, b in zip(words, words[1:]))


def _update_or_insert(fn: Function, site: CallSite) -> bool:
    """The insert sits in one branch of an ``if`` on a row looked up before, whose other branch sets fields of
    that row (``if row: row.name = ...`` / ``else: session.add(Row(...))``): an upsert, which answers an
    existing row as often as a new one (a fixed 201 would misreport the updates)."""
    fact = fn.fact
    idx = next((i for i, c in enumerate(fact.calls) if c is site or c.pos == site.pos), None)
    if idx is None:
        return False
    for g in fact.guards:
        if idx in g.body_calls:
            other = set(g.orelse_assigns)
        elif idx in g.orelse_calls:
            other = set(g.body_assigns)
        else:
            continue
        tested = {(a.left if isinstance(a, CompareFact) else a) for _neg, a in g.tests}
        rows = {a.id for a in tested if isinstance(a, Name)}
        if rows and any(a.pos.line in other and "." in a.target and a.target.split(".", 1)[0] in rows
                        for a in fact.scope.assigns):
            return True
    return False


def _upserts(app: AppModel, qualname: str | None) -> bool:
    """The function calls ``.on_conflict_do_update()``, ``session.merge()`` or ``upsert()``: an insert
    there may update an existing row instead, which 200 describes as well as 201 would not."""
    fn = app.function(qualname) if qualname else None
    return fn is not None and any(
        (site.call.func.attr if isinstance(site.call.func, Attr) else short(target or "")) in UPSERT_CALLS
        for site, target in fn.calls)


# a keyword that makes a lookup create the row when it is missing: ``repo.lookup_user(req, create_missing=True)``
_CREATE_MISSING_RE = re.compile(r"^(?:create_(?:if_)?(?:missing|not_exists?|absent)|get_or_create|auto_create)$")


def _get_or_create_name(name: str) -> bool:
    """``get_or_create``, ``fetch_or_create_user``: a lookup that creates only what is missing."""
    words = _words(name)
    return any(a == "or" and b == "create" for a, b in zip(words, words[1:]))


def _gets_or_creates(app: AppModel, handler: str) -> str | None:
    """A call in the handler that looks a row up and creates it only when missing (``get_or_create(...)``,
    ``lookup_user(req, create_missing=True)``), as written: where the handler's name is the only sign of a
    creation, that is what it creates, and it answers an existing row as often as a new one (a fixed 201 would
    be wrong). A plain insert or ``create()`` call beside it is still evidence (the get-or-create may fetch
    the creator)."""
    fn = app.function(handler)
    for site, target in fn.calls if fn else ():
        func = site.call.func
        name = func.attr if isinstance(func, Attr) else short(target or render(func))
        if _get_or_create_name(name) or any(
                _CREATE_MISSING_RE.match(k) and isinstance(v, Const) and v.value is True for k, v in site.call.kwargs):
            return render(site.call, 80)
    return None


def _always_raises(route: Route) -> bool:
    """Every path through the handler raises (``raise HTTPException(501, "Not implemented")``): a ``raise``
    outside any ``if``, loop or ``except``, no ``return`` and no ``except`` that could swallow it."""
    fact = route.handler.fact
    return not fact.scope.returns and not fact.excepts and any(not r.conds for r in fact.scope.raises)


# response models that are no envelope of the API's own, however many routes declare them
NOT_ENVELOPES = frozenset({"dict", "Dict", "list", "List", "Any", "str", "int", "bool", "object", "None", "Response",
                           "JSONResponse", "ORJSONResponse", "PlainTextResponse", "StreamingResponse", "FileResponse"})


def _model_name(route: Route) -> str:
    """``Result[TaskResponse]`` -> ``Result``; "" without a response model."""
    return (route.response_model or "").split("[", 1)[0].rsplit(".", 1)[-1].strip()


def _envelope(app: AppModel, app_id: str) -> House | None:
    """The response model most of the app's routes share (``Result``, ``ApiResponse``: at least 80% of at least 5
    routes with one, and half of all its routes): an envelope whose body carries the outcome, and the HTTP status
    stays 200."""
    routes = [r for r in registrations(app) if r.app == app_id and r.kind == "http"]
    house = detect(n for n in map(_model_name, routes) if n)
    if house is None or house.style in NOT_ENVELOPES or house.count * 2 < len(routes):
        return None
    return house


# the libraries whose objects store rows: a ``create`` on one of their sessions, clients or managers persists
STORE_LIBRARIES = frozenset({
    "sqlalchemy", "sqlmodel", "tortoise", "peewee", "playhouse", "django", "pymongo", "motor", "beanie",
    "odmantic", "mongoengine", "databases", "asyncpg", "psycopg", "psycopg2", "aiosqlite", "sqlite3", "redis",
    "prisma", "piccolo", "ormar", "edgedb", "gel", "supabase", "firebase_admin", "google", "elasticsearch",
    "opensearchpy", "aiomysql", "pymysql", "neo4j", "cassandra", "aioboto3", "boto3", "botocore",
})


def _sdk_client_call(app: AppModel, fn: Function, line: int, func: Attr) -> bool:
    """``openai.chat.completions.create(...)`` where ``openai = AsyncOpenAI(...)``: the receiver's root is an
    instance of a third-party class that stores nothing here (an LLM, payment or messaging SDK client), so
    its ``create`` asks another service for something; this API creates no resource of its own."""
    root: Expr = func
    while isinstance(root, Attr):
        root = root.value
    if not isinstance(root, Name):
        return False
    cls = instance_of(app, root, fn.module, fn, line)
    if cls:
        return _sdk_class(app, cls)
    # a name bound in several places (``groq = AsyncOpenAI(...) if key else None``): each binding that is
    # not None must build a third-party client
    local = [(a, fn) for a in fn.fact.scope.assigns if a.target == root.id]
    mod = app.module(fn.module)
    found = [] if root.id in {p.name for p in fn.fact.params} else (
        local or [(a, None) for a in (mod.facts.scope.assigns if mod else ()) if a.target == root.id])
    built = [(a, where) for a, where in found if not (isinstance(a.value, Const) and a.value.value is None)]
    if not built:
        return False
    for a, where in built:
        if a.value is None or a.augmented:
            return False
        c = instance_of(app, a.value, fn.module, where, a.pos.line)
        if not c or not _sdk_class(app, c):
            return False
    return True


def _sdk_class(app: AppModel, cls: str) -> bool:
    """A class of a third-party library that stores nothing of this API's."""
    if any(cls == m.name or cls.startswith(m.name + ".") for m in app.modules):
        return False
    return cls.split(".", 1)[0] not in STORE_LIBRARIES


@dataclass(frozen=True, slots=True)
class Evidence:
    text: str
    related: tuple[Related, ...]
    confidence: Confidence


@register
class PostCreateWithout201(Rule):
    code = "FAL201"
    name = "post-create-without-201"
    summary = "A POST that creates a resource answers 200 instead of 201 Created"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "once per app or project, when its house style is what the rule dislikes; "
                                       "and for a POST to an action or to one item rather than to a collection"}
    default_options = {
        "actions": [
            "login", "logout", "signin", "signout", "token", "refresh", "revoke", "introspect", "authorize",
            "search", "query", "find", "lookup", "filter", "verify", "validate", "check", "reset", "cancel",
            "activate", "deactivate", "enable", "disable", "approve", "reject", "publish", "unpublish",
            "archive", "unarchive", "restore", "send", "resend", "sync", "import", "export", "preview",
            "calculate", "count", "estimate", "quote", "run", "execute", "trigger", "retry", "confirm", "notify",
            "ping", "test", "upload", "move", "copy", "merge", "close", "reopen", "complete", "submit",
            "follow", "unfollow", "favorite", "unfavorite", "subscribe", "unsubscribe", "join", "leave",
            "authenticate", "consent", "claim", "mark", "ingest",
        ],
        "ignore_functions": list(BOOKKEEPING),
        "house_style": True,
    }

    def check(self, app: AppModel) -> Iterator[Finding]:
        actions = {a.lower() for a in self.options["actions"]}
        ignore = tuple(self.options["ignore_functions"])
        # the POSTs that create: those answering 201, and those answering 200 with evidence of a creation
        created: list[Route] = []
        found: list[tuple[Route, Evidence]] = []
        # the paths a DELETE also serves, with no id after them: one thing, which a POST there sets
        removed = {(r.app, r.path) for r in registrations(app) if r.kind == "http" and "DELETE" in r.methods}
        for route in registrations(app):
            if route.kind != "http" or "POST" not in route.methods or renders_html(app, route):
                continue
            if route.status_code == 201:
                created.append(route)
                continue
            if route.status_code != 200:
                continue
            if self._is_action(route, actions) or self._sets_status(app, route) or self._singleton(route, removed):
                continue
            if _always_raises(route) or _upsert_name(short(route.handler.qualname)) or any(
                    _upsert_name(seg) for seg in segments(route.path) if not is_param(seg)):
                continue  # it answers no 2xx at all (a stub raising 501), or it may update an existing row
            ev = self._evidence(app, route, ignore)
            if ev is not None:
                found.append((route, ev))
        # the paths a GET also serves: a POST there adds to what the GET lists
        listed = {(r.app, r.path) for r in registrations(app) if r.kind == "http" and "GET" in r.methods}
        if house_enabled(self.options) and found:
            # per app: an admin app and a public API may follow different conventions
            by_app: dict[str, tuple[list[Route], list[tuple[Route, Evidence]]]] = {}
            for r in created:
                by_app.setdefault(r.app, ([], []))[0].append(r)
            for r, ev in found:
                by_app.setdefault(r.app, ([], []))[1].append((r, ev))
            housed: set[str] = set()
            enveloped: set[int] = set()  # the creates said once with their app's envelope
            for app_id, (made, plain) in by_app.items():
                house = detect(["201"] * len(made) + ["200"] * len(plain))
                envelope = _envelope(app, app_id) if house is None and not made else None
                if envelope is not None:
                    wrapped = [(r, ev) for r, ev in plain if _model_name(r) == envelope.style]
                    if wrapped:
                        # too few creates to tell a house style, but every answer is an envelope and nothing
                        # answers 201: the outcome is in the body, the status is 200 by design
                        enveloped.update(id(r) for r, _ in wrapped)
                        yield project_finding(
                            self, envelope, [(r.registered, f"`POST {r.path}` (`{short(r.handler.qualname)}`) "
                                                            f"answers 200") for r, _ in wrapped],
                            f"this API wraps its answers in the envelope `{envelope.style}` ({envelope.share} routes "
                            f"with a response model) and no route answers 201: its {len(wrapped)} create(s) answer "
                            f"200 with the outcome in the body (judged as the house style)",
                            help="201 Created (with a `Location` header) tells clients and generated SDKs that a "
                                 "resource was made; if a 200 envelope is a deliberate convention, keep it consistent "
                                 "and document it. Set `house_style = false` to see each route",
                            entity=f"create-200 envelope {app_label(app, app_id)}",
                        )
                    continue
                if house is None or house.style != "200":
                    continue
                housed.add(app_id)
                places = [(r.registered, f"`POST {r.path}` (`{short(r.handler.qualname)}`) answers 200")
                          for r, _ in plain]
                yield project_finding(
                    self, house, places,
                    f"this API answers 200 to its creates: {house.share} POST routes that create a resource have "
                    f"no `status_code=201` (judged as the house style: a route is reported only when most "
                    f"creates answer 201)",
                    help="201 Created (with a `Location` header) tells clients and generated SDKs that a resource "
                         "was made; if 200 is a deliberate convention, keep it consistent and document it. Set "
                         "`house_style = false` to see each route",
                    entity=f"create-200 {app_label(app, app_id)}",
                )
            found = [(r, ev) for r, ev in found if r.app not in housed and id(r) not in enveloped]
        for route, ev in found:
            handler = short(route.handler.qualname)
            how = ("sets `status_code=200`" if route.status_code_explicit
                   else "has no `status_code=`, so it answers 200 OK")
            target = self._collection(route, listed)
            if target == "plural" and route.status_code_explicit and _action_phrase(_last_segment(route)):
                target = None  # ``POST /store_provider_keys, status_code=200``: an action named verb-first, 200 on purpose
            if target is None:
                how += (" (it posts to an action or to one item, not to a collection: the new row may be a "
                        "side effect of the action)")
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`POST {route.path}` (`{handler}`) creates a resource ({ev.text}) but {how}",
                help="set `status_code=status.HTTP_201_CREATED` on the decorator (and a `Location` header "
                     "naming the new resource); if the endpoint is an action rather than a creation, add its "
                     "path word to `actions`",
                related=(*ev.related, *route_related(route)),
                entity=route_entity(route),
                confidence=ev.confidence,
                severity=None if target is not None else Severity.INFO,
                fix=_fix(app, route) if target is not None and ev.confidence is Confidence.HIGH else None,
            )

    @staticmethod
    def _collection(route: Route, listed: set[tuple[str, str]]) -> str | None:
        """Why the POST's target is a collection that the new resource joins, or None when it is not:
        the path is also served by a GET (the list), its last segment is a plural noun
        (``/payout-accounts``), or the decorator documents a 201 response it does not give."""
        if (route.app, route.path) in listed:
            return "listed"
        if _plural(_last_segment(route)):
            return "plural"
        if _documents_201(route):
            return "documented"
        return None

    @staticmethod
    def _singleton(route: Route, removed: set[tuple[str, str]]) -> bool:
        """The POST sets one thing rather than adding to a collection: the same path ends in a singular noun
        and is also served by a DELETE (``POST``/``GET``/``DELETE /me/default-model``): the URL names the
        resource itself, which the POST replaces (created the first time, updated after)."""
        last = _last_segment(route)
        return bool(last) and not _plural(last) and (route.app, route.path) in removed

    @staticmethod
    def _is_action(route: Route, actions: set[str]) -> bool:
        segs = [s for s in segments(route.path) if not is_param(s)]
        if any(s.lower() in RPC_SEGMENTS for s in segs):
            return True
        last = segments(route.path)[-1] if segments(route.path) else ""
        if last and not is_param(last) and (last.lower() in actions or (_words(last) or [""])[0] in actions):
            return True
        words = _words(short(route.handler.qualname))
        return bool(words) and words[0] in actions

    @staticmethod
    def _sets_status(app: AppModel, route: Route) -> bool:
        """The handler chooses its status at run time: ``response.status_code = 201``, ``JSONResponse(status_code=)``."""
        fact = route.handler.fact
        if any(a.target.endswith(".status_code") for a in fact.scope.assigns):
            return True
        if route.response_class and "Redirect" in route.response_class:
            return True
        fn = app.function(route.handler.qualname)
        for ret in fact.scope.returns:
            if isinstance(ret.value, Call):
                if ret.value.kwarg("status_code") is not None:
                    return True
                for site, target in fn.calls if fn else ():
                    if (site.call.line, site.call.col) == (ret.value.line, ret.value.col) \
                            and is_response_class(app, target) and "Redirect" in (target or ""):
                        return True
        return False

    def _evidence(self, app: AppModel, route: Route, ignore: tuple[str, ...]) -> Evidence | None:
        handler = route.handler.qualname
        # 1. an insert in the handler or in a function it calls directly
        upsert = False  # an insert seen that may update instead: the name alone then proves nothing
        for w in writes(app, handler, depth=1, ignore=ignore):
            if w.create and (any(_upsert_name(short(q)) for q in w.trail[1:]) or _upserts(app, w.function.qualname)
                             or _update_or_insert(w.function, w.site)):
                upsert = True
            if not w.create or upsert:
                continue
            where = f"`{w.what}` in `{labels(w.trail)[-1]}`"
            if len(w.trail) > 1:
                where += f", called as `{chain_text(w.trail)}`"
            related = [Related(w.function.path, w.site.pos.line, f"`{w.what}` adds a new row")]
            if len(w.trail) > 1:
                site = call_site_of(app, w.trail[0], w.trail[1])
                if site is not None:
                    related.insert(0, Related(route.handler.path, site.pos.line, f"calls `{labels(w.trail)[1]}`"))
            return Evidence(where, tuple(related), Confidence.HIGH)
        # 2. a call to a repository/service ``create_*`` (or ORM ``Model.create``)
        for fn, site, target, trail in app.callees(handler, depth=1):
            if any(matches_any(short(q), ignore) for q in trail[1:]):
                continue
            func = site.call.func
            name = func.attr if isinstance(func, Attr) else short(target or "")
            if name and (_upsert_name(name) or _upserts(app, target) or any(_upsert_name(short(q)) for q in trail[1:])):
                upsert = True
                continue
            if not name or not _creates_by_name(name):
                continue
            if target is None:
                if not isinstance(func, Attr):
                    continue  # an unresolved bare name
                if _sdk_client_call(app, fn, site.call.line, func):
                    continue  # ``llm.chat.completions.create(...)``: a request to another service's API
            elif not any(target.startswith(m.name + ".") for m in app.modules):
                continue  # external: ``asyncio.create_task``, ``stripe.Customer.create``...
            if matches_any(name, ignore):
                continue
            if "cache" in (target or render(func.value if isinstance(func, Attr) else func)).lower():
                continue  # ``cache.new_key()``: a cache entry, not a resource
            if target is not None and pydantic_model(app, target.rsplit(".", 1)[0]) is not None:
                continue  # ``TextBlock.create(text=...)``: a factory of a Pydantic model builds a value, stores nothing
            return Evidence(
                f"it calls `{render(func)}()`" + (f" in `{short(fn.qualname)}`" if fn.qualname != handler else ""),
                (Related(fn.path, site.pos.line, f"`{render(func)}()` creates"),),
                Confidence.HIGH,
            )
        # 3. only the handler's name says so, and it does not get-or-create what it answers (a lookup passed
        # ``create_missing=True``: an existing row is answered as often as a new one)
        if _creates_by_name(short(handler)) and route.response_model is not None and not upsert \
                and _gets_or_creates(app, handler) is None:
            return Evidence(
                f"its name `{short(handler)}` and response model `{route.response_model}` say so",
                (), Confidence.MEDIUM,
            )
        return None
