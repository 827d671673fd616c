"""FAL701 foreign-key-without-index."""

from __future__ import annotations

from collections.abc import Iterator

import re

from fastapi_arch_lint.analysis.calls import is_test_path
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Column, Table
from fastapi_arch_lint.model.expr import Attr, Call, Expr, Name
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.schema._common import column_loc, is_migration_module, schema_tables


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


# a parent delete or key update that changes the child rows: the database finds them by the key
ROW_ACTIONS = frozenset({"CASCADE", "SET NULL", "SET DEFAULT"})
# ``Model.col.in_(...)``: a comparison written as a method
COMPARE_METHODS = frozenset({"in_", "not_in", "notin_", "is_", "is_not", "isnot", "between", "any_"})
QUERY_STARTS = frozenset({"query", "select", "exists", "update", "delete"})


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _class_attr(e: Expr) -> tuple[str, str] | None:
    """``Order.customer_id`` (an attribute of a capitalised name: a mapped column in a query)."""
    if isinstance(e, Attr) and isinstance(e.value, Name) and e.value.id[:1].isupper():
        return e.value.id, e.attr
    return None


def _query_model(call: Call) -> str | None:
    """The model a ``session.query(Model)...filter_by(...)`` / ``select(Model)...filter_by(...)`` chain starts from."""
    e: Expr = call.func
    for _ in range(12):
        if isinstance(e, Attr):
            e = e.value
        elif isinstance(e, Call):
            fn = e.func
            name = fn.attr if isinstance(fn, Attr) else fn.id if isinstance(fn, Name) else ""
            if name in QUERY_STARTS and e.args and isinstance(e.args[0], Name):
                return e.args[0].id
            e = fn
        else:
            return None
    return None


def compared_columns(app: AppModel) -> set[tuple[str, str]]:
    """(class name, column) pairs the project's code compares or filters on: ``Order.customer_id == x``,
    ``Order.customer_id.in_(ids)``, ``query(Order).filter_by(customer_id=x)``. Tests and migration scripts
    (``is_migration_module``: one-off data fixes) do not count."""
    out: set[tuple[str, str]] = set()
    for fn in app.functions.values():
        if is_test_path(fn.path) or is_migration_module(app, fn.module, fn.path):
            continue
        for cmp in fn.fact.compares:
            for side in (cmp.left, cmp.right):
                ca = _class_attr(side)
                if ca:
                    out.add(ca)
        for site, _ in fn.calls:
            func = site.call.func
            if not isinstance(func, Attr):
                continue
            if func.attr in COMPARE_METHODS:
                ca = _class_attr(func.value)
                if ca:
                    out.add(ca)
            elif func.attr == "filter_by" and site.call.kwargs:
                model = _query_model(site.call)
                if model:
                    out.update((model, k) for k, _ in site.call.kwargs if k)
    return out


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
            loose.setdefault(_snake(t.name), t)
            loose.setdefault(t.name.lower(), t)
    return exact, loose


def _through(text: str, col: str) -> bool:
    return not text or re.search(rf"\b{re.escape(col)}\b", text) is not None


def use_of(app: AppModel, tables: list[Table], table: Table, col: Column,
           compared: set[tuple[str, str]]) -> str | None:
    """Why rows of ``table`` are looked up by ``col`` (so its index matters), or None when nothing says so."""
    if col.ondelete in ROW_ACTIONS:
        return f"`ondelete=\"{col.ondelete}\"` makes every delete of a parent find its rows by it"
    if (table.name, col.name) in compared:
        return "the project's queries filter or join on it"
    parent = _target_table(app, tables, col.foreign_key or "")
    if parent is not None:
        back_fk = any(c.foreign_key and _target_table(app, tables, c.foreign_key) is table for c in parent.columns)
        for r in parent.relationships:
            if r.target != table.name or r.secondary:
                continue
            via = f"{r.foreign_keys} {r.primaryjoin}".strip()
            if (via and _through(via, col.name)) or (not via and not back_fk):
                kind = "one-to-one" if r.uselist is False else "collection"
                return f"`{parent.name}.{r.name}` loads its {kind} through it"
        for r in table.relationships:
            if r.target == parent.name and r.backref and not r.secondary and _through(
                    f"{r.foreign_keys} {r.primaryjoin}".strip(), col.name):
                return f"the backref `{parent.name}.{r.backref}` loads its rows through it"
    for t in tables:
        for r in t.relationships:
            if r.secondary and r.secondary.split(".")[-1] in (table.tablename, table.name):
                return f"`{t.name}.{r.name}` joins through this association table"
    return None


@register
class ForeignKeyWithoutIndex(Rule):
    code = "FAL701"
    name = "foreign-key-without-index"
    summary = "A foreign-key column has no index that starts with it (joins and cascades scan the table)"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "when nothing in the project uses the key: no `ondelete` cascade, no "
                                       "relationship loading rows through it, no query filtering on it"}

    def check(self, app: AppModel) -> Iterator[Finding]:
        compared = compared_columns(app)
        tables = schema_tables(app)
        for table in tables:
            if table.constraints_unknown:
                continue  # its indexes are built where the linker cannot read them
            lead = leading_columns(table)
            pk_cols = [c.name for c in table.columns if c.primary_key]
            for col in table.columns:
                if not col.foreign_key or col.name in lead:
                    continue
                line, column, inherited = column_loc(app, table, col)
                where = table.tablename or table.name
                if col.primary_key and len(pk_cols) > 1:
                    why = (f"is only the non-leading column of the composite primary key "
                           f"({', '.join(pk_cols)}), which cannot serve lookups by it")
                else:
                    groups = [g for g in (*table.primary_key_groups, *table.unique_groups, *table.index_groups)
                              if col.name in g[1:]]
                    if groups:
                        why = (f"is only a non-leading column of ({', '.join(groups[0])}), "
                               "which cannot serve lookups by it")
                    else:
                        why = "has no `index=True` and no index or unique constraint starts with it"
                use = use_of(app, tables, table, col, compared)
                tail = f"; {use}" if use else (
                    "; no use of it was seen (no cascade, no relationship loading through it, no query on it), "
                    "so it matters only if the parent rows are deleted or the table is queried by it")
                yield self.finding(
                    table.path, line, column,
                    f"foreign key `{table.name}.{col.name}` -> `{col.foreign_key}`{inherited} {why}{tail}",
                    severity=None if use else Severity.INFO,
                    confidence=None if use else Confidence.MEDIUM,
                    help=f"add `index=True` to the column, or an `Index(\"ix_{where}_{col.name}\", \"{col.name}\")` "
                         "in `__table_args__`: PostgreSQL and SQLite do not index foreign keys, so joins on it and "
                         "`ON DELETE` checks on the parent scan the whole table",
                    related=(Related(table.path, table.line, f"table `{where}`"),),
                    entity=f"{table.qualname}.{col.name}",
                )
