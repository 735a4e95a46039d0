"""The tokens area of the store: enrolment tokens, kept as hashes, each with an expiry and uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from aurora.errors import AuroraError


class TokenRejected(AuroraError):
    """An enrolment token is unknown, expired or has no uses left; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"enrolment token rejected: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class TokenRecord:
    token_hash: str
    created_ms: int
    expires_ms: int
    uses_allowed: int
    uses: int = 0
    note: str = ""


@runtime_checkable
class TokenStore(Protocol):
    """Enrolment tokens (only hashes are stored)."""

    def add_token(self, token: TokenRecord) -> None: ...
    def consume_token(self, token_hash: str, now_ms: int) -> TokenRecord:
        """Atomically check and count one use; raise :class:`TokenRejected`.

        Two enrolments racing for a token's last use must not both succeed.
        """
        ...

    def list_tokens(self) -> list[TokenRecord]:
        """Oldest first."""
        ...
