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
    """An alert to store. Detection folds the repeats it sees before the alert is stored into
    it: ``count`` matches, the last at ``last_ms`` (``finding`` then holds the latest's
    evidence)."""

    rule_uid: str
    sensor_id: str
    dedup_key: str
    severity_id: int
    title: str
    time_ms: int
    finding: dict[str, Any]
    count: int = 1
    last_ms: int | None = None

    @property
    def last_seen_ms(self) -> int:
        return self.time_ms if self.last_ms is None else max(self.time_ms, self.last_ms)


@dataclass(frozen=True)
class AlertRepeat:
    """Suppressed repeats of an alert stored earlier: ``count`` more matches of the same
    (rule, sensor, key), the last at ``last_ms``; they go to the newest stored alert of that
    key, whose finding becomes ``finding`` (the latest repeat's evidence) when given."""

    rule_uid: str
    sensor_id: str
    dedup_key: str
    count: int
    last_ms: int
    finding: dict[str, Any] | None = None


@runtime_checkable
class AlertStore(Protocol):
    """Alerts. A new alert starts with status ``new``, count 1, first and last seen at its time."""

    def add_alerts(self, alerts: Sequence[NewAlert]) -> list[int]: ...
    def bump_alert(
        self, alert_id: int, time_ms: int, finding: dict[str, Any] | None, count: int = 1
    ) -> None:
        """Suppressed repeats: add ``count`` and move last_seen (and the finding, when given)."""
        ...

    def fold_repeats(self, repeats: Sequence[AlertRepeat]) -> int:
        """Add each repeat to the newest alert of its (rule, sensor, key), in one transaction;
        return how many found their alert."""
        ...

    def latest_alert(self, rule_uid: str, sensor_id: str, dedup_key: str) -> AlertRecord | None:
        """The newest alert of (rule, sensor, key): the one its repeats fold into (an index
        lookup, so detection can ask once per key it has not seen since it started)."""
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
