"""FAL536 debug-endpoint-leak."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import call_target, reached_functions
from fastapi_arch_lint.analysis.names import is_secret_name
from fastapi_arch_lint.analysis.taint import call_arg
from fastapi_arch_lint.analysis.values import instance_of, target
from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Loc, PydanticModel, Route
from fastapi_arch_lint.model.expr import Attr, BinOp, BoolOp, Call, Cond, Const, DictExpr, Expr, FStr, Name, Seq, Subscript, render, walk
from fastapi_arch_lint.model.facts import ExceptFact
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._house import House, detect, project_finding
from fastapi_arch_lint.rules._house import enabled as house_enabled
from fastapi_arch_lint.rules._util import auth_uncertain, memo, pydantic_model, route_entity, route_related, unique_routes
from fastapi_arch_lint.rules.auth._common import (
    admins_only,
    dependency_functions,
    handler_name,
    handler_secret_gate,
    privileged,
    shared_secret_gate,
    shared_secret_only,
)
from fastapi_arch_lint.rules.auth._roles import admin_check_in

# calls whose result carries their argument whole into a response
PASS_THROUGH = frozenset({"builtins.dict", "builtins.vars", "builtins.list", "builtins.str", "builtins.repr",
                          "fastapi.encoders.jsonable_encoder", "json.dumps", "builtins.sorted"})
# methods whose result carries their receiver whole
WHOLE_METHODS = frozenset({"dict", "model_dump", "json", "model_dump_json", "copy", "items", "keys", "values",
                           "__dict__"})
TRACEBACK_CALLS = frozenset({"traceback.format_exc", "traceback.format_exception", "traceback.format_tb",
                             "traceback.format_stack", "traceback.extract_tb"})
# the classes a broad ``except`` catches: anything, a database error and a library bug alike
BROAD = frozenset({"Exception", "BaseException"})
# database drivers and ORMs: their messages quote SQL, table and column names, sometimes values and hosts
DB_MODULES = ("sqlalchemy.", "sqlmodel.", "asyncpg.", "psycopg2.", "psycopg.", "pymysql.", "MySQLdb.", "aiomysql.",
              "sqlite3.", "aiosqlite.", "pymongo.", "motor.", "redis.", "tortoise.", "peewee.", "databases.",
              "django.db.", "elasticsearch.", "cassandra.", "neo4j.")
DB_NAMES = re.compile(r"(DatabaseError|IntegrityError|OperationalError|ProgrammingError|DataError|DBAPIError"
                      r"|SQLAlchemyError|PyMongoError|InterfaceError)$")
# network clients: their messages name internal hosts, URLs and upstream answers
NETWORK_MODULES = ("httpx.", "requests.", "aiohttp.", "urllib3.", "botocore.", "boto3.", "grpc.", "openai.",
                   "anthropic.", "google.api_core.", "azure.core.", "kubernetes.", "paramiko.", "smtplib.")
# library errors about the client's own input (a schema, a template, a document, a token it sent)
# (and an ``HTTPException`` caught and passed on: its detail was written for the client already)
CLIENT_INPUT_ERRORS = re.compile(r"(Validation|Syntax|Parse|Parser|Parsing|Decode|Schema|Hydration)(Error|Exception)$"
                                 r"|(YAMLError|InvalidTokenError|ExpiredSignatureError|JWTError|InvalidSignatureError"
                                 r"|HTTPException|WebSocketException)$")
# a database library's errors whose text is a fixed sentence that quotes no SQL, table or value
# (``NoResultFound``: "No row was found when one was required")
FIXED_TEXT_DB_ERRORS = re.compile(r"^sqlalchemy\.(orm\.)?exc\.(NoResultFound|MultipleResultsFound)$")
# a dependency that only lets administrators through, by its name (``check_admin``, ``get_current_superuser``),
# where the model's ``Route.privileged`` does not read the check itself
# (not ``require_admin_key``: an API key with more rights, which any account holds for its own wallet or project)
class _Returns:
    """What a function's expressions carry whole into a response: the environment, a settings object, a
    traceback."""

    def __init__(self, app: AppModel, fn: Function, settings_params: dict[str, str]) -> None:
        self.app = app
        self.fn = fn
        self.settings_params = settings_params
        self.assigns: dict[str, list[Expr]] = {}
        for a in fn.fact.scope.assigns:
            if a.target and "." not in a.target and a.value is not None and not a.augmented:
                self.assigns.setdefault(a.target, []).append(a.value)

    def find(self, e: Expr | None, line: int, depth: int = 0) -> tuple[str, str, str] | None:
        """``(kind, text, settings class)``: ``environment``/``settings``/``traceback``, what names it, and for
        settings the class's qualified name."""
        if e is None or depth > 12:
            return None
        d = depth + 1
        if isinstance(e, Name):
            if target(self.app, e, self.fn.module) == "os.environ":
                return "environment", "`os.environ`", ""
            cls = self.settings_params.get(e.id) or self._settings_class(e, line)
            if cls is not None:
                return "settings", f"the settings object `{e.id}` (`{cls.rsplit('.', 1)[-1]}`)", cls
            for v in self.assigns.get(e.id, ()):
                found = self.find(v, line, d)
                if found is not None:
                    return found
            return None
        if isinstance(e, Attr):
            if render(e) == "os.environ":
                return "environment", "`os.environ`", ""
            if e.attr == "__dict__":
                return self.find(e.value, line, d)
            return None  # one attribute: ``settings.APP_NAME``, ``os.environ`` never read whole here
        if isinstance(e, Subscript):
            return None  # one item: ``os.environ["HOME"]``
        if isinstance(e, Call):
            t = call_target(self.fn, e) or ""
            if t in TRACEBACK_CALLS:
                return "traceback", f"`{render(e.func)}()`", ""
            func = e.func
            if isinstance(func, Attr) and func.attr in WHOLE_METHODS:
                found = self.find(func.value, line, d)
                if found is not None:
                    return found
            if isinstance(func, Attr) and func.attr == "join" and e.args:
                return self.find(e.args[0], line, d)  # ``"".join(traceback.format_exception(...))``
            if t in PASS_THROUGH or t.rsplit(".", 1)[-1].endswith("Response"):
                for a in (*e.args[:1], *(v for k, v in e.kwargs if k == "content")):
                    found = self.find(a, line, d)
                    if found is not None:
                        return found
                return None
            cls = self._settings_class(e, line)
            if cls is not None:
                return "settings", f"the settings object `{render(e, 40)}` (`{cls.rsplit('.', 1)[-1]}`)", cls
            return None
        parts: tuple[Expr | None, ...] = ()
        if isinstance(e, DictExpr):
            parts = e.values
        elif isinstance(e, Seq):
            parts = e.items
        elif isinstance(e, BinOp):
            parts = (e.left, e.right)
        elif isinstance(e, BoolOp):
            parts = e.values
        elif isinstance(e, Cond):
            parts = (e.body, e.orelse)
        elif isinstance(e, FStr):
            parts = tuple(p for p in e.parts if not isinstance(p, str))
        for v in parts:
            found = self.find(v, line, d)
            if found is not None:
                return found
        return None

    def _settings_class(self, e: Expr, line: int) -> str | None:
        cls = instance_of(self.app, e, self.fn.module, self.fn, line)
        if cls is None:
            return None
        m = pydantic_model(self.app, cls)
        return cls if m is not None and m.kind == "settings" else None


