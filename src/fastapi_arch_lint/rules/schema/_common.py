"""Helpers shared by the schema rules."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import iter_calls_to
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.analysis.names import identifiers
from fastapi_arch_lint.model.app import AppModel, Column, Function, Table
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, FStr, Name, walk
from fastapi_arch_lint.model.paths import is_test_path


def own_field_names(app: AppModel, table: Table) -> set[str]:
    """Names assigned in the table class body itself (not inherited from a mixin)."""
    entry = app.classes.get(table.qualname)
    return {f.name for f in entry[1].fields} if entry else {c.name for c in table.columns}


def column_loc(app: AppModel, table: Table, col: Column) -> tuple[int, int, str]:
    """Where to report a column: its own line, or the class line when it comes from a mixin."""
    if col.name in own_field_names(app, table):
        return col.line, col.col, ""
    return table.line, 1, " (inherited from a base class)"


def is_migration_module(app: AppModel, module: str, path: str) -> bool:
    """An Alembic migration script: a module with ``revision = "..."`` and a ``down_revision`` (or kept
    under a ``versions/`` folder). Its tables are frozen copies of the schema and its queries one-off
    data fixes, not what the application declares or runs."""
    if isinstance(app.constants.get(f"{module}.revision"), str) and (
            f"{module}.down_revision" in app.constants or "versions" in path.replace("\\", "/").split("/")):
        return True
    # beside the scripts, in the Alembic environment: frozen copies of old tables for data migrations
    # (``migrations/deprecated_models.py``, ``migrations/data_migrations/...``)
    folders = path.replace("\\", "/").split("/")[:-1]
    envs = memo(app, alembic_environments)
    return any("/".join(folders[:i]) in envs for i in range(1, len(folders) + 1))


def alembic_environments(app: AppModel) -> frozenset[str]:
    """Folders that hold an Alembic environment: an ``env.py`` beside a ``versions/`` folder of scripts."""
    paths = [m.path.replace("\\", "/") for m in app.modules]
    with_versions = {p.rsplit("/versions/", 1)[0] for p in paths if "/versions/" in p}
    return frozenset(d for d in (p.rpartition("/")[0] for p in paths if p.endswith("/env.py")) if d in with_versions)


def in_migration(app: AppModel, table: Table) -> bool:
    """A class mapped inside a migration script (``is_migration_module``)."""
    entry = app.classes.get(table.qualname)
    module = table.qualname[: -len(entry[1].qualname) - 1] if entry else table.qualname.rpartition(".")[0]
    return is_migration_module(app, module, table.path)


def schema_tables(app: AppModel) -> list[Table]:
    """The tables the application declares (migration scripts' copies left out)."""
    return [t for t in app.tables if not in_migration(app, t)]


def name_words(name: str) -> list[str]:
    """``EmailVerificationToken`` / ``email_verification_tokens`` -> ``["email", "verification", "token(s)"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w for w in spaced.lower().split("_") if w]


def snake(name: str) -> str:
    """``OrderLine`` -> ``order_line``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def checked_functions(app: AppModel) -> Iterator[Function]:
    """The project's functions whose queries count: tests and migration scripts (one-off data fixes) do not."""
    for fn in app.functions.values():
        if not is_test_path(fn.path) and not is_migration_module(app, fn.module, fn.path):
            yield fn


# ``Model.col.in_(...)``: a comparison written as a method
COMPARE_METHODS = frozenset({"in_", "not_in", "notin_", "is_", "is_not", "isnot", "between", "any_"})
QUERY_STARTS = frozenset({"query", "select", "exists", "update", "delete"})


def _class_attr(e: Expr) -> tuple[str, str] | None:
    """``Order.customer_id`` (an attribute of a capitalised name: a mapped column in a query)."""
    if isinstance(e, Attr) and isinstance(e.value, Name) and e.value.id[:1].isupper():
        return e.value.id, e.attr
    return None


def query_model(call: Call) -> str | None:
    """The model a ``session.query(Model)...filter_by(...)`` / ``select(Model)...filter_by(...)`` chain starts from."""
    e: Expr = call.func
    for _ in range(12):
        if isinstance(e, Attr):
            e = e.value
        elif isinstance(e, Call):
            if callee(e) in QUERY_STARTS and e.args and isinstance(e.args[0], Name):
                return e.args[0].id
            e = e.func
        else:
            return None
    return None


def column_lookups(app: AppModel) -> dict[tuple[str, str], tuple[Function, ...]]:
    """(class name, column) pairs the project's code compares or filters on, with the functions that do:
    ``Order.customer_id == x``, ``Order.customer_id.in_(ids)``, ``query(Order).filter_by(customer_id=x)``.
    Tests and migration scripts (``is_migration_module``: one-off data fixes) do not count."""
    return memo(app, _column_lookups)


def value_lookups(app: AppModel) -> dict[tuple[str, str], tuple[Function, ...]]:
    """The (class name, column) pairs of ``column_lookups`` that look rows up by a value: a join condition
    between two mapped columns (``Child.parent_id == Parent.id``) is left out (the direction it runs in, and so
    whether an index on either side serves it, is the planner's), and so are one-off scripts (a ``scripts/``
    folder: backfills)."""
    return memo(app, _value_lookups)


def _value_lookups(app: AppModel) -> dict[tuple[str, str], tuple[Function, ...]]:
    out = {pair: tuple(fn for fn in fns if "scripts" not in fn.path.replace("\\", "/").split("/")[:-1])
           for pair, fns in memo(app, _lookups_by_value).items()}
    return {pair: fns for pair, fns in out.items() if fns}


def _lookups_by_value(app: AppModel) -> dict[tuple[str, str], tuple[Function, ...]]:
    return memo(app, _lookups)[1]


def _column_lookups(app: AppModel) -> dict[tuple[str, str], tuple[Function, ...]]:
    return memo(app, _lookups)[0]


def _lookups(app: AppModel) -> tuple[dict[tuple[str, str], tuple[Function, ...]], dict[tuple[str, str], tuple[Function, ...]]]:
    """One pass over the project's functions: the columns each compares or filters on (join conditions
    included), and those it looks rows up by with a value (``Child.parent_id == Parent.id`` left out)."""
    every: dict[tuple[str, str], list[Function]] = {}
    by_value: dict[tuple[str, str], list[Function]] = {}
    for fn in checked_functions(app):
        pairs: set[tuple[str, str]] = set()
        valued: set[tuple[str, str]] = set()
        for cmp in fn.fact.compares:
            join = bool(_class_attr(_unwrapped(cmp.left)) and _class_attr(_unwrapped(cmp.right)))
            for side in (cmp.left, cmp.right):
                # ``Model.col == x``, ``func.lower(Model.col) == x``
                for e in (side, *side.args) if isinstance(side, Call) else (side,):
                    ca = _class_attr(e)
                    if ca:
                        pairs.add(ca)
                        if not join:
                            valued.add(ca)
        for site, _ in fn.calls:
            func = site.call.func
            if not isinstance(func, Attr):
                continue
            found: set[tuple[str, str]] = set()
            if func.attr in COMPARE_METHODS:
                ca = _class_attr(func.value)
                if ca:
                    found.add(ca)
            elif func.attr == "filter_by" and site.call.kwargs:
                model = query_model(site.call)
                if model:
                    found.update((model, k) for k, _ in site.call.kwargs if k)
            pairs |= found
            valued |= found
        for pair in pairs:
            every.setdefault(pair, []).append(fn)
        for pair in valued:
            by_value.setdefault(pair, []).append(fn)
    return ({k: tuple(v) for k, v in every.items()}, {k: tuple(v) for k, v in by_value.items()})


def _unwrapped(e: Expr) -> Expr:
    """``func.lower(Model.col)``: the column a one-argument call wraps."""
    return e.args[0] if isinstance(e, Call) and len(e.args) == 1 else e


def may_run(app: AppModel, fn: Function) -> bool:
    """Whether anything may run ``fn``: it is a route handler or decorated (a router's, a task queue's,
    a command line's registration), the project calls it (a call resolved to it, or an unresolved call
    of a callable of its name) or names it (a callback, a ``Depends(fn)``). False only when nothing in
    the project reaches it: dead code."""
    if fn.fact.decorators:
        return True
    live, names = memo(app, _reached)
    return fn.qualname in live or fn.fact.name in names


def _reached(app: AppModel) -> tuple[set[str], set[str]]:
    """Qualnames the project's calls resolve to and route handlers; names called without a resolved
    target or read as values (a callback passed on, a ``Depends(fn)`` default, an argument of a
    module-level registration)."""
    live: set[str] = {r.handler.qualname for r in app.iter_routes()}
    names: set[str] = set()
    for cc in iter_calls_to(app, lambda target: True):
        if cc.target is not None:
            live.add(cc.target)
        else:
            names.add(callee(cc.call))
        for arg in (*cc.call.args, *(v for _, v in cc.call.kwargs)):
            names.update(identifiers(arg))
    for fn in app.functions.values():
        if is_test_path(fn.path):
            continue
        # the names read in the body (attribute names too), less the callees of its resolved calls (the
        # call graph holds those)
        callees = {callee(site.call) for site, target in fn.calls if target is not None}
        names.update(fn.fact.names - callees - {fn.fact.name})
        for p in fn.fact.params:
            names.update(identifiers(p.default))
    return live, names


def callee(call: Call) -> str:
    """The name a call calls: ``f`` of ``f()`` and of ``service.f()``."""
    func = call.func
    return func.attr if isinstance(func, Attr) else func.id if isinstance(func, Name) else ""


# the database a project's code names: driver modules it imports and connection URLs it spells out
MYSQL_DRIVERS = frozenset({"pymysql", "aiomysql", "MySQLdb", "asyncmy", "mysql.connector", "mysqlx"})
OTHER_DRIVERS = frozenset({"psycopg2", "psycopg", "asyncpg", "aiosqlite", "sqlite3", "pysqlite2", "cx_Oracle",
                           "oracledb", "pyodbc", "pymssql", "aioodbc", "dmPython"})
_URL = re.compile(r"^\s*([a-z][a-z0-9]*)(?:\+[a-z0-9_]+)?://", re.I)
MYSQL_SCHEMES = frozenset({"mysql", "mariadb"})
OTHER_SCHEMES = frozenset({"postgres", "postgresql", "sqlite", "oracle", "mssql", "cockroachdb", "dm", "duckdb"})


def _shipped_exprs(app: AppModel) -> Iterator[tuple[Expr | None, str]]:
    """(expression, path) of what the shipped code (not its tests) assigns at module level, declares in class
    bodies, assigns in functions and passes in their calls."""
    for mod in app.modules:
        if not is_test_path(mod.path):
            for a in mod.facts.scope.assigns:
                yield a.value, mod.path
    for path, cls in app.classes.values():
        if not is_test_path(path):
            for f in cls.fields:
                yield f.value, path
    for fn in app.functions.values():
        if is_test_path(fn.path):
            continue
        for a in fn.fact.scope.assigns:
            yield a.value, fn.path
        for site, _ in fn.calls:
            yield site.call, fn.path


def _strings(app: AppModel) -> Iterator[tuple[str, str]]:
    """(text, path) of the string literals and f-string heads the code assigns, passes or declares."""
    for e, path in _shipped_exprs(app):
        for x in walk(e) if e is not None else ():
            if isinstance(x, Const) and isinstance(x.value, str):
                yield x.value, path
            elif isinstance(x, FStr) and x.parts and isinstance(x.parts[0], str):
                yield x.parts[0], path


# a URL builder's dialect argument: ``MultiHostUrl.build(scheme="mysql+pymysql", ...)`` (pydantic),
# ``URL.create(drivername="mysql+asyncmy", ...)`` (SQLAlchemy)
_SCHEME_KWARGS = ("scheme", "drivername")
_DIALECT = re.compile(r"^\s*([a-z][a-z0-9]*)(?:\+[a-z0-9_]+)?\s*$", re.I)


def _built_schemes(app: AppModel) -> Iterator[tuple[str, str]]:
    """(dialect text, path) of the URL builders the code calls with a literal scheme: a ``scheme=`` or
    ``drivername=`` keyword, or the first argument of ``URL.create(...)``."""
    for e, path in _shipped_exprs(app):
        for x in walk(e) if e is not None else ():
            if not isinstance(x, Call):
                continue
            values = [v for k, v in x.kwargs if k in _SCHEME_KWARGS]
            if x.args and isinstance(x.func, Attr) and x.func.attr == "create" and _last_name(x.func.value) == "URL":
                values.append(x.args[0])
            for v in values:
                if isinstance(v, Const) and isinstance(v.value, str) and _DIALECT.match(v.value):
                    yield v.value.strip(), path


def _last_name(e: Expr) -> str:
    return e.attr if isinstance(e, Attr) else e.id if isinstance(e, Name) else ""


def _mysql_only(app: AppModel) -> str | None:
    mysql: str | None = None
    for mod in app.modules:
        if is_test_path(mod.path):
            continue
        for imp in mod.facts.imports:
            full = f"{imp.module}.{imp.name}" if imp.name else imp.module
            if any(full == d or full.startswith(d + ".") for d in OTHER_DRIVERS):
                return None
            if mysql is None and any(full == d or full.startswith(d + ".") for d in MYSQL_DRIVERS):
                mysql = f"`{full.split('.')[0] if not full.startswith('mysql.') else 'mysql.connector'}` " \
                        f"imported in {mod.path}"
    for text, path in _strings(app):
        m = _URL.match(text)
        if m is None:
            continue
        scheme = m.group(1).lower()
        if scheme in OTHER_SCHEMES:
            return None
        if scheme in MYSQL_SCHEMES and mysql is None:
            mysql = f"a `{text.split('://', 1)[0]}://` URL in {path}"
    for text, path in _built_schemes(app):
        scheme = text.split("+", 1)[0].lower()
        if scheme in OTHER_SCHEMES:
            return None
        if scheme in MYSQL_SCHEMES and mysql is None:
            mysql = f"a URL built with the scheme `{text}` in {path}"
    return mysql


def mysql_database(app: AppModel) -> str | None:
    """The project's code names MySQL (or MariaDB) as its database and no other: a MySQL driver module it
    imports or a ``mysql+...://`` URL it spells out, with no PostgreSQL, SQLite, Oracle or SQL Server driver
    or URL anywhere. What says so (for the message), else None."""
    return memo(app, _mysql_only)
