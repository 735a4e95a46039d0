"""The audit area of the account store: the append-only trail of who did what, where and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


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
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    host: str | None = None
    since_ms: int | None = None
    limit: int = 100
    offset: int = 0


@runtime_checkable
class AuditLog(Protocol):
    """Append-only record of who did what to which host, when, and how it ended."""

    def append(self, entry: AuditEntry) -> int: ...
    def query(self, query: AuditQuery) -> list[AuditEntry]:
        """Newest first."""
        ...