def secret_fields(model: PydanticModel) -> list[str]:
    """The fields of a settings class that hold a secret or a connection string, unmasked."""
    out = []
    for f in model.fields:
        if any(t.startswith("pydantic.") and "Secret" in t for t in f.type_names):
            continue  # ``SecretStr``: serialised as ``**********``
        low = f.name.lower()
        if is_secret_name(f.name) or low.endswith(("_dsn", "database_url", "db_url", "_uri")) or low in ("dsn",):
            out.append(f.name)
    return out


def _exception_kind(app: AppModel, fn: Function, exc: ExceptFact) -> tuple[str, Severity] | None:
    """Why the text of what ``exc`` catches is not the project's own message: (what, severity), or None."""
    if not exc.types:
        return "a bare `except:` (any error)", Severity.WARNING
    found: tuple[str, Severity] | None = None
    own = memo(app, _project_packages)
    for t in exc.types:
        name = render(t)
        q = target(app, t, fn.module)
        if q is not None and q.split(".", 1)[0] in own:
            continue  # the project's own exception (defined or re-exported in its packages)
        if q is not None and CLIENT_INPUT_ERRORS.search(q):
            continue  # a library's verdict on the client's own input: written for it
        if q is not None and FIXED_TEXT_DB_ERRORS.match(q):
            continue  # a fixed sentence ("Multiple rows were found when exactly one was required")
        if q is None and isinstance(t, Name) and t.id in BROAD:
            return f"`except {name}` (any error, a database's or a library's bug included)", Severity.WARNING
        if q is None or q in app.classes or q.startswith("builtins."):
            if q in ("builtins.Exception", "builtins.BaseException"):
                return f"`except {name}` (any error, a database's or a library's bug included)", Severity.WARNING
            continue  # the project's own exception, or a specific builtin one (``ValueError``)
        if q.startswith(DB_MODULES) or DB_NAMES.search(q):
            return f"a database error (`{name}`: its text quotes SQL, tables and values)", Severity.WARNING
        if q.startswith(NETWORK_MODULES):
            found = (f"a network client's error (`{name}`: its text names internal hosts and URLs)", Severity.WARNING)
        elif found is None:
            found = (f"a library's error (`{name}`)", Severity.INFO)
    return found


