"""Accounts, sessions, API tokens, audit log and alert annotations kept for the console.

The contract is one Protocol per area (:mod:`.base`); :mod:`.sqlite` implements them in the
collector's database file.
"""

from aurora.collector.store.accounts.base import (
    ROLES,
    AccountError,
    AccountStore,
    AlertAnnotations,
    ApiTokenRecord,
    ApiTokenStore,
    AuditEntry,
    AuditLog,
    AuditQuery,
    CommentRecord,
    DisabledRules,
    LoginThrottle,
    SessionRecord,
    SessionStore,
    UnknownUser,
    UserExists,
    UserRecord,
    UserStore,
)
from aurora.collector.store.accounts.sqlite import SQLiteAccounts

__all__ = [
    "ROLES",
    "AccountError",
    "AccountStore",
    "AlertAnnotations",
    "ApiTokenRecord",
    "ApiTokenStore",
    "AuditEntry",
    "AuditLog",
    "AuditQuery",
    "CommentRecord",
    "DisabledRules",
    "LoginThrottle",
    "SQLiteAccounts",
    "SessionRecord",
    "SessionStore",
    "UnknownUser",
    "UserExists",
    "UserRecord",
    "UserStore",
]
