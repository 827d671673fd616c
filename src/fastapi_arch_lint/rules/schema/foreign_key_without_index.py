"""FAL701 foreign-key-without-index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.findings import Confidence, Edit, Finding, Fix, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Column, Function, Loc, Table
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, Name, Seq, render, walk
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._house import detect, project_finding
from fastapi_arch_lint.rules._house import enabled as house_enabled
from fastapi_arch_lint.rules.schema._common import (
    callee, checked_functions, column_loc, column_lookups, mysql_database, query_model, schema_tables, snake,
    value_lookups)


def leading_columns(table: Table) -> set[str]:
    """Columns that lead some index: single PK, first PK column, first column of an index/unique group."""
    lead: set[str] = set()
    pk_cols = [c.name for c in table.columns if c.primary_key]
    if pk_cols:
        lead.add(pk_cols[0])
    for group in (*table.primary_key_groups, *table.unique_groups, *table.index_groups):
        if group:
            lead.add(group[0])
    for c in table.columns:
        if c.index or c.unique:
            lead.add(c.name)
    return lead


# Alembic operations that build an index or a key on a table: (table argument, columns argument)
MIGRATION_INDEXES = {"create_index": (1, 2), "create_unique_constraint": (1, 2), "create_primary_key": (1, 2)}


# raw SQL an ``upgrade()`` runs: ``CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON [ONLY] table
# [USING method] (first_column, ...)``; the table and the leading column, quotes and a schema dropped
CREATE_INDEX = re.compile(
    r'(?is)\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?[\w".]*\s*ON\s+'
    r'(?:ONLY\s+)?(?:"?\w+"?\.)?"?(\w+)"?\s*(?:USING\s+\w+\s*)?\(\s*"?(\w+)"?')


def migration_indexes(app: AppModel) -> frozenset[tuple[str, str]]:
    """(table name, leading column) of every index, unique constraint or primary key that an Alembic
    revision's ``upgrade()`` creates (``op.create_index("ix_t_c", "t", ["c"])``): a schema whose models
    lag its migrations has these indexes in the database although no model declares them."""
    return memo(app, _migration_indexes)


def _migration_indexes(app: AppModel) -> frozenset[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for fn in app.functions.values():
        if fn.fact.name != "upgrade":
            continue  # a ``downgrade()`` creates what a later revision had dropped
        for site, target in fn.calls:
            func = site.call.func
            if isinstance(func, Attr) and func.attr == "execute":  # ``op.execute(text("CREATE INDEX ... ON t (c)"))``
                sql = site.call.arg(0, "sqltext")
                if isinstance(sql, Call) and sql.args:
                    sql = sql.args[0]
                if isinstance(sql, Const) and isinstance(sql.value, str):
                    out.update((m.group(1).lower(), m.group(2).lower()) for m in CREATE_INDEX.finditer(sql.value))
                continue
            # ``op.create_index``: resolved to alembic's, or unresolved when the project's own ``alembic/``
            # folder (its env.py and versions) shadows the library's name
            if not isinstance(func, Attr) or func.attr not in (*MIGRATION_INDEXES, "create_table"):
                continue
            if not (target.startswith("alembic.") if target else isinstance(func.value, Name) and func.value.id == "op"):
                continue
            if func.attr == "create_table":  # ``op.create_table("t", sa.Column(...), sa.Index("ix", "c"), ...)``
                out.update(_created_table_indexes(site.call))
                continue
            at_table, at_cols = MIGRATION_INDEXES[func.attr]
            table = site.call.arg(at_table, "table_name")
            cols = site.call.arg(at_cols, "columns")
            if not isinstance(table, Const) or not isinstance(table.value, str) or not isinstance(cols, Seq):
                continue
            if cols.items and isinstance(cols.items[0], Const) and isinstance(cols.items[0].value, str):
                out.add((table.value, cols.items[0].value))
    return frozenset(out)


def _created_table_indexes(call: Call) -> set[tuple[str, str]]:
    """(table, leading column) of the indexes an ``op.create_table`` call declares: ``sa.Index(name, col)``,
    ``sa.UniqueConstraint(col, ...)``, ``sa.PrimaryKeyConstraint(col, ...)`` and columns with ``index=True``,
    ``unique=True`` or ``primary_key=True``."""
    table = call.args[0] if call.args else None
    if not isinstance(table, Const) or not isinstance(table.value, str):
        return set()
    out: set[tuple[str, str]] = set()
    for item in call.args[1:]:
        if not isinstance(item, Call):
            continue
        kind = item.func.attr if isinstance(item.func, Attr) else item.func.id if isinstance(item.func, Name) else ""
        at = {"Index": 1, "UniqueConstraint": 0, "PrimaryKeyConstraint": 0, "Column": 0}.get(kind)
        if at is None or len(item.args) <= at:
            continue
        if kind == "Column" and not any(k in ("index", "unique", "primary_key") and isinstance(v, Const) and v.value is True
                                        for k, v in item.kwargs):
            continue
        col = item.args[at]
        if isinstance(col, Const) and isinstance(col.value, str):
            out.add((table.value, col.value))
    return out


# raw SQL an ``upgrade()`` runs that creates or drops a table: ``CREATE TABLE [IF NOT EXISTS] t`` /
# ``DROP TABLE [IF EXISTS] t`` (quotes and a schema dropped)
TABLE_DDL = re.compile(r'(?is)\b(CREATE|DROP)\s+TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:"?\w+"?\.)?"?(\w+)"?')
# ``ALTER TABLE t_new RENAME TO t``: SQLite's table rebuild (create a copy, drop the table, rename the copy)
RENAME_DDL = re.compile(r'(?is)\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?:"?\w+"?\.)?"?(\w+)"?\s+'
                        r'RENAME\s+TO\s+(?:"?\w+"?\.)?"?(\w+)"?')


def dropped_tables(app: AppModel) -> frozenset[str]:
    """The tables the project's Alembic revisions drop in an ``upgrade()`` and no revision creates again
    after (``op.drop_table("t")``, ``op.rename_table("t", ...)``, ``DROP TABLE t``): a model of such a
    table is stale, there is no table in the database to index. "After" follows the revisions'
    ``revision``/``down_revision``; when some revision that drops or creates the table has no literal
    ``revision``, the table counts as dropped only when it is dropped more often than it is created.
    A table created in a revision on another branch than the drop is not known to be gone."""
    return memo(app, _dropped_tables)


def _dropped_tables(app: AppModel) -> frozenset[str]:
    # (table) -> [(kind "create" | "drop", module, line)]
    events: dict[str, list[tuple[str, str, int]]] = {}
    for fn in app.functions.values():
        if fn.fact.name != "upgrade":
            continue  # a ``downgrade()`` re-creates what its ``upgrade()`` dropped
        for site, target in fn.calls:
            for kind, table in _table_events(site.call, target):
                events.setdefault(table.lower(), []).append((kind, fn.module, site.pos.line))
    if not any(kind == "drop" for evs in events.values() for kind, _, _ in evs):
        return frozenset()
    revisions, parents = _revisions(app)
    out: set[str] = set()
    for table, evs in events.items():
        drops = [(revisions.get(m), line) for kind, m, line in evs if kind == "drop"]
        creates = [(revisions.get(m), line) for kind, m, line in evs if kind == "create"]
        if not drops:
            continue
        if any(rev is None for rev, _ in (*drops, *creates)):
            if len(drops) > len(creates):  # the order cannot be worked out: count
                out.add(table)
            continue
        # some drop comes after every create: each create is in an earlier revision (an ancestor of the
        # drop's) or earlier in the drop's own revision
        if any(all(_before(parents, c, d) for c in creates) for d in drops):
            out.add(table)
    return frozenset(out)


def _before(parents: dict[str, tuple[str, ...]], first: tuple[str | None, int], then: tuple[str | None, int]) -> bool:
    if first[0] == then[0]:
        return first[1] < then[1]
    seen: set[str] = set()
    stack = list(parents.get(then[0] or "", ()))
    while stack:
        rev = stack.pop()
        if rev == first[0]:
            return True
        if rev not in seen:
            seen.add(rev)
            stack.extend(parents.get(rev, ()))
    return False


def _revisions(app: AppModel) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Each module's literal Alembic ``revision``, and each revision's ``down_revision``s."""
    revisions: dict[str, str] = {}
    parents: dict[str, tuple[str, ...]] = {}
    for mod in app.modules:
        values = {a.target: a.value for a in mod.facts.scope.assigns if a.target in ("revision", "down_revision")}
        rev = values.get("revision")
        if not isinstance(rev, Const) or not isinstance(rev.value, str):
            continue
        revisions[mod.name] = rev.value
        down = values.get("down_revision")
        items = down.items if isinstance(down, Seq) else (down,)
        parents[rev.value] = tuple(i.value for i in items if isinstance(i, Const) and isinstance(i.value, str))
    return revisions, parents


