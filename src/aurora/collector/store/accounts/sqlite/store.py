"""SQLite implementation of :class:`AccountStore` and :class:`AuditLog`, in the collector's file.

The tables share ``<state>/aurora.db`` with the collector's store but carry their own migration
history (``api_schema_version``), so the two schemas evolve independently. One connection behind a
lock serves every thread, as the collector's store does; account traffic is tiny by comparison.
Each area's SQL lives in its own module; this one composes them and opens the file.
"""

from __future__ import annotations

from pathlib import Path

from aurora.collector.store.accounts.base import AccountError
from aurora.collector.store.accounts.sqlite.annotations import SQLiteAlertAnnotations
from aurora.collector.store.accounts.sqlite.api_tokens import SQLiteApiTokens
from aurora.collector.store.accounts.sqlite.audit import SQLiteAuditLog
from aurora.collector.store.accounts.sqlite.login_failures import SQLiteLoginThrottle
from aurora.collector.store.accounts.sqlite.rules import SQLiteDisabledRules
from aurora.collector.store.accounts.sqlite.sessions import SQLiteSessions
from aurora.collector.store.accounts.sqlite.users import SQLiteUsers
from aurora.collector.store.sqlite.migrate import migrate

MIGRATIONS = "aurora.collector.store.accounts.sqlite.migrations"


class SQLiteAccounts(
    SQLiteUsers,
    SQLiteSessions,
    SQLiteApiTokens,
    SQLiteLoginThrottle,
    SQLiteAlertAnnotations,
    SQLiteDisabledRules,
    SQLiteAuditLog,
):
    """Accounts, sessions, tokens, audit log and annotations in one SQLite file."""

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
