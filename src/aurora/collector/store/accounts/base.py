"""What the API keeps beside the collector's :class:`~aurora.collector.store.base.Store`.

Users, browser sessions, API tokens, login throttling, alert assignment and comments and the
disabled-rule list live behind :class:`AccountStore`; the audit trail behind :class:`AuditLog`.
Both are Protocols so a PostgreSQL implementation can follow the SQLite one and pass the same
suite (tests/api/test_accounts.py). Secrets are never stored: only SHA-256 hashes of random
tokens and argon2 hashes of passwords.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from aurora.errors import AuroraError

Role = Literal["admin", "analyst", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "analyst", "viewer")


class AccountError(AuroraError):
    """A user-management request that cannot be honoured (duplicate name, unknown user...)."""


class UserExists(AccountError):
    def __init__(self, name: str) -> None:
        super().__init__(f"user {name!r} already exists")


class UnknownUser(AccountError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no user named {name!r}; see `aurora user list`")


@dataclass(frozen=True)
class UserRecord:
    user_id: int
    name: str
    role: str
    password_hash: str
    created_ms: int


@dataclass(frozen=True)
class SessionRecord:
    token_hash: str
    user_id: int
    csrf_token: str
    created_ms: int
    expires_ms: int


@dataclass(frozen=True)
class ApiTokenRecord:
    token_id: int
    token_hash: str
    user_id: int
    name: str
    created_ms: int
    expires_ms: int  # 0 = never
    last_used_ms: int = 0


@dataclass(frozen=True)
class AuditEntry:
    time_ms: int
    actor: str
    action: str
    target: str = ""
    host: str = ""
    result: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)
    audit_id: int = 0


@dataclass(frozen=True)
class CommentRecord:
    comment_id: int
    alert_id: int
    author: str
    text: str
    time_ms: int


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    host: str | None = None
    since_ms: int | None = None
    limit: int = 100
    offset: int = 0


@runtime_checkable
class AccountStore(Protocol):
    """Accounts and analyst annotations. Implementations must be safe to call from any thread."""

    def close(self) -> None: ...
    def schema_version(self) -> int: ...

    # users
    def add_user(self, name: str, role: str, password_hash: str, now_ms: int) -> UserRecord:
        """Raise :class:`UserExists` when the name (case-insensitive) is taken."""
        ...

    def get_user(self, name: str) -> UserRecord | None: ...
    def get_user_by_id(self, user_id: int) -> UserRecord | None: ...
    def list_users(self) -> list[UserRecord]: ...
    def remove_user(self, name: str) -> bool:
        """Also ends the user's sessions and API tokens. False when unknown."""
        ...

    def set_role(self, name: str, role: str) -> bool: ...
    def set_password(self, name: str, password_hash: str) -> bool:
        """Also ends the user's sessions, so a changed password logs everyone out."""
        ...

    # sessions
    def add_session(self, session: SessionRecord) -> None: ...
    def get_session(self, token_hash: str, now_ms: int) -> SessionRecord | None:
        """None when unknown or expired."""
        ...

    def delete_session(self, token_hash: str) -> None: ...

    # API tokens
    def add_api_token(
        self, token_hash: str, user_id: int, name: str, now_ms: int, expires_ms: int
    ) -> ApiTokenRecord: ...
    def get_api_token(self, token_hash: str, now_ms: int) -> ApiTokenRecord | None:
        """None when unknown or expired; records the use."""
        ...

    def list_api_tokens(self, user_id: int | None = None) -> list[ApiTokenRecord]: ...
    def revoke_api_token(self, token_id: int, user_id: int | None = None) -> bool:
        """Delete a token (only the user's own when ``user_id`` is given)."""
        ...

    # login throttling
    def record_login_failure(self, key: str, now_ms: int) -> None: ...
    def login_failures(self, key: str, since_ms: int) -> int: ...
    def clear_login_failures(self, key: str) -> None: ...

    # alert annotations
    def assign_alert(self, alert_id: int, assignee: str, now_ms: int) -> None:
        """Empty ``assignee`` unassigns."""
        ...

    def assignees(self, alert_ids: Sequence[int]) -> dict[int, str]: ...
    def add_comment(self, alert_id: int, author: str, text: str, now_ms: int) -> CommentRecord: ...
    def list_comments(self, alert_id: int) -> list[CommentRecord]: ...

    # rules
    def set_rule_disabled(self, rule_id: str, disabled: bool, by: str, now_ms: int) -> None: ...
    def disabled_rules(self) -> set[str]: ...


@runtime_checkable
class AuditLog(Protocol):
    """Append-only record of who did what to which host, when, and how it ended."""

    def append(self, entry: AuditEntry) -> int: ...
    def query(self, query: AuditQuery) -> list[AuditEntry]:
        """Newest first."""
        ...
