"""FAL702 float-for-money."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Column, Table
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.schema._common import column_loc, schema_tables

FLOAT_TYPES = frozenset({"float", "Float", "FLOAT", "Double", "DOUBLE", "DOUBLE_PRECISION", "REAL", "Real"})
DECIMAL_TYPES = frozenset({"Numeric", "NUMERIC", "Decimal", "DECIMAL", "Money", "MONEY", "int", "Integer",
                           "BigInteger", "INTEGER", "BIGINT"})
EXACT_TYPES = frozenset({"Numeric", "NUMERIC", "Decimal", "DECIMAL", "Money", "MONEY"})
# a last word that makes a money-looking name something else: ``tax_rate``, ``total_count``, ``price_cents``
NOT_MONEY_SUFFIXES = frozenset({
    "cents", "rate", "rates", "ratio", "pct", "percent", "percentage", "count", "weight", "score", "points",
    "qty", "quantity", "hours", "minutes", "seconds", "days", "ms", "distance", "kg", "km", "size", "bytes",
    "multiplier", "factor", "id", "ids", "at", "date", "code", "type", "currency",
    "precision", "decimals", "digits", "places", "scale", "tick", "step", "increment", "bps", "leverage",
    "time", "secs", "sec", "millis", "milliseconds", "us", "ns",
})
# words that make a name something other than money wherever they stand: a rate, a ratio or a share
# (``fee_rate_open``, ``discount_pct_max``), or a rounding unit (``price_precision``, ``price_tick_size``,
# ``amount_step``): a precision or a tick size is the exchange's granularity, not an amount of money
NOT_MONEY_WORDS = frozenset({
    "rate", "rates", "ratio", "pct", "percent", "percentage", "bps", "multiplier", "factor", "precision",
    "decimals", "digits", "tick", "step", "increment", "leverage",
    # a measured time: ``call_cost_time``, ``total_elapsed``, ``cost_ms_avg``, ``total_duration_seconds`` hold a
    # duration (the "cost" of a request in milliseconds), not an amount of money
    "elapsed", "duration", "latency", "ms", "millis", "milliseconds", "seconds", "secs",
})
# the last words of a sibling column that holds the money of a rate-like column: ``fee_open`` beside
# ``fee_open_cost`` is the fee's rate, its money is the sibling
MONEY_SIBLING_SUFFIXES = ("cost", "amount", "value", "abs", "total")
# words of a column name that make it the rounding rule of amounts stored beside it: a table that keeps
# ``amount_precision`` or ``price_tick_size`` stores amounts as floats on purpose and rounds them to it
PRECISION_WORDS = frozenset({"precision", "decimals", "tick", "step"})


def name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w for w in spaced.lower().split("_") if w]


def is_money_name(name: str, words: frozenset[str]) -> bool:
    parts = name_words(name)
    if not parts or parts[-1] in NOT_MONEY_SUFFIXES or any(p in NOT_MONEY_WORDS for p in parts):
        return False
    return any(p in words for p in parts)


def is_rate_of_sibling(name: str, table: Table) -> bool:
    """``fee_open`` beside ``fee_open_cost``: the column is the rate, the sibling holds the money."""
    names = {c.name.lower() for c in table.columns}
    return any(f"{name.lower()}_{suffix}" in names for suffix in MONEY_SIBLING_SUFFIXES)


def precision_column(table: Table) -> str | None:
    """A column of the table that says to what precision its amounts are rounded."""
    for c in table.columns:
        if set(name_words(c.name)) & PRECISION_WORDS:
            return c.name
    return None


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
    other_severities = {Severity.INFO: "when floats are the project's stated choice: its tables keep a precision "
                                       "column beside float amounts, or every money column of the project is a float "
                                       "(said once, as a warning, on the first)"}
    default_options = {
        "words": ["price", "amount", "cost", "total", "balance", "fee", "salary", "subtotal", "tax", "discount"],
        "include-models": False,
    }

    def check(self, app: AppModel) -> Iterator[Finding]:
        words = frozenset(w.lower() for w in self.options["words"])
        flagged: list[tuple[Table, Column]] = []
        exact = False  # some money column of the project is exact (``Numeric``, integer minor units)
        for table in schema_tables(app):
            for col in table.columns:
                if not is_money_name(col.name, words) or is_rate_of_sibling(col.name, table):
                    continue
                if is_float_type(col.type):
                    flagged.append((table, col))
                elif set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", col.type)) & EXACT_TYPES:
                    exact = True  # an integer under a money word is as often a count (``total_records``)
        # the house style: tables that round float amounts to a precision stored beside them (exchange
        # amounts with per-market precision, where a fixed ``Numeric(12, 2)`` would cut 0.00001234 to 0)
        styled = {t.qualname: p for t in {id(t): t for t, _ in flagged}.values() if (p := precision_column(t))}
        style = next(iter(styled.items()), None)
        # every money column of the project is a float: one choice, said once on the first column
        uniform = not exact and len(flagged) > 1
        for i, (table, col) in enumerate(flagged):
            line, column, inherited = column_loc(app, table, col)
            message = (f"money column `{table.name}.{col.name}`{inherited} is stored as the binary float "
                       f"`{col.type}`: sums and comparisons drift by fractions of a cent")
            severity = None
            if style is not None:
                qualname, prec = style
                where = "beside it" if qualname == table.qualname else f"in `{qualname.rsplit('.', 1)[-1]}`"
                message += (f"; but the project stores amounts as floats on purpose, with the precision column "
                            f"`{prec}` {where} saying how they are rounded")
                severity = Severity.INFO
            elif uniform and i == 0:
                message += (f"; all {len(flagged)} money columns of the project are floats, a house style said "
                            "here once (the others are reported as info)")
            elif uniform:
                first_table, first_col = flagged[0]
                message += f"; the same house style as `{first_table.name}.{first_col.name}`, reported there"
                severity = Severity.INFO
            yield self.finding(
                table.path, line, column, message,
                severity=severity,
                confidence=Confidence.LOW if severity is Severity.INFO else None,
                help="use `Numeric(12, 2)` with `Mapped[Decimal]` (SQLModel: `Decimal` with "
                     "`Field(max_digits=12, decimal_places=2)`), with a larger scale for sub-cent amounts "
                     "(`Numeric(18, 8)` for per-token prices or crypto amounts), or store integer minor units "
                     "in an `int` column named `*_cents`",
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
