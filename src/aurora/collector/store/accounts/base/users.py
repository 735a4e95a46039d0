"""The users area of the account store: console accounts with a role and a password hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

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


@runtime_checkable
class UserStore(Protocol):
    """Users; names are unique without regard to case."""

    def add_user(self, name: str, role: str, password_hash: str, now_ms: int) -> UserRecord:
        """Raise :class:`UserExists` when the name (case-insensitive) is taken."""
        ...

    def get_user(self, name: str) -> UserRecord | None: ...
    def get_user_by_id(self, user_id: int) -> UserRecord | None: ...
    def list_users(self) -> list[UserRecord]:
        """Ordered by name."""
        ...

    def remove_user(self, name: str) -> bool:
        """Also ends the user's sessions and API tokens. False when unknown."""
        ...

    def set_role(self, name: str, role: str) -> bool: ...
    def set_password(self, name: str, password_hash: str) -> bool:
        """Also ends the user's sessions, so a changed password logs everyone out."""
        ...