def _table_events(call: Call, target: str | None) -> list[tuple[str, str]]:
    """("create" | "drop", table) of one call in an ``upgrade()``."""
    func = call.func
    if isinstance(func, Attr) and func.attr == "execute":
        sql = call.arg(0, "sqltext")
        if isinstance(sql, Call) and sql.args:
            sql = sql.args[0]
        if not isinstance(sql, Const) or not isinstance(sql.value, str):
            return []
        found = [(m.start(), m.group(1).lower(), m.group(2)) for m in TABLE_DDL.finditer(sql.value)]
        for m in RENAME_DDL.finditer(sql.value):  # the old name is gone, the new one made
            found += [(m.start(), "drop", m.group(1)), (m.start(), "create", m.group(2))]
        return [(kind, table) for _, kind, table in sorted(found, key=lambda f: f[0])]
    if not isinstance(func, Attr) or func.attr not in ("create_table", "drop_table", "rename_table"):
        return []
    if not (target.startswith("alembic.") if target else isinstance(func.value, Name) and func.value.id == "op"):
        return []

    def name(at: int, key: str) -> str | None:
        e = call.arg(at, key)
        return e.value if isinstance(e, Const) and isinstance(e.value, str) else None

    if func.attr == "rename_table":  # the old name is gone, the new one made
        old, new = name(0, "old_table_name"), name(1, "new_table_name")
        return [*([("drop", old)] if old else []), *([("create", new)] if new else [])]
    table = name(0, "table_name")
    return [("create" if func.attr == "create_table" else "drop", table)] if table else []


