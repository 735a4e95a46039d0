"""The API-token area of the account store: long-lived tokens for scripts, kept as hashes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ApiTokenRecord:
    token_id: int
    token_hash: str
    user_id: int
    name: str
    created_ms: int
    expires_ms: int  # 0 = never
    last_used_ms: int = 0


@runtime_checkable
class ApiTokenStore(Protocol):
    """API tokens; a token ends with its user."""

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
