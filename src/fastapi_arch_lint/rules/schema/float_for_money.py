"""FAL702 float-for-money."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.schema._common import column_loc, schema_tables

FLOAT_TYPES = frozenset({"float", "Float", "FLOAT", "Double", "DOUBLE", "DOUBLE_PRECISION", "REAL", "Real"})
DECIMAL_TYPES = frozenset({"Numeric", "NUMERIC", "Decimal", "DECIMAL", "Money", "MONEY", "int", "Integer",
                           "BigInteger", "INTEGER", "BIGINT"})
# a last word that makes a money-looking name something else: ``tax_rate``, ``total_count``, ``price_cents``
NOT_MONEY_SUFFIXES = frozenset({
    "cents", "rate", "rates", "ratio", "pct", "percent", "percentage", "count", "weight", "score", "points",
    "qty", "quantity", "hours", "minutes", "seconds", "days", "ms", "distance", "kg", "km", "size", "bytes",
    "multiplier", "factor", "id", "ids", "at", "date", "code", "type", "currency",
})


def name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w for w in spaced.lower().split("_") if w]


def is_money_name(name: str, words: frozenset[str]) -> bool:
    parts = name_words(name)
    if not parts or parts[-1] in NOT_MONEY_SUFFIXES:
        return False
    return any(p in words for p in parts)


def is_float_type(type_text: str) -> bool:
    tokens = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", type_text))
    return bool(tokens & FLOAT_TYPES) and not tokens & DECIMAL_TYPES


@register
class FloatForMoney(Rule):
    code = "FAL702"
    name = "float-for-money"
    summary = "A money column (`price`, `amount`, `total`...) is a binary float (`Float`, `float`, `REAL`)"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    default_options = {
        "words": ["price", "amount", "cost", "total", "balance", "fee", "salary", "subtotal", "tax", "discount"],
        "include-models": False,
    }

    def check(self, app: AppModel) -> Iterator[Finding]:
        words = frozenset(w.lower() for w in self.options["words"])
        for table in schema_tables(app):
            for col in table.columns:
                if not is_money_name(col.name, words) or not is_float_type(col.type):
                    continue
                line, column, inherited = column_loc(app, table, col)
                yield self.finding(
                    table.path, line, column,
                    f"money column `{table.name}.{col.name}`{inherited} is stored as the binary float "
                    f"`{col.type}`: sums and comparisons drift by fractions of a cent",
                    help="use `Numeric(12, 2)` with `Mapped[Decimal]` (SQLModel: `Decimal` with "
                         "`Field(max_digits=12, decimal_places=2)`), or store integer minor units in an "
                         "`int` column named `*_cents`",
                    related=(Related(table.path, table.line, f"table `{table.tablename or table.name}`"),),
                    entity=f"{table.qualname}.{col.name}",
                )
        if not self.options["include-models"]:
            return
        for model in app.models:
            if model.kind not in ("model", "sqlmodel"):
                continue
            for f in model.fields:
                if not is_money_name(f.name, words) or "builtins.float" not in f.type_names:
                    continue
                yield self.finding(
                    model.path, f.line, f.col,
                    f"money field `{model.name}.{f.name}` is a `float`: the API parses it as a binary float "
                    "and rounds it before it reaches the database",
                    help="type it `Decimal` (with `Field(max_digits=12, decimal_places=2)`) or as integer minor units",
                    entity=f"{model.qualname}.{f.name}",
                )
