"""The SQLite backend of the account store: :class:`SQLiteAccounts` and its per-area mixins."""

from aurora.collector.store.accounts.sqlite.store import SQLiteAccounts

__all__ = ["SQLiteAccounts"]
