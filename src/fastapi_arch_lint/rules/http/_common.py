"""What a function does to the database, read from its resolved call sites (shared by FAL2xx rules).

Pure functions of the model: a call site plus its resolved target (``sqlalchemy.orm.Session.add``,
``app.services.create_item``, an external dotted name, or None when the receiver is unknown).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from fastapi_arch_lint.findings import Related
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.expr import Attr, BoolOp, Call, Const, Expr, Name, dotted, render
from fastapi_arch_lint.model.facts import CallSite
from fastapi_arch_lint.rules._util import matches_any

# ORM session methods that change the database (or end a transaction that did)
SESSION_WRITES = frozenset({
    "add", "add_all", "delete", "merge", "flush", "commit",
    "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings",
})
SESSION_CREATES = frozenset({"add", "add_all", "bulk_save_objects", "bulk_insert_mappings"})
# the receiver types whose methods above are writes
SESSION_TYPES = frozenset({
    "Session", "AsyncSession", "scoped_session", "async_scoped_session", "Connection", "AsyncConnection",
})
# receivers recognised by name when their type is unknown (``self.db.add``, an untyped ``session``)
SESSION_NAMES = frozenset({
    "db", "session", "sess", "db_session", "dbsession", "async_session", "conn", "connection", "uow",
})
# MongoDB (pymongo / motor) collection methods: specific enough to match on the name alone
MONGO_WRITES = frozenset({
    "insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one", "delete_many",
    "find_one_and_update", "find_one_and_replace", "find_one_and_delete", "bulk_write",
})
MONGO_CREATES = frozenset({"insert_one", "insert_many"})
SQL_WRITE_RE = re.compile(
    r"^\s*(insert\s+(or\s+\w+\s+)?into|update\s+\S+\s+set|delete\s+from|merge\s+into|replace\s+into"
    r"|upsert|truncate)\b",
    re.IGNORECASE | re.DOTALL,
)
SQL_CREATE_RE = re.compile(r"^\s*insert\b", re.IGNORECASE)

# default name patterns of functions whose writes are bookkeeping, not the request's effect
BOOKKEEPING = ("*audit*", "log_*", "*_log", "track_*")


@dataclass(frozen=True, slots=True)
class Write:
    """One database write found at a call site."""

    function: Function  # the function that makes the call
    site: CallSite
    what: str  # a short rendering for messages: ``session.add()``, ``insert(User)``
    create: bool  # the write inserts a new row/document
    trail: tuple[str, ...]  # qualnames from the handler down to ``function``


def registrations(app: AppModel) -> Iterator[Route]:
    """Each registration (decorator or ``add_api_route`` call) once, at the first path it is reachable by.

    A router included twice (``/items`` and ``/v1/items``) gives two routes for one registration; the
    rules of this category judge the registration, so they report it once.
    """
    seen: set[tuple[str, str, int, int, tuple[str, ...]]] = set()
    for r in app.iter_routes():
        key = (r.app, r.registered.path, r.registered.line, r.registered.col, r.methods)
        if key in seen:
            continue
        seen.add(key)
        yield r


def short(qualname: str) -> str:
    return qualname.rsplit(".", 1)[-1]


def _last(target: str | None) -> str:
    return (target or "").rsplit(".", 1)[-1]


def _receiver_name(call: Call) -> str:
    if isinstance(call.func, Attr):
        d = dotted(call.func.value)
        if d:
            return d.rsplit(".", 1)[-1].lstrip("_").lower()
    return ""


def _is_session_receiver(call: Call, target: str | None) -> bool:
    if target:
        parts = target.split(".")
        if len(parts) >= 2 and parts[-2].rstrip("()") in SESSION_TYPES:
            return True
        if target.split(".", 1)[0] in ("sqlalchemy", "sqlmodel") and len(parts) >= 2 and "ession" in parts[-2]:
            return True
        return False
    return _receiver_name(call) in SESSION_NAMES


def _chain_has_query(expr: Expr | None) -> bool:
    """``db.query(X).filter(...)``: a legacy ``Query`` receiver."""
    while isinstance(expr, (Attr, Call)):
        if isinstance(expr, Call):
            if isinstance(expr.func, Attr) and expr.func.attr == "query":
                return True
            expr = expr.func
        else:
            expr = expr.value
    return False


def _first_str(call: Call) -> str | None:
    arg = call.arg(0, "statement")
    if isinstance(arg, Const) and isinstance(arg.value, str):
        return arg.value
    return None


NEW_OBJECT_SUFFIXES = (".model_validate", ".from_orm", ".model_construct", ".parse_obj", ".construct")
CREATE_NAME_RE = re.compile(r"^(create|add|insert|register|new|save_new)(_|$)")


def _is_constructor(app: AppModel | None, target: str | None) -> bool:
    if not target:
        return False
    if target.endswith(NEW_OBJECT_SUFFIXES):
        return True
    return app is not None and target in app.classes


def adds_new_object(app: AppModel | None, fn: Function | None, site: CallSite) -> bool:
    """``session.add(x)`` where ``x`` is built here (``Item(...)``, ``Item.model_validate(...)``).

    ``session.add`` also re-attaches objects that were loaded and changed (an update); those do not
    count. An object passed in as a parameter counts when the function is named like a creation
    (``def create(self, item)``, ``def add(...)``).
    """
    if fn is None:
        return True
    arg = site.call.arg(0, "instance")
    if isinstance(arg, Call):
        return any(_is_constructor(app, t) for s, t in fn.calls if (s.call.line, s.call.col) == (arg.line, arg.col))
    if isinstance(arg, Name):
        assigned = [(s, t) for s, t in fn.calls if s.assigned_to == arg.id and s.pos.line <= site.pos.line]
        if assigned:
            return _is_constructor(app, assigned[-1][1])
        if fn.fact.param(arg.id) is not None:
            return bool(CREATE_NAME_RE.match(short(fn.qualname)))
    return False


def classify(site: CallSite, target: str | None, app: AppModel | None = None,
             fn: Function | None = None) -> tuple[str, bool] | None:
    """``(what, is_create)`` when the call writes to a database, else None.

    With the calling function (and the app) at hand, ``session.add(x)`` is a creation only when ``x``
    is a new object; without them every ``add`` counts as one.
    """
    call = site.call
    func = call.func
    method = func.attr if isinstance(func, Attr) else (func.id if isinstance(func, Name) else "")
    # session.add / commit / delete ...
    if isinstance(func, Attr) and method in SESSION_WRITES and _is_session_receiver(call, target):
        create = method in SESSION_CREATES and (method != "add" or adds_new_object(app, fn, site))
        return f"{render(func)}()", create
    # insert(...) / update(...) / delete(...) statements of SQLAlchemy Core / SQLModel
    if target and target.split(".", 1)[0] in ("sqlalchemy", "sqlmodel") and _last(target) in ("insert", "update", "delete"):
        arg = call.arg(0, "table")
        return f"{method}({render(arg, 40) if arg is not None else ''})", _last(target) == "insert"
    # raw SQL: text("UPDATE ...") / session.execute("INSERT ...")
    sqla = bool(target) and (target or "").split(".", 1)[0] in ("sqlalchemy", "sqlmodel")
    if (method == "text" and sqla) or method in ("execute", "exec_driver_sql", "executemany"):
        sql = _first_str(call)
        if sql and SQL_WRITE_RE.match(sql):
            return f'{render(func)}("{sql.strip()[:30]}...")', bool(SQL_CREATE_RE.match(sql))
    # db.query(X).filter(...).delete() / .update({...})
    if isinstance(func, Attr) and method in ("delete", "update") and _chain_has_query(func.value):
        return f"query(...).{method}()", False
    # MongoDB collections
    if isinstance(func, Attr) and method in MONGO_WRITES and (target is None or not target.startswith("builtins.")):
        return f"{render(func)}()", method in MONGO_CREATES
    return None


def writes(app: AppModel, qualname: str, depth: int, ignore: Iterable[str] = ()) -> Iterator[Write]:
    """Database writes made by ``qualname`` or by project functions it calls, ``depth`` levels down.

    Functions whose short name matches an ``ignore`` pattern are skipped with everything they call.
    Breadth first: the nearest writes come first.
    """
    patterns = tuple(ignore)
    for fn, site, target, trail in app.callees(qualname, depth=depth):
        if any(matches_any(short(q), patterns) for q in trail[1:]):
            continue
        got = classify(site, target, app, fn)
        if got is not None and not switched_off(app, fn, site, trail):
            yield Write(fn, site, got[0], got[1], trail)


_FALSY = (False, None, 0, "")


def switched_off(app: AppModel, fn: Function, site: CallSite, trail: tuple[str, ...]) -> bool:
    """The write runs only under a flag that every call on this path leaves off: ``if case and
    track_view: session.commit()`` in ``get_case(..., track_view=False)``, called without the flag (or
    with a false constant), the write there or in a function called there. Only a statement call under
    ``if``s whose test is an ``and`` of names (or the name alone) counts; anything else may run."""
    for i in range(1, len(trail)):
        caller = app.function(trail[i])
        if caller is None:
            return False
        off = _off_params(app, trail[i - 1], caller)
        if not off:
            continue
        sites = [site] if i == len(trail) - 1 else [s for s, t in caller.calls if t == trail[i + 1]]
        if sites and all(_under_off_flag(caller, s, off) for s in sites):
            return True
    return False


def _under_off_flag(fn: Function, site: CallSite, off: frozenset[str]) -> bool:
    stmt = next((c for c in fn.fact.scope.calls if (c.call.line, c.call.col) == (site.call.line, site.call.col)), None)
    for negated, test in stmt.conds if stmt is not None else ():
        names = test.values if isinstance(test, BoolOp) and test.op == "and" else (test,)
        if not negated and any(isinstance(n, Name) and n.id in off for n in names):
            return True
    return False


def _off_params(app: AppModel, caller: str, fn: Function) -> frozenset[str]:
    """Parameters of ``fn`` that every call from ``caller`` leaves false: not passed (a false default) or
    passed a false constant; none when some call spreads ``*args``/``**kwargs``."""
    params = list(fn.fact.params)
    if fn.fact.is_method and params and params[0].name in ("self", "cls"):
        params = params[1:]
    by_name = {p.name: i for i, p in enumerate(params)}
    caller_fn = app.function(caller)
    sites = [s for s, t in (caller_fn.calls if caller_fn else ()) if t == fn.qualname]
    if not sites:
        return frozenset()
    off: set[str] | None = None
    for s in sites:
        if s.call.starred or s.spread:
            return frozenset()
        here = set()
        for p in params:
            if p.kind not in ("positional", "keyword"):
                continue
            i = by_name[p.name]
            given = s.call.kwarg(p.name) if p.kind == "keyword" else s.call.arg(i, p.name)
            value = given if given is not None else p.default
            if isinstance(value, Const) and value.value in _FALSY and not isinstance(value.value, float):
                here.add(p.name)
        off = here if off is None else off & here
    return frozenset(off or ())


def call_site_of(app: AppModel, caller: str, callee: str) -> CallSite | None:
    fn = app.function(caller)
    if fn is None:
        return None
    for site, target in fn.calls:
        if target == callee:
            return site
    return None


def chain_related(app: AppModel, trail: tuple[str, ...]) -> list[Related]:
    """Related locations for each hop of a call chain: where ``a`` calls ``b``."""
    out = []
    for a, b in zip(trail, trail[1:]):
        site = call_site_of(app, a, b)
        fn = app.function(a)
        if site is not None and fn is not None:
            la, lb = labels((a, b))
            out.append(Related(fn.path, site.pos.line, f"`{la}` calls `{lb}`"))
    return out


def labels(trail: tuple[str, ...]) -> list[str]:
    """Short names for a call chain; ``module.name`` where two steps share a short name, ``Class.method``."""
    shorts = [short(q) for q in trail]
    out = []
    for q, s in zip(trail, shorts):
        parts = q.split(".")
        two = ".".join(parts[-2:]) if len(parts) >= 2 else q
        out.append(two if shorts.count(s) > 1 or (len(parts) >= 2 and parts[-2][:1].isupper()) else s)
    return out


def chain_text(trail: tuple[str, ...]) -> str:
    return " -> ".join(labels(trail))


RESPONSE_PREFIXES = ("fastapi.responses.", "starlette.responses.")
RESPONSE_NAMES = frozenset({"fastapi.Response", "starlette.responses.Response"})


def is_response_class(app: AppModel, qualname: str | None) -> bool:
    if not qualname:
        return False
    names = (qualname, *app.class_bases.get(qualname, ()))
    return any(n in RESPONSE_NAMES or n.startswith(RESPONSE_PREFIXES) for n in names)
