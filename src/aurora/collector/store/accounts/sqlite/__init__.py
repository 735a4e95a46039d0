"""The SQLite backend of the account store: :class:`SQLiteAccounts`."""

from aurora.collector.store.accounts.sqlite.store import SQLiteAccounts

__all__ = ["SQLiteAccounts"]
