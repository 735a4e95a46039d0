"""The sessions area of the account store: browser sessions, kept as token hashes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class SessionRecord:
    token_hash: str
    user_id: int
    csrf_token: str
    created_ms: int
    expires_ms: int


@runtime_checkable
class SessionStore(Protocol):
    """Browser sessions; a session ends when its user is removed or changes password."""

    def add_session(self, session: SessionRecord) -> None: ...
    def get_session(self, token_hash: str, now_ms: int) -> SessionRecord | None:
        """None when unknown or expired."""
        ...

    def delete_session(self, token_hash: str) -> None: ...
