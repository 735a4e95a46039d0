"""The alerts area in memory: alerts by id, numbered from 1 in the order they were added."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from aurora.collector.store.base import AlertRecord, AlertRepeat, NewAlert


class MemoryAlerts:
    """:class:`~aurora.collector.store.base.AlertStore` in a dict; findings are copied in and
    out, as a database would serialise them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alerts: dict[int, AlertRecord] = {}
        self._next_id = 1

    def add_alerts(self, alerts: Sequence[NewAlert]) -> list[int]:
        ids: list[int] = []
        with self._lock:
            for a in alerts:
                alert_id, self._next_id = self._next_id, self._next_id + 1
                self._alerts[alert_id] = AlertRecord(
                    alert_id=alert_id,
                    rule_uid=a.rule_uid,
                    sensor_id=a.sensor_id,
                    dedup_key=a.dedup_key,
                    severity_id=a.severity_id,
                    title=a.title,
                    status="new",
                    first_seen_ms=a.time_ms,
                    last_seen_ms=a.last_seen_ms,
                    count=a.count,
                    finding=copy.deepcopy(a.finding),
                )
                ids.append(alert_id)
        return ids

    def bump_alert(
        self, alert_id: int, time_ms: int, finding: dict[str, Any] | None, count: int = 1
    ) -> None:
        with self._lock:
            alert = self._alerts.get(alert_id)
            if alert is None:
                return
            self._alerts[alert_id] = replace(
                alert,
                count=alert.count + count,
                last_seen_ms=max(alert.last_seen_ms, time_ms),
                finding=alert.finding if finding is None else copy.deepcopy(finding),
            )

    def fold_repeats(self, repeats: Sequence[AlertRepeat]) -> int:
        found = 0
        for r in repeats:
            alert = self.latest_alert(r.rule_uid, r.sensor_id, r.dedup_key)
            if alert is not None:
                self.bump_alert(alert.alert_id, r.last_ms, r.finding, r.count)
                found += 1
        return found

    def latest_alert(self, rule_uid: str, sensor_id: str, dedup_key: str) -> AlertRecord | None:
        with self._lock:
            ids = [
                i
                for i, a in self._alerts.items()
                if (a.rule_uid, a.sensor_id, a.dedup_key) == (rule_uid, sensor_id, dedup_key)
            ]
            return copy.deepcopy(self._alerts[max(ids)]) if ids else None

    def list_alerts(
        self,
        *,
        since_ms: int | None = None,
        status: str | None = None,
        sensor_id: str | None = None,
        limit: int = 1000,
    ) -> list[AlertRecord]:
        with self._lock:
            found = [
                a
                for a in self._alerts.values()
                if (since_ms is None or a.last_seen_ms >= since_ms)
                and status in (None, a.status)
                and sensor_id in (None, a.sensor_id)
            ]
            found.sort(key=lambda a: (a.last_seen_ms, a.alert_id), reverse=True)
            return copy.deepcopy(found[:limit])

    def get_alert(self, alert_id: int) -> AlertRecord | None:
        with self._lock:
            return copy.deepcopy(self._alerts.get(alert_id))

    def set_alert_status(self, alert_id: int, status: str) -> bool:
        with self._lock:
            alert = self._alerts.get(alert_id)
            if alert is None:
                return False
            self._alerts[alert_id] = replace(alert, status=status)
            return True
