"""The PostgreSQL backend of the account store: :class:`PostgreSQLAccounts`."""

from aurora.collector.store.accounts.postgresql.store import PostgreSQLAccounts

__all__ = ["PostgreSQLAccounts"]