def _scoping(table: Table, group: tuple[str, ...]) -> set[str]:
    """The columns of the composite key ``group`` that another foreign-key constraint of the table also holds:
    a tenant's ``project_id`` in ``(project_id)`` -> projects and ``(project_id, parent_id)`` -> folders scopes
    the rows, it does not find a parent's."""
    return {c for c in group if any(c in g for g in table.foreign_key_groups if g != group)}


def _serves_composite(app: AppModel, tables: list[Table], table: Table, group: tuple[str, ...], lead: set[str],
                      migrated: frozenset[tuple[str, str]]) -> bool:
    """Whether an index serves lookups by the composite foreign key ``group``: one whose first columns are
    the key's columns (in any order), or one that starts with a key column that is not a scoping column
    (``_scoping``), or with one that alone identifies the parent row (it references the parent's
    single-column primary key or a unique column)."""
    k = len(group)
    pk_cols = tuple(c.name for c in table.columns if c.primary_key)
    for g in (pk_cols, *table.primary_key_groups, *table.unique_groups, *table.index_groups):
        if len(g) >= k and set(g[:k]) == set(group):
            return True
    scoping = _scoping(table, group)
    for name in group:
        if name not in lead and (table.tablename, name) not in migrated:
            continue
        if name not in scoping:
            return True
        col = table.column(name)
        fk = col.foreign_key if col is not None else None
        parent = _target_table(app, tables, fk or "")
        target = (fk or "").rsplit(".", 1)[-1]
        pc = parent.column(target) if parent is not None else None
        if parent is not None and ((pc is not None and pc.unique) or (target,) in parent.unique_groups
                                   or [c.name for c in parent.columns if c.primary_key] == [target]):
            return True
    return False