def _mentions(e: Expr | None, name: str, depth: int = 0) -> bool:
    """``e`` carries the text of the exception bound to ``name``: ``str(e)``, ``repr(e)``, ``f"{e}"``,
    ``e.args``, ``"..." + str(e)``, ``{"error": str(e)}``."""
    if e is None or depth > 10:
        return False
    d = depth + 1
    if isinstance(e, Call):
        func = e.func
        if isinstance(func, Name) and func.id in ("str", "repr", "format") and e.args:
            return _is_name(e.args[0], name) or _mentions(e.args[0], name, d)
        if isinstance(func, Attr) and func.attr in ("format", "join") and any(_mentions(a, name, d) or _is_name(a, name)
                                                                            for a in e.args):
            return True
        return any(_mentions(a, name, d) for a in (*e.args, *(v for _, v in e.kwargs)))
    if isinstance(e, FStr):
        return any(not isinstance(p, str) and (_is_name(p, name) or _mentions(p, name, d)) for p in e.parts)
    if isinstance(e, Attr):
        return e.attr in ("args", "message", "msg", "orig", "detail") and _is_name(e.value, name)
    if isinstance(e, BinOp):
        return any(_is_name(x, name) or _mentions(x, name, d) for x in (e.left, e.right))
    if isinstance(e, DictExpr):
        return any(_mentions(v, name, d) for v in e.values)
    if isinstance(e, Seq):
        return any(_mentions(v, name, d) for v in e.items)
    if isinstance(e, Cond):
        # ``str(exc) if isinstance(exc, AssertionError) else "failed"``: the text of the class the code picked
        narrowed = isinstance(e.test, Call) and isinstance(e.test.func, Name) and e.test.func.id == "isinstance" \
            and bool(e.test.args) and _is_name(e.test.args[0], name)
        return (not narrowed and _mentions(e.body, name, d)) or _mentions(e.orelse, name, d)
    if isinstance(e, BoolOp):
        return any(_mentions(v, name, d) for v in e.values)
    if isinstance(e, Subscript):
        return _mentions(e.value, name, d)
    return False


def _is_name(e: Expr | None, name: str) -> bool:
    return isinstance(e, Name) and e.id == name


def _http_exception(fn: Function, call: Call) -> bool:
    t = call_target(fn, call) or render(call.func)
    return t.rsplit(".", 1)[-1] in ("HTTPException", "WebSocketException")


STATUS_WORDS = {"BAD_REQUEST": 400, "UNAUTHORIZED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "CONFLICT": 409,
                "UNPROCESSABLE": 422, "INTERNAL_SERVER_ERROR": 500, "BAD_GATEWAY": 502, "SERVICE_UNAVAILABLE": 503}


def status_of(e: Expr | None) -> int | None:
    """The HTTP status an expression names: ``400``, ``status.HTTP_400_BAD_REQUEST``, ``HTTPStatus.BAD_REQUEST``."""
    if e is None:
        return None
    text = render(e)
    m = re.search(r"(?<!\d)([1-5]\d\d)(?!\d)", text)
    if m:
        return int(m.group(1))
    return next((code for word, code in STATUS_WORDS.items() if word in text.upper()), None)


def _error_text(app: AppModel, fn: Function, exc: ExceptFact) -> Iterator[tuple[int, int, str, int | None]]:
    """Where the clause sends its exception's text (or a traceback) to the client: ``(line, col, how, status)``.

    A raised ``HTTPException`` whose ``detail`` carries it, or (in a route handler) a returned value
    that does."""
    name = exc.name
    aliases = {name} if name else set()
    if name:
        # ``msg = str(e)`` / ``msg = f"failed: {e}"`` in the clause
        for a in fn.fact.scope.assigns:
            if a.target and "." not in a.target and _mentions(a.value, name):
                aliases.add(a.target)
    for i in exc.raises:
        r = fn.fact.raises[i] if i < len(fn.fact.raises) else None
        if r is None or not isinstance(r.expr, Call) or not _http_exception(fn, r.expr):
            continue
        detail = call_arg(r.expr, 1, "detail", "reason")
        if name and _client_facing_branch(app, fn, i, name, detail):
            continue
        status = status_of(call_arg(r.expr, 0, "status_code", "code"))
        for n in aliases:
            if detail is not None and (_mentions(detail, n) or (n != name and _is_name(detail, n))):
                yield r.pos.line, r.pos.col, f"`raise {render(r.expr.func)}(detail={render(detail, 50)})`", status
                break
        else:
            if _traceback_in(fn, detail):
                yield r.pos.line, r.pos.col, f"`raise {render(r.expr.func)}(detail={render(detail, 50)})`", status


