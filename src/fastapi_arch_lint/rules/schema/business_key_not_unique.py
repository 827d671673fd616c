"""FAL703 business-key-not-unique."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.names import is_password_column
from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Table
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.schema._common import column_loc, column_lookups, may_run, name_words, schema_tables

# words of a table's name that make it a record of something that happened or was sent to an address
# (a token, an invitation, a log line), not the entity the address identifies: many rows per address
RECORD_WORDS = frozenset({
    "token", "tokens", "verification", "verifications", "verify", "invitation", "invitations", "invite",
    "invites", "log", "logs", "event", "events", "history", "histories", "audit", "audits", "attempt",
    "attempts", "notification", "notifications", "otp", "code", "codes", "session", "sessions", "reset",
    "resets", "challenge", "challenges", "message", "messages", "request", "requests", "activity",
    "activities", "delivery", "deliveries", "email", "emails", "mail", "outbox", "queue", "signup",
    "signups", "link", "links", "confirmation", "confirmations", "magic", "revision", "revisions",
    "snapshot", "snapshots", "archive", "feedback", "subscription", "subscriptions", "seat", "seats",
})
# words of a table's name that make it the entity an email address identifies (a person or a login)
IDENTITY_WORDS = frozenset({
    "user", "users", "account", "accounts", "member", "members", "customer", "customers", "person",
    "people", "persons", "profile", "profiles", "subscriber", "subscribers", "admin", "admins", "staff",
    "employee", "employees", "identity", "identities", "principal", "principals", "login", "logins",
    "individual", "individuals", "contact", "contacts", "author", "authors", "player", "players",
    "student", "students", "patient", "patients", "owner", "owners",
})
# words of a table's name that make it a copy of rows kept elsewhere: every key repeats there
COPY_WORDS = frozenset({"log", "logs", "history", "histories", "audit", "audits", "revision", "revisions",
                        "snapshot", "snapshots", "archive", "archives", "version", "versions"})

# column types that hold a generated identifier: a ``slug`` typed UUID is an id (often copied from another
# store so that rows sharing it can be joined), not a name a person chose and others must not take
UUID_TYPES = frozenset({"UUID", "Uuid", "uuid", "GUID", "UUIDType", "UNIQUEIDENTIFIER"})


def is_uuid_type(type_text: str) -> bool:
    return bool(set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", type_text)) & UUID_TYPES)


def table_words(table: Table) -> set[str]:
    return set(name_words(table.name)) | set(name_words(table.tablename or ""))


def is_record_table(table: Table) -> bool:
    """A table that records or references an address or login rather than being identified by it."""
    return bool(table_words(table) & RECORD_WORDS)


def is_copy_table(table: Table) -> bool:
    """A history, audit or log table: a row per change, so every key repeats."""
    return bool(table_words(table) & COPY_WORDS)


def identity_tables(app: AppModel, tables: list[Table]) -> set[str]:
    """Names (table names and class names) of the tables that stand for people or logins."""
    out: set[str] = set()
    for t in tables:
        if (table_words(t) & IDENTITY_WORDS or any(is_password_column(c.name) for c in t.columns)) \
                and not is_record_table(t):
            out.update(n for n in (t.tablename, t.name) if n)
    return out


def email_identifies(table: Table, identities: set[str]) -> bool:
    """``email`` is the key of a table that stands for a person or a login, which does not reference
    another such table (a row that references the user it belongs to holds a copy of an address)."""
    if table.tablename not in identities and table.name not in identities:
        return False
    for c in table.columns:
        if c.foreign_key:
            target = c.foreign_key.rsplit(".", 1)[0].rsplit(".", 1)[-1]
            if target in identities and target not in (table.tablename, table.name):
                return False
    return True


@register
class BusinessKeyNotUnique(Rule):
    code = "FAL703"
    name = "business-key-not-unique"
    summary = "A business key column (`email`, `username`, `slug`, `handle`) has no unique constraint"
    severity = Severity.WARNING
    confidence = Confidence.MEDIUM
    other_severities = {Severity.INFO: "when the project's code never looks rows up by the key (no query compares "
                                       "it, or only code that nothing runs does)"}
    default_options = {"keys": ["email", "username", "slug", "handle"]}

    def check(self, app: AppModel) -> Iterator[Finding]:
        keys = {k.lower() for k in self.options["keys"]}
        tables = schema_tables(app)
        identities = identity_tables(app, tables)
        for table in tables:
            if table.constraints_unknown or is_copy_table(table):
                continue
            for col in table.columns:
                if col.name.lower() not in keys or col.unique or col.primary_key or col.foreign_key:
                    continue
                if col.name.lower() in ("email", "username") and is_record_table(table):
                    continue  # a token, an invitation, an attempt: many rows per address
                if col.name.lower() == "email" and not email_identifies(table, identities):
                    continue  # a contact address of a record that is identified otherwise
                pk_cols = tuple(c.name for c in table.columns if c.primary_key)
                # a composite unique constraint that includes the key (``(tenant_id, email)``) is a
                # deliberate scoping choice, and is accepted
                groups = (*table.unique_groups, *table.primary_key_groups)
                if any(col.name in g for g in groups) or pk_cols == (col.name,):
                    continue
                # a plain (non-unique) index over the key and another column (``(dataset_id, slug)``): the
                # author indexed the key together with its scope and chose not to make the pair unique, so
                # the key is meant to repeat, at least across that scope
                if any(col.name in g and len(g) > 1 for g in table.index_groups):
                    continue
                if is_uuid_type(col.type):
                    continue  # a generated identifier under a key's name, not a business key
                line, column, inherited = column_loc(app, table, col)
                indexed = " (it is indexed, but an index does not stop duplicates)" if col.index or any(
                    g and g[0] == col.name for g in table.index_groups) else ""
                lookups = column_lookups(app).get((table.name, col.name), ())
                live = any(may_run(app, fn) for fn in lookups)
                if live:
                    tail = f"two rows can claim the same {col.name}, and lookups by it return either"
                elif lookups:
                    tail = (f"two rows can claim the same {col.name}; but the only lookups by it are in code that "
                            f"nothing calls ({', '.join(f'`{fn.fact.qualname}`' for fn in lookups[:3])})")
                else:
                    tail = (f"two rows can claim the same {col.name}; no lookup by it was seen, so it matters once "
                            "the code finds rows by it")
                yield self.finding(
                    table.path, line, column,
                    f"business key `{table.name}.{col.name}`{inherited} is not unique{indexed}: {tail}",
                    severity=None if live else Severity.INFO,
                    confidence=None if live else Confidence.LOW,
                    help=f"add `unique=True` to the column (or a `UniqueConstraint(\"{col.name}\")`, scoped with the "
                         "tenant column when keys are unique per tenant), and handle the `IntegrityError` as a 409",
                    related=(Related(table.path, table.line, f"table `{table.tablename or table.name}`"),),
                    entity=f"{table.qualname}.{col.name}",
                )
