"""Accounts, sessions, API tokens, audit log and alert annotations kept for the console.

The contract is one Protocol per area (:mod:`.base`); the ``sql_*`` modules implement them once
for both backends, :mod:`.sqlite` (the collector's database file) and :mod:`.postgresql`.
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
