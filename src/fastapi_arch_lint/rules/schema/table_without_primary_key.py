"""FAL704 table-without-primary-key."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Table
from fastapi_arch_lint.model.expr import Call, Const, DictExpr, render
from fastapi_arch_lint.model.facts import ClassFact
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.schema._common import schema_tables


def _declares_pk(fact: ClassFact) -> bool:
    """A field with ``primary_key=True`` (also inside ``sa_column=Column(...)``), or a mapper-level key."""
    for f in fact.fields:
        if f.name == "__mapper_args__" and isinstance(f.value, DictExpr):
            if any(isinstance(k, Const) and k.value == "primary_key" for k in f.value.keys):
                return True
        if f.name == "__table__":
            return True  # a ``Table(...)`` or a reflected table: its key is not visible here
        value = f.value
        while isinstance(value, Call):
            pk = value.kwarg("primary_key")
            if isinstance(pk, Const) and pk.value is True:
                return True
            value = value.kwarg("sa_column")
    for m in fact.methods:  # ``@declared_attr def id(cls): return mapped_column(primary_key=True)``
        if any("declared_attr" in render(d.expr) for d in m.decorators) and any(
                _is_true(site.call.kwarg("primary_key")) for site in m.calls):
            return True
    return False


def _is_true(expr: object) -> bool:
    return isinstance(expr, Const) and expr.value is True


def has_primary_key(app: AppModel, table: Table) -> bool:
    if any(c.primary_key for c in table.columns) or any(table.primary_key_groups):
        return True
    tables = {t.qualname: t for t in app.tables}
    for base in app.class_bases.get(table.qualname, ()):
        other = tables.get(base)
        if other is not None and other is not table and (
                any(c.primary_key for c in other.columns) or any(other.primary_key_groups)):
            return True  # single-table or joined inheritance: the parent table's key
        entry = app.classes.get(base)
        if entry is not None and _declares_pk(entry[1]):
            return True  # a mixin two levels up
    entry = app.classes.get(table.qualname)
    return entry is not None and _declares_pk(entry[1])


@register
class TableWithoutPrimaryKey(Rule):
    code = "FAL704"
    name = "table-without-primary-key"
    summary = "A mapped table has no primary key column and no `PrimaryKeyConstraint`"
    severity = Severity.ERROR

    def check(self, app: AppModel) -> Iterator[Finding]:
        for table in schema_tables(app):
            if table.open_bases or table.constraints_unknown or has_primary_key(app, table):
                # a base class outside the analyzed tree (or one that did not resolve) may declare the key,
                # and so may a ``__table_args__`` the analysis cannot read (built by a function)
                continue
            what = (f"table `{table.tablename}` (class `{table.name}`)" if table.tablename
                    else f"table class `{table.name}`")
            yield self.finding(
                table.path, table.line, 1,
                f"{what} has no primary key: the ORM cannot map "
                "it, and rows cannot be updated or deleted one at a time",
                help="add a key column (`id: Mapped[int] = mapped_column(primary_key=True)`, SQLModel: "
                     "`id: int | None = Field(default=None, primary_key=True)`), or a `PrimaryKeyConstraint` "
                     "over the natural key in `__table_args__`",
                entity=table.qualname,
            )