# a parent delete or key update that changes the child rows: the database finds them by the key
ROW_ACTIONS = frozenset({"CASCADE", "SET NULL", "SET DEFAULT"})
# a column that marks rows deleted instead of removing them (own or inherited from a base class)
SOFT_DELETE_COLUMNS = frozenset({"deleted_at", "is_deleted", "deleted", "removed_at"})


def compared_columns(app: AppModel) -> dict[tuple[str, str], tuple[Function, ...]]:
    """(class name, column) pairs the project's code filters on by a value (``value_lookups``: not join
    conditions, not one-off scripts)."""
    return value_lookups(app)


def _target_table(app: AppModel, tables: list[Table], fk: str) -> Table | None:
    """The table a foreign key's ``"parents.id"`` / ``"schema.parents.id"`` / ``Parent.id`` names, among
    the application's tables (``tables`` is ``schema_tables(app)``)."""
    head = fk.rsplit(".", 1)[0].split(".")[-1] if "." in fk else fk
    exact, loose = memo(app, _table_heads)
    return exact.get(head) or loose.get(head)


def _table_heads(app: AppModel) -> tuple[dict[str, Table], dict[str, Table]]:
    """The first table each name answers to: its ``__tablename__`` or class name, else (without a
    ``__tablename__``) its snake-cased or lower-cased class name."""
    exact: dict[str, Table] = {}
    loose: dict[str, Table] = {}
    for t in schema_tables(app):
        for key in (t.tablename, t.name):
            if key is not None:
                exact.setdefault(key, t)
        if t.tablename is None:
            loose.setdefault(snake(t.name), t)
            loose.setdefault(t.name.lower(), t)
    return exact, loose


def _through(text: str, col: str) -> bool:
    return not text or re.search(rf"\b{re.escape(col)}\b", text) is not None


def _class_names(e: Expr | None) -> set[str]:
    """The class names an annotation names: ``Parent``, ``models.Parent``, ``"Parent"``, ``Parent | None``,
    ``Optional[Parent]``."""
    out: set[str] = set()
    for x in walk(e):
        if isinstance(x, Name):
            out.add(x.id)
        elif isinstance(x, Attr):
            out.add(x.attr)
        elif isinstance(x, Const) and isinstance(x.value, str):
            out.add(x.value.rsplit(".", 1)[-1])
    return out


def _class_words(name: str) -> set[str]:
    """What a variable holding a ``name`` row is usually called: ``case_priority`` for ``CasePriority``
    (``recipe`` for ``RecipeModel`` too)."""
    words = snake(name)
    return {words, words.removesuffix("_model"), words.removesuffix("_orm")} - {""}


def attribute_holders(app: AppModel) -> dict[str, set[str]]:
    """For each attribute name the project's code reads, what it reads it from: the class name for a
    class attribute (``selectinload(Parent.children)``, ``.join(Parent.children)``), the segment before
    it (``severity.incidents`` -> ``severity``), and the class a parameter is annotated with or a method
    belongs to (``def f(p: Parent): p.children``, ``self.children`` in a method of ``Parent``)."""
    return memo(app, _attribute_holders)


def _attribute_holders(app: AppModel) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for fn in checked_functions(app):
        typed = {p.name: _class_names(p.annotation) for p in fn.fact.params if p.annotation is not None}
        if fn.class_name:
            typed["self"] = {fn.class_name.rsplit(".", 1)[-1]}
        for chain in fn.fact.attributes:
            parts = chain.split(".")
            holders = out.setdefault(parts[-1], set())
            holders.add(parts[-2])
            if len(parts) == 2 and parts[0] in typed:
                holders.update(typed[parts[0]])
    return out


