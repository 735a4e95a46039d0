"""Choosing the store backend from ``[collector] store``: embedded SQLite or a PostgreSQL URL.

Every process that opens the collector's state (the collector, the console, the CLI in local
mode) goes through here, so all of them read and write the same place. Each backend is imported
only when chosen: a SQLite deployment never loads the PostgreSQL driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from aurora.collector.store.base import Store, StoreError

if TYPE_CHECKING:
    from aurora.collector.store.accounts.postgresql import PostgreSQLAccounts
    from aurora.collector.store.accounts.sqlite import SQLiteAccounts

    #: Both account backends are an AccountStore and an AuditLog at once.
    Accounts: TypeAlias = SQLiteAccounts | PostgreSQLAccounts

DB_NAME = "aurora.db"


def is_postgresql(spec: str) -> bool:
    return spec.startswith(("postgresql://", "postgres://"))


def open_store(state_dir: Path, spec: str = "sqlite") -> Store:
    """Open (creating and migrating as needed) the collector's store named by ``spec``."""
    if spec == "sqlite":
        from aurora.collector.store.sqlite import SQLiteStore

        return SQLiteStore(state_dir / DB_NAME)
    if is_postgresql(spec):
        from aurora.collector.store.postgresql import PostgreSQLStore

        return PostgreSQLStore(spec)
    raise StoreError(f"unknown store {spec!r}; use 'sqlite' or a postgresql:// URL")


def open_accounts(state_dir: Path, spec: str = "sqlite") -> Accounts:
    """The console's account store, kept beside the collector's store named by ``spec``."""
    if is_postgresql(spec):
        from aurora.collector.store.accounts.postgresql import PostgreSQLAccounts

        return PostgreSQLAccounts(spec)
    from aurora.collector.store.accounts.sqlite import SQLiteAccounts

    return SQLiteAccounts(state_dir / DB_NAME)


def accounts_beside(store: Store, state_dir: Path) -> Accounts:
    """The account store in the same database as ``store`` (for code handed a store, not the
    configuration): a PostgreSQL store carries its URL, SQLite keeps both in ``state_dir``."""
    url = getattr(store, "url", "")
    return open_accounts(
        state_dir, url if isinstance(url, str) and is_postgresql(url) else "sqlite"
    )