# the attributes only an ``HTTPException`` (or a project error shaped like one) carries together: a test for
# one of them picks the errors written for the client
HTTP_ERROR_ATTRS = frozenset({"status_code", "detail"})


def _client_facing_branch(app: AppModel, fn: Function, raise_index: int, name: str, detail: Expr | None) -> bool:
    """Does the ``raise`` at ``raise_index`` sit in an ``if`` branch that runs only for errors whose text was
    written for the client: ``if isinstance(exc, HTTPException):`` (or the project's own exception, or a library's
    verdict on the client's input), or ``if hasattr(exc, "status_code"):`` passing on ``exc.detail`` (an
    ``HTTPException`` raised deeper down, its text the project's own), with a fixed message for every other
    error?"""
    def narrows(test: Expr | None) -> bool:
        if isinstance(test, BoolOp):
            return any(narrows(v) for v in test.values) if test.op == "and" else all(narrows(v) for v in test.values)
        if not (isinstance(test, Call) and isinstance(test.func, Name) and len(test.args) == 2
                and _is_name(test.args[0], name)):
            return False
        if test.func.id == "hasattr":
            # ``e.detail`` only: an upstream client's error may carry a ``status_code`` and quote its answer in
            # ``str(e)``
            attr = test.args[1]
            return isinstance(attr, Const) and attr.value in HTTP_ERROR_ATTRS and isinstance(detail, Attr) \
                and detail.attr == "detail" and _is_name(detail.value, name)
        if test.func.id == "isinstance":
            kinds = test.args[1]
            types = kinds.items if isinstance(kinds, Seq) else (kinds,)
            return bool(types) and _exception_kind(app, fn, ExceptFact(types=tuple(types), name=name)) is None
        return False

    return any(raise_index in g.body_raises and narrows(g.test) for g in fn.fact.guards)


LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


def _guarded_callees(app: AppModel, fn: Function, exc: ExceptFact) -> list[str]:
    """The project functions the ``try`` of ``exc`` calls, when every call of its body is one of them (or a log
    line) and each of them catches every error itself without raising again (its whole body's calls inside a
    ``try`` whose ``except Exception:`` answers a value: ``except Exception: return []``). Empty otherwise."""
    if not exc.try_calls:
        return []
    out: list[str] = []
    for i in exc.try_calls:
        if i >= len(fn.calls):
            return []
        site, tgt = fn.calls[i]
        func = site.call.func
        if isinstance(func, Attr) and func.attr in LOG_METHODS:
            continue
        callee = app.functions.get(tgt or "")
        if callee is None or not _catches_everything(app, callee):
            return []
        name = callee.qualname.rsplit(".", 2)
        out.append(".".join(name[-2:]) if callee.fact.is_method else name[-1])
    return list(dict.fromkeys(out))


def _catches_everything(app: AppModel, fn: Function) -> bool:
    """Every call of ``fn`` sits in the ``try`` of a broad ``except`` (``Exception``, ``BaseException``, bare) that
    raises nothing, or in an ``except`` clause: whatever fails in it, it answers a value."""
    fact = fn.fact
    if fact.is_generator or not fact.calls:
        return False
    covered: set[int] = set()
    broad = False
    for e in fact.excepts:
        covered.update(e.calls)
        if e.raises or not e.try_calls:
            continue
        if not e.types or all(render(t) in BROAD or target(app, t, fn.module) in ("builtins.Exception",
                                                                                  "builtins.BaseException")
                              for t in e.types):
            covered.update(e.try_calls)
            broad = True
    return broad and covered >= set(range(len(fact.calls)))


def _unconditional(fn: Function, call: int) -> bool:
    """Does the call at index ``call`` of ``fn`` run on every path to what follows it: not inside an ``if``
    branch or an ``except`` clause?"""
    return not any(call in g.body_calls or call in g.orelse_calls for g in fn.fact.guards) \
        and not any(call in e.calls for e in fn.fact.excepts)