def backref_read(app: AppModel, parent: Table, backref: str) -> bool:
    """Whether the project's code reads the backref ``parent.<backref>`` (only then does it load the
    child rows through the key): through the class (a loader option, a join, ``.any()``), through a
    variable named for the parent class or a relationship that holds a parent row, through a parameter
    annotated with the parent class or ``self`` in its methods, or through a Pydantic model named for the
    parent that has a field of that name (a response that serialises the rows)."""
    holders = attribute_holders(app).get(backref, set())
    names = {parent.name} | _class_words(parent.name)
    names |= {r.name for t in schema_tables(app) for r in t.relationships
              if r.target.rsplit(".", 1)[-1] == parent.name}
    if holders & names:
        return True
    stem = parent.name.removesuffix("Model")
    return any(m.name.startswith(stem) and m.field(backref) is not None for m in app.models)


def hard_deleted(app: AppModel) -> set[str]:
    """Class names whose rows the project's code deletes: ``session.delete(row)`` of a row of that class
    (a parameter annotated with it, or a variable named for it), ``delete(Model)`` statements and
    ``query(Model)...delete()``. A delete whose row's class cannot be told counts for no class."""
    return memo(app, _hard_deleted)


def _hard_deleted(app: AppModel) -> set[str]:
    out: set[str] = set()
    words: dict[str, str] = {}
    for t in schema_tables(app):
        for w in _class_words(t.name):
            words.setdefault(w, t.name)
    for fn in checked_functions(app):
        typed = {p.name: _class_names(p.annotation) for p in fn.fact.params if p.annotation is not None}
        # ``for account in user.oauth_accounts: session.delete(account)``: the rows of a relationship, whose
        # class the loop variable's name does not tell (an ``account`` of ``oauth_accounts`` is no ``Account``)
        looped = {b.target.id for b in fn.fact.scope.blocks
                  if b.kind == "for" and isinstance(b.target, Name) and isinstance(b.test, Attr)}
        for site, _ in fn.calls:
            call = site.call
            if callee(call) != "delete":
                continue
            if isinstance(call.func, Attr) and not call.args:
                model = query_model(call)  # session.query(Model).filter(...).delete()
                if model:
                    out.add(model)
            elif len(call.args) == 1 and not call.kwargs and isinstance(call.args[0], Name):
                arg = call.args[0].id  # session.delete(row) / delete(Model)
                out.add(arg)
                out.update(typed.get(arg, ()))
                if arg in words and arg not in looped:
                    out.add(words[arg])
    return out


def soft_deleted(app: AppModel, table: Table) -> bool:
    """The table marks rows deleted instead of removing them: a ``deleted_at`` / ``is_deleted`` column of
    its own or assigned in a project base class (an abstract declarative base or a mixin, whose columns
    the table's column list may not show)."""
    if any(c.name in SOFT_DELETE_COLUMNS for c in table.columns):
        return True
    for base in app.class_bases.get(table.qualname, ()):
        entry = app.classes.get(base)
        if entry is not None and any(f.name in SOFT_DELETE_COLUMNS for f in entry[1].fields):
            return True
    return False


def filtering(app: AppModel, table: Table, col: Column, compared: dict[tuple[str, str], tuple[Function, ...]],
              leading: tuple[str, ...] = ()) -> tuple[Function, ...]:
    """The functions that filter ``table`` by ``col`` by a value, less those that also name the leading column
    of a composite key or index ``col`` sits in (``case_id == ... and platform_user_id == me`` is served by
    the index on ``(case_id, platform_user_id)``)."""
    fns = compared.get((table.name, col.name), ())
    if leading:
        named = column_lookups(app)
        fns = tuple(fn for fn in fns if not any(fn in named.get((table.name, lead), ()) for lead in leading))
    return fns


