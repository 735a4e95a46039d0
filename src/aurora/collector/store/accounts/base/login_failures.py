"""The login-throttling area of the account store: failed logins counted per key (user, address)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class LoginThrottle(Protocol):
    """Failed logins, so the console can slow down password guessing."""

    def record_login_failure(self, key: str, now_ms: int) -> None: ...
    def login_failures(self, key: str, since_ms: int) -> int: ...
    def clear_login_failures(self, key: str) -> None: ...
