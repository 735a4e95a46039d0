"""What the console keeps beside the collector's :class:`~aurora.collector.store.base.Store`.

Users, browser sessions, API tokens, login throttling, alert assignment and comments and the
disabled-rule list are one Protocol each, composed into :class:`AccountStore`; the audit trail is
:class:`AuditLog`. A backend implements them area by area and passes the same suites
(tests/api/accounts/). Secrets are never stored: only SHA-256 hashes of random tokens and argon2
hashes of passwords.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from aurora.collector.store.accounts.base.annotations import AlertAnnotations, CommentRecord
from aurora.collector.store.accounts.base.api_tokens import ApiTokenRecord, ApiTokenStore
from aurora.collector.store.accounts.base.audit import AuditEntry, AuditLog, AuditQuery
from aurora.collector.store.accounts.base.login_failures import LoginThrottle
from aurora.collector.store.accounts.base.rules import DisabledRules
from aurora.collector.store.accounts.base.sessions import SessionRecord, SessionStore
from aurora.collector.store.accounts.base.users import (
    ROLES,
    AccountError,
    Role,
    UnknownUser,
    UserExists,
    UserRecord,
    UserStore,
)

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
    "Role",
    "SessionRecord",
    "SessionStore",
    "UnknownUser",
    "UserExists",
    "UserRecord",
    "UserStore",
]


@runtime_checkable
class AccountStore(
    UserStore,
    SessionStore,
    ApiTokenStore,
    LoginThrottle,
    AlertAnnotations,
    DisabledRules,
    Protocol,
):
    """Accounts and analyst annotations. Implementations must be safe to call from any thread."""

    def close(self) -> None: ...
    def schema_version(self) -> int: ...