def admin_checked_before(app: AppModel, route: Route, fn: Function, line: int) -> str | None:
    """An administrator check that runs before ``line`` of ``fn`` on ``route``: in a dependency (or what it calls),
    or, when ``fn`` is the handler, an ``if`` of its own body or a project function it calls first
    (``_require_admin(ctx)`` at the top of the handler); ``fn`` another function, before the handler's first
    call that leads to it. Said as where it is."""
    for dep in dependency_functions(app, route):
        for f in reached_functions(app, dep, 2):
            if (seen := admin_check_in(f)) is not None:
                return seen.text
    if fn.qualname != route.handler.qualname:
        handler = app.functions.get(route.handler.qualname)
        if handler is None:
            return None
        leads = [site.pos.line for site, tgt in handler.calls if (callee := app.functions.get(tgt or "")) is not None
                 and any(f.qualname == fn.qualname for f in reached_functions(app, callee, 2))]
        if not leads:
            return None
        fn, line = handler, min(leads)
    seen = admin_check_in(fn)
    if seen is not None and seen.line < line:
        return seen.text
    for i, (site, tgt) in enumerate(fn.calls):
        callee = app.functions.get(tgt or "")
        if callee is None or site.pos.line >= line or not _unconditional(fn, i):
            continue
        for f in reached_functions(app, callee, 1):
            if (seen := admin_check_in(f)) is not None:
                return f"`{fn.fact.name}` calls `{callee.fact.name}` first: {seen.text}"
    return None


def secret_checked_before(app: AppModel, route: Route, fn: Function, line: int) -> str | None:
    """How the route's handler rejects every caller without the deployment's secret before ``line`` of ``fn``
    (the handler itself, or a function it reaches through a call made after the check): ``if password !=
    settings.X: raise HTTPException(401)`` at the top of its body. Said as where it is."""
    handler = app.functions.get(route.handler.qualname)
    if handler is None:
        return None
    gate = handler_secret_gate(app, handler)
    if gate is None:
        return None
    if fn.qualname != handler.qualname:
        leads = [site.pos.line for site, tgt in handler.calls if (callee := app.functions.get(tgt or "")) is not None
                 and any(f.qualname == fn.qualname for f in reached_functions(app, callee, 2))]
        if not leads:
            return None
        line = min(leads)
    gate_line, test = gate
    return f"`{handler.fact.name}` first rejects with 401/403 when `{test}`" if gate_line < line else None


def _traceback_in(fn: Function, e: Expr | None) -> bool:
    if e is None:
        return False
    return any(isinstance(x, Call) and (call_target(fn, x) or "") in TRACEBACK_CALLS for x in walk(e))


