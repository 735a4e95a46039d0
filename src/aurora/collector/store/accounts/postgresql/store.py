"""PostgreSQL implementation of :class:`AccountStore` and :class:`AuditLog` in the store database.

The tables share the collector's database but carry their own migration history
(``api_schema_version``), as on SQLite, so the two schemas evolve independently; the pool and the
migration runner are the collector store's (:mod:`aurora.collector.store.postgresql`). The SQL
of every area is shared with SQLite (the ``sql_*`` modules of the accounts package).
"""

from __future__ import annotations

from aurora.collector.store.accounts.base import AccountError
from aurora.collector.store.accounts.sql_store import SQLAccountAreas
from aurora.collector.store.postgresql.database import PostgresDatabase
from aurora.collector.store.postgresql.migrate import migrate

MIGRATIONS = "aurora.collector.store.accounts.postgresql.migrations"


class PostgreSQLAccounts(SQLAccountAreas, PostgresDatabase):
    """Accounts, sessions, tokens, audit log and annotations in the database at ``url``."""

    # Names are unique by lower(name) (an index): compare and order by it.
    USER_NAME_IS = "lower(name) = lower(?)"
    USERS_ORDER = "lower(name), name"

    def __init__(self, url: str) -> None:
        super().__init__(
            url,
            migrate=lambda conn: migrate(
                conn, package=MIGRATIONS, table="api_schema_version", error=AccountError
            ),
            error=AccountError,
            what="account store",
        )
