"""FAL701 foreign-key-without-index."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Table
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.schema._common import column_loc, schema_tables


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


@register
class ForeignKeyWithoutIndex(Rule):
    code = "FAL701"
    name = "foreign-key-without-index"
    summary = "A foreign-key column has no index that starts with it (joins and cascades scan the table)"
    severity = Severity.WARNING

    def check(self, app: AppModel) -> Iterator[Finding]:
        for table in schema_tables(app):
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
                yield self.finding(
                    table.path, line, column,
                    f"foreign key `{table.name}.{col.name}` -> `{col.foreign_key}`{inherited} {why}",
                    help=f"add `index=True` to the column, or an `Index(\"ix_{where}_{col.name}\", \"{col.name}\")` "
                         "in `__table_args__`: PostgreSQL and SQLite do not index foreign keys, so joins on it and "
                         "`ON DELETE` checks on the parent scan the whole table",
                    related=(Related(table.path, table.line, f"table `{where}`"),),
                    entity=f"{table.qualname}.{col.name}",
                )
