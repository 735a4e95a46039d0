"""Accounts, sessions, API tokens, audit log and alert annotations kept for the console."""

from aurora.collector.store.accounts.base import (
    ROLES,
    AccountError,
    AccountStore,
    ApiTokenRecord,
    AuditEntry,
    AuditLog,
    AuditQuery,
    CommentRecord,
    SessionRecord,
    UnknownUser,
    UserExists,
    UserRecord,
)
from aurora.collector.store.accounts.sqlite import SQLiteAccounts

__all__ = [
    "ROLES",
    "AccountError",
    "AccountStore",
    "ApiTokenRecord",
    "AuditEntry",
    "AuditLog",
    "AuditQuery",
    "CommentRecord",
    "SQLiteAccounts",
    "SessionRecord",
    "UnknownUser",
    "UserExists",
    "UserRecord",
]
