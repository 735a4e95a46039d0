"""The alerts area of the store: what detection raised, with analyst status and repeat counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

AlertStatus = Literal["new", "acknowledged", "resolved"]
ALERT_STATUSES: tuple[AlertStatus, ...] = ("new", "acknowledged", "resolved")


@dataclass(frozen=True)
class AlertRecord:
    alert_id: int
    rule_uid: str
    sensor_id: str
    dedup_key: str
    severity_id: int
    title: str
    status: str
    first_seen_ms: int
    last_seen_ms: int
    count: int
    finding: dict[str, Any]


@dataclass(frozen=True)
class NewAlert:
    rule_uid: str
    sensor_id: str
    dedup_key: str
    severity_id: int
    title: str
    time_ms: int
    finding: dict[str, Any]


@runtime_checkable
class AlertStore(Protocol):
    """Alerts. A new alert starts with status ``new``, count 1, first and last seen at its time."""

    def add_alerts(self, alerts: Sequence[NewAlert]) -> list[int]: ...
    def bump_alert(
        self, alert_id: int, time_ms: int, finding: dict[str, Any] | None, count: int = 1
    ) -> None:
        """Suppressed repeats: add ``count`` and move last_seen (and the finding, when given)."""
        ...

    def list_alerts(
        self,
        *,
        since_ms: int | None = None,
        status: str | None = None,
        sensor_id: str | None = None,
        limit: int = 1000,
    ) -> list[AlertRecord]:
        """Newest last-seen first (ties: newest alert first)."""
        ...

    def get_alert(self, alert_id: int) -> AlertRecord | None: ...
    def set_alert_status(self, alert_id: int, status: str) -> bool:
        """False when no such alert."""
        ...