@register
class DebugEndpointLeak(Rule):
    code = "FAL536"
    name = "debug-endpoint-leak"
    summary = ("A route sends the process environment, the settings object, a traceback or a caught database or "
               "library exception's text to the client")
    severity = Severity.WARNING
    other_severities = {
        Severity.ERROR: "when a route no authentication reaches returns the environment or a settings object with "
                        "secrets whole",
        Severity.INFO: "when only administrators, or a service holding the deployment's shared secret, can call the "
                       "route, the exception is a library's other than a database's or a network client's, or a broad "
                       "`except` answers with a 4xx client error; once per project when most `except` clauses of its "
                       "routes answer with the error's text (house style)",
    }
    default_options = {"house_style": True}
    confidence = Confidence.MEDIUM
    cwe = ("CWE-215", "CWE-209")
    owasp = ("API8:2023",)
    security_severity = 6.5

    def check(self, app: AppModel) -> Iterator[Finding]:
        reported: set[tuple[str, int]] = set()
        routes = [r for r in unique_routes(app) if r.kind == "http"]
        # the routes each function is reached from (handler, dependencies and what they call)
        reach: dict[str, list[Route]] = {}
        for route in routes:
            fn = app.functions.get(route.handler.qualname)
            if fn is None:
                continue
            yield from self._returned(app, route, fn, reported)
            starts = [fn, *dependency_functions(app, route)]
            for start in starts:
                for f in reached_functions(app, start, 2):
                    reach.setdefault(f.qualname, []).append(route)
        # each ``except`` clause that answers the client: whether it sends the caught error's text
        labels: list[str] = []
        sent: list[tuple[Route, str, Finding]] = []
        for qual, rs in reach.items():
            fn = app.functions[qual]
            handler = any(r.handler.qualname == fn.qualname for r in rs)
            for exc in fn.fact.excepts:
                found = list(self._exception_text(app, fn, exc, rs, reported))
                yield from (f for tb, _, _, f in found if tb)
                texts = [(route, how, f) for tb, route, how, f in found if not tb]
                if texts:
                    # how it answers: a convention is one way of answering (``return {"error": str(e)}`` in every
                    # handler), not a mix of raised and returned texts
                    labels.append(f"text-{texts[0][1]}")
                    sent += texts
                elif _answers_client(fn, exc, handler):
                    labels.append("fixed")
        house = detect(labels, threshold=HOUSE_SHARE) if house_enabled(self.options) and sent else None
        if house is not None and house.style.startswith("text-"):
            style = house.style.split("-", 1)[1]
            yield self._house_finding(house, [(r, f) for r, how, f in sent if how == style])
            yield from (f for _, how, f in sent if how != style)  # the other way of answering: outliers
        else:
            yield from (f for _, _, f in sent)
        yield from self._exception_handlers(app, reported)

    def _house_finding(self, house: House, sent: list[tuple[Route, Finding]]) -> Finding:
        """The project answers errors with their text in most of its ``except`` clauses: its convention (an
        operator's UI that shows the error), said once with the places, not on every handler."""
        places = [(Loc(f.path, f.line, f.column), f"the error's text to the client of `{route.display()}`")
                  for route, f in sent]
        first = min(sent, key=lambda p: (p[1].path, p[1].line, p[1].column))[0].display()
        return project_finding(
            self, house, places,
            f"the project answers errors with the caught exception's text in {house.share} of the `except` clauses "
            f"of its routes that answer the client (here `{first}`; the others are listed): judged as "
            "the house style (an interface "
            "that shows the server's error to its user), said once here; database, library and programming errors "
            "reach every client that way",
            help=("log the exception (`logger.exception(...)`) and answer with a fixed message or a stable error code "
                  "(one project exception handler can do it for every route), keeping the text only for the project's "
                  "own errors written for clients; set `house_style = false` to see each place as its own finding"),
            entity="exception-text", severity=Severity.INFO,
        )

    # -- the environment, the settings, a traceback, returned whole -------------------------------------------------
    def _returned(self, app: AppModel, route: Route, fn: Function, reported: set[tuple[str, int]]) -> Iterator[Finding]:
        settings_params = {p.name: t for p in route.params if p.source == "dependency" for t in p.type_names
                           if (m := pydantic_model(app, t)) is not None and m.kind == "settings"}
        # a response model that is not the settings class filters what leaves
        filtered = any(pydantic_model(app, t) is not None and pydantic_model(app, t).kind != "settings"
                       for t in route.response_model_types)
        finder = _Returns(app, fn, settings_params)
        for ret in fn.fact.scope.returns:
            found = finder.find(ret.value, ret.pos.line)
            if found is None or (fn.path, ret.pos.line) in reported:
                continue
            kind, text, cls = found
            if kind in ("environment", "settings") and filtered:
                continue
            secrets = ""
            extra: list[Related] = []
            if kind == "settings":
                model = pydantic_model(app, cls)
                fields = secret_fields(model) if model is not None else []
                if not fields:
                    continue  # a settings class of public options (a UI's): nothing secret to leak
                secrets = f" with {', '.join(f'`{f}`' for f in fields[:4])}{' ...' if len(fields) > 4 else ''}"
                extra.append(Related(model.path, model.line, f"settings class `{model.name}`"))
            unauthenticated = not any(not v.optional for v in route.auth.via)
            optional = next((v for v in route.auth.via if v.optional), None)
            admins = admins_only(route)
            if admins:
                severity, who = Severity.INFO, f"only administrators can call it ({admins})"
            elif kind in ("environment", "settings") and not route.auth.via:
                severity, who = Severity.ERROR, "no authentication reaches it: anyone can read it"
            elif unauthenticated and optional is not None:
                # optional auth (``auto_error=False``): whether anonymous callers get through is the project's
                # configuration or a check this cannot see
                severity, who = Severity.WARNING, (f"authentication on it is optional ({optional.describe()}): a "
                                                   "caller without credentials may read it")
            elif not unauthenticated and (checked := privileged(app, route)):
                severity, who = Severity.WARNING, f"only callers who pass {checked} can read it"
            else:
                severity, who = Severity.WARNING, ("any authenticated caller can read it" if not unauthenticated
                                                   else "no authentication reaches it")
            what = {"environment": "the process environment (every secret the deployment passes in: database "
                                   "passwords, API keys, signing keys)",
                    "settings": f"the whole settings object{secrets}",
                    "traceback": "a traceback (file paths, code lines, local names of the server)"}[kind]
            reported.add((fn.path, ret.pos.line))
            yield self.finding(
                fn.path, ret.pos.line, ret.pos.col,
                f"`{route.display()}` (`{handler_name(route)}`) returns {text}: {what}; {who}",
                help=("return only the fields a client needs (a response model listing them, e.g. `{\"version\": "
                      "settings.VERSION}`); keep environment and configuration dumps out of the API, or behind an "
                      "administrator check and off in production"),
                related=[Related(route.registered.path, route.registered.line, f"route `{route.display()}` registered here"),
                         *route_related(route), *extra],
                entity=f"{route_entity(route)}:{kind}",
                severity=severity,
                confidence=Confidence.HIGH if severity is Severity.ERROR else Confidence.MEDIUM,
            )

    # -- a caught exception's text -----------------------------------------------------------------------------
    def _exception_text(self, app: AppModel, fn: Function, exc: ExceptFact, routes: list[Route],
                        reported: set[tuple[str, int]]) -> Iterator[tuple[bool, Route, str, Finding]]:
        """``(a traceback?, the route named, "return" or "raise", finding)`` for each place the clause sends the
        error to the client."""
        kind = _exception_kind(app, fn, exc)
        handler = any(r.handler.qualname == fn.qualname for r in routes)
        sites = list(_error_text(app, fn, exc))
        if handler and (exc.name or exc.returns):
            for ret in fn.fact.scope.returns:
                if ret.pos.line not in exc.returns:
                    continue
                if (exc.name and _mentions(ret.value, exc.name)) or _traceback_in(fn, ret.value):
                    status = status_of(ret.value.kwarg("status_code")) if isinstance(ret.value, Call) else None
                    sites.append((ret.pos.line, ret.pos.col, f"`return {render(ret.value, 60)}`", status))
        for line, col, how, status in sites:
            if (fn.path, line) in reported:
                continue
            tb = "traceback" in how
            if kind is None and not tb:
                continue
            what, severity = kind if kind is not None else ("", Severity.WARNING)
            if not tb and what.startswith(("`except", "a bare")) and (shields := _guarded_callees(app, fn, exc)):
                # every project function the ``try`` calls catches every error itself and answers a value: no
                # database's or library's error comes out of them, only the handler's own statements can fail
                one = len(shields) == 1
                what = (f"{what.split(' (', 1)[0]} (but {', '.join(f'`{q}`' for q in shields[:3])}"
                        f"{' ...' if len(shields) > 3 else ''}, all that its `try` calls, "
                        f"{'catches every error itself' if one else 'catch every error themselves'} and answers a "
                        f"value: only the errors of the code around {'it' if one else 'them'} are left)")
                severity = Severity.INFO
            answer = ""
            if not tb and severity is Severity.WARNING and what.startswith(("`except", "a bare")) \
                    and status is not None and 400 <= status < 500:
                # a broad ``except`` answered with a client error: often a parser's or validator's verdict on the
                # client's input (``except Exception: raise HTTPException(400, str(e))``), arguable
                severity, answer = Severity.INFO, f", answered as a client error ({status})"
            route = next((r for r in routes if not admins_only(r) and not shared_secret_only(app, r)),
                         next((r for r in routes if not admins_only(r)), routes[0]))
            admins = ""
            if admins_only(route):
                severity, admins = Severity.INFO, f"; only administrators can call it ({admins_only(route)})"
            elif shared_secret_only(app, route):
                # a service-to-service endpoint: its one caller holds the deployment's shared key or signing
                # secret, a trusted peer reading its own call's failure
                gates = sorted({f.qualname.rsplit(".", 1)[-1] for f in dependency_functions(app, route)
                                if shared_secret_gate(f)})
                severity, admins = Severity.INFO, (f"; only a service holding the deployment's shared secret can call "
                                                   f"it ({', '.join(f'`{g}`' for g in gates)})")
            if not admins and (checked := admin_checked_before(app, route, fn, line)) is not None and all(
                    admins_only(r) or shared_secret_only(app, r) or admin_checked_before(app, r, fn, line)
                    for r in routes if r is not route):
                # every route lets only administrators past before the error can happen: staff reading the
                # failure of an operator's tool, arguable
                severity, admins = Severity.INFO, f"; only administrators get that far ({checked})"
            if not admins and all((gate := secret_checked_before(app, r, fn, line)) is not None for r in routes):
                # the handler compares what the caller sent with one configured secret and refuses a mismatch
                # first: only the secret's holder (the operator, a peer service) reads the failure
                severity, admins = Severity.INFO, (f"; only a caller holding the deployment's secret gets that far "
                                                   f"({gate})")
            reported.add((fn.path, line))
            sent = "a traceback" if tb else f"the text of {what}"
            if not admins:
                via = next((v for v in route.auth.via if not v.optional), None)
                optional = next((v for v in route.auth.via if v.optional), None)
                checked = privileged(app, route) if via is not None else None
                admins = (f"; only callers who pass {checked} get it" if checked
                          else f"; any caller who authenticates ({via.describe()}) gets it" if via is not None
                          else f"; authentication on the route is optional ({optional.describe()}): a caller without "
                               "credentials may get it" if optional is not None
                          else "" if auth_uncertain(app, route)  # a dependency that did not resolve
                          else "; no authentication reaches the route: anyone gets it")
            more = f" (and {len(set(r.path for r in routes)) - 1} more routes)" if len(set(r.path for r in routes)) > 1 else ""
            yield tb, route, "return" if how.startswith("`return") else "raise", self.finding(
                fn.path, line, col,
                f"{how} sends {sent}{answer} to the client of `{route.display()}`{more}{admins}: an error message "
                "is no place for the server's internals",
                help=("log the exception (`logger.exception(...)`) and answer with a fixed message "
                      "(`HTTPException(500, detail=\"internal error\")`, or a stable error code); catch the specific "
                      "errors whose text is written for clients (the project's own validation errors)"),
                related=[Related(route.registered.path, route.registered.line, f"route `{route.display()}` registered here")],
                entity=f"{fn.qualname}:exception-text",
                severity=severity,
                confidence=Confidence.MEDIUM if severity is not Severity.INFO else Confidence.LOW,
            )

    # -- exception handlers that answer every error with its text ------------------------------------------------
    def _exception_handlers(self, app: AppModel, reported: set[tuple[str, int]]) -> Iterator[Finding]:
        for fn in memo(app, _broad_exception_handlers):
            params = [p.name for p in fn.fact.params if p.kind == "positional"]
            if len(params) < 2:
                continue
            name = params[1]
            for ret in fn.fact.scope.returns:
                if (fn.path, ret.pos.line) in reported:
                    continue
                if not (_mentions(ret.value, name) or _traceback_in(fn, ret.value)):
                    continue
                reported.add((fn.path, ret.pos.line))
                yield self.finding(
                    fn.path, ret.pos.line, ret.pos.col,
                    f"the exception handler `{fn.fact.name}` answers every unhandled error with its text "
                    f"(`return {render(ret.value, 60)}`): database, library and programming errors reach the client",
                    help=("log the exception and answer with a fixed message (`JSONResponse({\"detail\": \"internal "
                          "error\"}, status_code=500)`)"),
                    entity=f"{fn.qualname}:exception-handler",
                )


