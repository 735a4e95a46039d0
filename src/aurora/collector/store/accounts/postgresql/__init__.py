"""The PostgreSQL backend of the account store: :class:`PostgreSQLAccounts` and its area mixins."""

from aurora.collector.store.accounts.postgresql.store import PostgreSQLAccounts

__all__ = ["PostgreSQLAccounts"]