def use_of(app: AppModel, tables: list[Table], table: Table, col: Column,
           compared: dict[tuple[str, str], tuple[Function, ...]], leading: tuple[str, ...] = ()) -> str | None:
    """Why rows of ``table`` are looked up by ``col`` (so its index matters), or None when nothing says so.
    The strongest reason first: a relationship that loads rows through it (on every read of the parent),
    a query on it, a backref the code reads, then a cascade (only when a parent is deleted)."""
    parent = _target_table(app, tables, col.foreign_key or "")
    if parent is not None:
        back_fk = any(c.foreign_key and _target_table(app, tables, c.foreign_key) is table for c in parent.columns)
        for r in parent.relationships:
            if r.target != table.name or r.secondary:
                continue
            if parent is table and r.remote_side and not _through(r.remote_side, col.name):
                continue  # ``remote_side=[id]``: the self-reference is many-to-one, loaded by the primary key
            via = f"{r.foreign_keys} {r.primaryjoin}".strip()
            if (via and _through(via, col.name)) or (not via and not back_fk):
                kind = "one-to-one" if r.uselist is False else "collection"
                return f"`{parent.name}.{r.name}` loads its {kind} through it"
    fns = filtering(app, table, col, compared, leading)
    if fns:
        more = f" and {len(fns) - 1} more" if len(fns) > 1 else ""
        return f"the project's queries filter on it (`{_local(fns[0])}` in {fns[0].path}{more})"
    if parent is not None:
        for r in table.relationships:
            if r.target == parent.name and r.backref and not r.secondary and _through(
                    f"{r.foreign_keys} {r.primaryjoin}".strip(), col.name) and backref_read(app, parent, r.backref):
                return f"the backref `{parent.name}.{r.backref}`, which the code reads, loads its rows through it"
    if col.ondelete in ROW_ACTIONS and not (
            parent is not None and soft_deleted(app, parent) and parent.name not in hard_deleted(app)):
        return f"`ondelete=\"{col.ondelete}\"` makes every delete of a parent find its rows by it"
    for t in tables:
        for r in t.relationships:
            if r.secondary and r.secondary.split(".")[-1] in (table.tablename, table.name):
                return f"`{t.name}.{r.name}` joins through this association table"
    return None


def _local(fn: Function) -> str:
    """``CheckoutService.list`` of ``polar.checkout.service.CheckoutService.list``."""
    return fn.qualname[len(fn.module) + 1:] if fn.qualname.startswith(fn.module + ".") else fn.qualname


# the calls that declare a column and take ``index=True``
COLUMN_CALLS = frozenset({"Column", "mapped_column", "Field"})


def _fix(app: AppModel, table: Table, col: Column) -> Fix | None:
    """``index=True`` on the column's own ``Column(...)`` / ``mapped_column(...)`` / SQLModel ``Field(...)``
    in the class body. Unsafe: the schema changes (a migration must create the index)."""
    entry = app.classes.get(table.qualname)
    field = next((f for f in entry[1].fields if f.name == col.name), None) if entry else None
    call = field.value if field is not None else None
    if not isinstance(call, Call) or call.starred or (field.pos.line, field.pos.col) != (col.line, col.col):
        return None
    name = call.func.attr if isinstance(call.func, Attr) else call.func.id if isinstance(call.func, Name) else ""
    if name not in COLUMN_CALLS or call.kwarg("sa_column") is not None:
        return None  # SQLModel's ``Field(sa_column=...)`` refuses ``index=``
    return Fix("add `index=True` to the column",
               (Edit("keyword", table.path, col.line, col.col, "index", "True", callee=render(call.func)),),
               safe=False)


# a schema with fewer foreign keys than this has no indexing policy to speak of: each key is its own finding
HOUSE_MINIMUM = 20


# the end of a finding on a key no use of was seen, and why an index is asked for
_UNUSED = ("; no use of it was seen (no cascade, no relationship loading through it, no query on it), "
           "so it matters only if the parent rows are deleted or the table is queried by it")
_WHY_INDEX = ("in `__table_args__`: PostgreSQL and SQLite do not index foreign keys, so joins on it and "
              "`ON DELETE` checks on the parent scan the whole table")