# the share of the ``except`` clauses that answer the client which must send the error's text for that to be the
# project's convention: most of them (an operator's UI built to show the server's error), not nearly all of them,
# as the clauses whose answer carries nothing to show (an empty list, a status) are part of the same convention
HOUSE_SHARE = 0.6


def _answers_client(fn: Function, exc: ExceptFact, handler: bool) -> bool:
    """The clause answers the client itself: it raises an ``HTTPException``, or returns from a route handler."""
    for i in exc.raises:
        r = fn.fact.raises[i] if i < len(fn.fact.raises) else None
        if r is not None and isinstance(r.expr, Call) and _http_exception(fn, r.expr):
            return True
    return handler and bool(exc.returns)


def _project_packages(app: AppModel) -> frozenset[str]:
    """The top-level packages of the project's modules: an exception class named under one is the project's."""
    return frozenset(m.name.split(".", 1)[0] for m in app.modules)


def _broad_exception_handlers(app: AppModel) -> list[Function]:
    """Project functions registered for ``Exception`` (or 500): ``@app.exception_handler(Exception)``,
    ``app.add_exception_handler(Exception, handler)``."""
    out: dict[str, Function] = {}

    def broad(e: Expr | None, module: str) -> bool:
        if isinstance(e, Name) and e.id in BROAD:
            return True
        return e is not None and target(app, e, module) in ("builtins.Exception", "builtins.BaseException")

    for fn in app.functions.values():
        for d in fn.fact.decorators:
            if isinstance(d.expr, Call) and isinstance(d.expr.func, Attr) and d.expr.func.attr == "exception_handler" \
                    and d.expr.args and broad(d.expr.args[0], fn.module):
                out[fn.qualname] = fn
    values = app.values
    calls = [(mc.call, mc.module) for mc in (values.module_calls() if values is not None else ())]
    calls += [(site.call, fn.module) for fn in app.functions.values() for site, _t in fn.calls]
    for c, module in calls:
        if isinstance(c.func, Attr) and c.func.attr == "add_exception_handler" and len(c.args) >= 2 \
                and broad(c.args[0], module):
            t = target(app, c.args[1], module)
            if t and t in app.functions:
                out[t] = app.functions[t]
    return list(out.values())

