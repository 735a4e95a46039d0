"""SQLite implementation of :class:`AccountStore` and :class:`AuditLog`, in the collector's file.

The tables share ``<state>/aurora.db`` with the collector's store but carry their own migration
history (``api_schema_version``), so the two schemas evolve independently. One connection behind a
lock serves every thread, as the collector's store does; account traffic is tiny by comparison.
The SQL of every area is shared with PostgreSQL (the ``sql_*`` modules of the accounts package);
this one composes them, says how SQLite compares user names, and opens the file.
"""

from __future__ import annotations

from pathlib import Path

from aurora.collector.store.accounts.base import AccountError
from aurora.collector.store.accounts.sql_store import SQLAccountAreas
from aurora.collector.store.sqlite.database import SQLiteDatabase
from aurora.collector.store.sqlite.migrate import migrate

MIGRATIONS = "aurora.collector.store.accounts.sqlite.migrations"


class SQLiteAccounts(SQLAccountAreas, SQLiteDatabase):
    """Accounts, sessions, tokens, audit log and annotations in one SQLite file."""

    # The column is COLLATE NOCASE: comparing and ordering by it ignore case.
    USER_NAME_IS = "name = ?"
    USERS_ORDER = "name"

    def __init__(self, path: Path | str) -> None:
        super().__init__(
            path,
            pragmas=(),
            migrate=lambda conn: migrate(
                conn, package=MIGRATIONS, table="api_schema_version", error=AccountError
            ),
            error=AccountError,
            what="account store",
        )