@register
class ForeignKeyWithoutIndex(Rule):
    code = "FAL701"
    name = "foreign-key-without-index"
    summary = "A foreign-key column has no index that starts with it (joins and cascades scan the table)"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "when nothing in the project uses the key: no `ondelete` cascade, no "
                                       "relationship loading rows through it, no query filtering on it; and once "
                                       "per project when the schema indexes none of its used keys (house style); and, with low confidence, "
                                       "when the project's database is MySQL (InnoDB indexes foreign keys itself)"}

    default_options = {"house_style": True}

    def check(self, app: AppModel) -> Iterator[Finding]:
        compared = compared_columns(app)
        tables = schema_tables(app)
        migrated = migration_indexes(app)
        gone = dropped_tables(app)
        indexed = 0
        found: list[tuple[Finding, str | None, str]] = []  # (finding, use, label)
        for table in tables:
            if table.constraints_unknown:
                continue  # its indexes are built where the linker cannot read them
            if (table.tablename or (table.name if table.kind == "sqlmodel" else "")).lower() in gone:
                continue  # a revision drops the table and none creates it again: a stale model, no table
            lead = leading_columns(table)
            pk_cols = [c.name for c in table.columns if c.primary_key]
            # a composite key is looked up by all its columns: an index that starts with any one of them
            # serves it, and it is judged (and reported) once, as a whole
            composite: dict[str, list[tuple[str, ...]]] = {}
            for g in table.foreign_key_groups:
                for c in g if len(g) > 1 else ():
                    composite.setdefault(c, []).append(g)
            judged: set[tuple[str, ...]] = set()
            for col in table.columns:
                if not col.foreign_key:
                    continue
                if col.name in composite:
                    for group in composite[col.name]:
                        if group in judged:
                            continue
                        judged.add(group)
                        if _serves_composite(app, tables, table, group, lead, migrated):
                            indexed += 1
                        else:
                            found.append(self._composite(app, tables, table, group, compared))
                    if (col.name,) not in table.foreign_key_groups:
                        continue  # (a column with a key of its own is judged alone below as well)
                if col.name in lead or (table.tablename, col.name) in migrated:
                    indexed += 1  # (an Alembic revision may create the index the model does not declare)
                    continue
                line, column, inherited = column_loc(app, table, col)
                where = table.tablename or table.name
                leading: tuple[str, ...] = ()
                if col.primary_key and len(pk_cols) > 1:
                    leading = (pk_cols[0],)
                    why = (f"is only the non-leading column of the composite primary key "
                           f"({', '.join(pk_cols)}), which cannot serve lookups by it")
                else:
                    groups = [g for g in (*table.primary_key_groups, *table.unique_groups, *table.index_groups)
                              if col.name in g[1:]]
                    if groups:
                        leading = tuple(g[0] for g in groups)
                        why = (f"is only a non-leading column of ({', '.join(groups[0])}), "
                               "which cannot serve lookups by it")
                    else:
                        why = "has no `index=True` and no index or unique constraint starts with it"
                use = use_of(app, tables, table, col, compared, leading)
                tail = f"; {use}" if use else _UNUSED
                found.append((self.finding(
                    table.path, line, column,
                    f"foreign key `{table.name}.{col.name}` -> `{col.foreign_key}`{inherited} {why}{tail}",
                    severity=None if use else Severity.INFO,
                    confidence=None if use else Confidence.MEDIUM,
                    help=f"add `index=True` to the column, or an `Index(\"ix_{where}_{col.name}\", \"{col.name}\")` "
                         + _WHY_INDEX,
                    related=(Related(table.path, table.line, f"table `{where}`"),
                             *(Related(fn.path, fn.fact.pos.line, f"`{_local(fn)}` filters "
                                                                  f"`{table.name}` by `{col.name}`")
                               for fn in filtering(app, table, col, compared, leading)[:3])),
                    entity=f"{table.qualname}.{col.name}",
                    fix=_fix(app, table, col) if use and not inherited else None,
                ), use, f"`{table.name}.{col.name}`"))
        yield from self._report(self._mysql(app, found), indexed, mysql_database(app))

    def _composite(self, app: AppModel, tables: list[Table], table: Table, group: tuple[str, ...],
                   compared: dict[tuple[str, str], tuple[Function, ...]]) -> tuple[Finding, str | None, str]:
        """The finding for a composite foreign key no index starts with a column of, at its first column."""
        cols = [c for c in (table.column(n) for n in group) if c is not None]
        # at the first column that is the key's own (not a scoping column) and declared in the class itself
        scoping = _scoping(table, group)
        at = next((c for c in cols if c.name not in scoping and not column_loc(app, table, c)[2]), cols[0])
        line, column, inherited = column_loc(app, table, at)
        where = table.tablename or table.name
        use = next((u for u in (use_of(app, tables, table, c, compared) for c in cols) if u), None)
        tail = f"; {use}" if use else _UNUSED
        label = f"`{table.name}({', '.join(group)})`"
        targets = ", ".join(f"`{c.foreign_key}`" for c in cols)
        quoted = ", ".join(f'"{n}"' for n in group)
        return (self.finding(
            table.path, line, column,
            f"composite foreign key {label} -> {targets}{inherited} has no index that serves it (none starts with "
            f"its columns, or with one of them that is not shared with the table's other keys){tail}",
            severity=None if use else Severity.INFO,
            confidence=None if use else Confidence.MEDIUM,
            help=f"add an `Index(\"ix_{where}_{'_'.join(group)}\", {quoted})` "
                 + _WHY_INDEX,
            related=(Related(table.path, table.line, f"table `{where}`"),),
            entity=f"{table.qualname}.{cols[0].name}",
        ), use, label)

    def _mysql(self, app: AppModel, found: list[tuple[Finding, str | None, str]]
               ) -> list[tuple[Finding, str | None, str]]:
        """On MySQL every finding is info: InnoDB creates an index on each foreign key column itself (when the
        constraint is created), so the scan the rule warns about does not happen there. Said why once, at the
        first; the others point to it."""
        evidence = mysql_database(app)
        if evidence is None or not found:
            return found
        first = found[0][2]
        out = []
        for i, (f, use, label) in enumerate(found):
            why = (f"; but the project's database is MySQL ({evidence}), whose InnoDB engine creates an index on "
                   "every foreign key column when the constraint is created, so lookups by it do not scan the table "
                   "there (it matters only if the schema is also run on PostgreSQL or SQLite)") if i == 0 else (
                f"; MySQL indexes foreign keys itself, as said at {first}")
            out.append((replace(f, message=f.message + why, severity=Severity.INFO, confidence=Confidence.LOW,
                                fix=None), use, label))
        return out

    def _report(self, found: list[tuple[Finding, str | None, str]], indexed: int,
                mysql: str | None = None) -> Iterator[Finding]:
        house = (detect(["indexed"] * indexed + ["unindexed"] * len(found), minimum=HOUSE_MINIMUM)
                 if house_enabled(self.options) else None)
        if house is None or house.style != "unindexed":
            for f, _, _ in found:
                yield f
            return
        # the schema indexes (almost) none of its foreign keys: one decision, said once with the places that
        # matter (the keys something loads, filters or cascades through); there are no outliers to flag
        used = [(f, use, label) for f, use, label in found if use]
        places = [(Loc(f.path, f.line, f.column), f"{label}: {use}" if use else label) for f, use, label in (used or found)]
        unused = len(found) - len(used)
        yield project_finding(
            self, house, places,
            f"this schema indexes {indexed} of its {house.total} foreign keys; {len(used)} of the {len(found)} "
            f"without an index are used (relationships load rows through them, queries filter on them, or "
            f"parent deletes cascade through them)"
            + (f", {unused} are not used anywhere seen" if unused else "")
            + " (judged as the house style: each key is reported on its own only when most keys are indexed)"
            + (f"; but the project's database is MySQL ({mysql}), whose InnoDB engine indexes every foreign key "
               "column itself" if mysql else ""),
            help="PostgreSQL and SQLite do not index foreign keys: add `index=True` to the keys listed (at least "
                 "those that load collections or cascade), or an `Index(...)` in `__table_args__`; set "
                 "`house_style = false` to see each key as its own finding",
            entity="unindexed-foreign-keys",
            severity=Severity.WARNING if used and mysql is None else Severity.INFO,
        )
