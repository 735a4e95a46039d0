"""PostgreSQL implementation of :class:`AccountStore` and :class:`AuditLog` in the store database.

The tables share the collector's database but carry their own migration history
(``api_schema_version``), as on SQLite, so the two schemas evolve independently; the pool and the
migration runner are the collector store's (:mod:`aurora.collector.store.postgresql`).
"""

from __future__ import annotations

from aurora.collector.store.accounts.base import AccountError
from aurora.collector.store.accounts.postgresql.annotations import PostgresAlertAnnotations
from aurora.collector.store.accounts.postgresql.api_tokens import PostgresApiTokens
from aurora.collector.store.accounts.postgresql.audit import PostgresAuditLog
from aurora.collector.store.accounts.postgresql.login_failures import PostgresLoginThrottle
from aurora.collector.store.accounts.postgresql.rules import PostgresDisabledRules
from aurora.collector.store.accounts.postgresql.sessions import PostgresSessions
from aurora.collector.store.accounts.postgresql.users import PostgresUsers
from aurora.collector.store.postgresql.migrate import migrate

MIGRATIONS = "aurora.collector.store.accounts.postgresql.migrations"


class PostgreSQLAccounts(
    PostgresUsers,
    PostgresSessions,
    PostgresApiTokens,
    PostgresLoginThrottle,
    PostgresAlertAnnotations,
    PostgresDisabledRules,
    PostgresAuditLog,
):
    """Accounts, sessions, tokens, audit log and annotations in the database at ``url``."""

    def __init__(self, url: str) -> None:
        super().__init__(
            url,
            migrate=lambda conn: migrate(
                conn, package=MIGRATIONS, table="api_schema_version", error=AccountError
            ),
            error=AccountError,
            what="account store",
        )
