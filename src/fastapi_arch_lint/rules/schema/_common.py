"""Helpers shared by the schema rules."""

from __future__ import annotations

import re

from fastapi_arch_lint.model.app import AppModel, Column, Table


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
    return isinstance(app.constants.get(f"{module}.revision"), str) and (
        f"{module}.down_revision" in app.constants or "versions" in path.replace("\\", "/").split("/"))


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
