"""FAL703 business-key-not-unique."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.schema._common import column_loc


@register
class BusinessKeyNotUnique(Rule):
    code = "FAL703"
    name = "business-key-not-unique"
    summary = "A business key column (`email`, `username`, `slug`, `handle`) has no unique constraint"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    default_options = {"keys": ["email", "username", "slug", "handle"]}

    def check(self, app: AppModel) -> Iterator[Finding]:
        keys = {k.lower() for k in self.options["keys"]}
        for table in app.tables:
            for col in table.columns:
                if col.name.lower() not in keys or col.unique or col.primary_key or col.foreign_key:
                    continue
                pk_cols = tuple(c.name for c in table.columns if c.primary_key)
                # a composite unique constraint that includes the key (``(tenant_id, email)``) is a
                # deliberate scoping choice, and is accepted
                groups = (*table.unique_groups, *table.primary_key_groups)
                if any(col.name in g for g in groups) or pk_cols == (col.name,):
                    continue
                line, column, inherited = column_loc(app, table, col)
                indexed = " (it is indexed, but an index does not stop duplicates)" if col.index or any(
                    g and g[0] == col.name for g in table.index_groups) else ""
                yield self.finding(
                    table.path, line, column,
                    f"business key `{table.name}.{col.name}`{inherited} is not unique{indexed}: two rows can "
                    f"claim the same {col.name}, and lookups by it return either",
                    help=f"add `unique=True` to the column (or a `UniqueConstraint(\"{col.name}\")`, scoped with the "
                         "tenant column when keys are unique per tenant), and handle the `IntegrityError` as a 409",
                    related=(Related(table.path, table.line, f"table `{table.tablename or table.name}`"),),
                    entity=f"{table.qualname}.{col.name}",
                )
