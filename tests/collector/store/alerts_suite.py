"""The alerts area contract: status changes, suppressed repeats and filters."""

from __future__ import annotations

from aurora.collector.store import NewAlert
from aurora.collector.store.base import AlertStore


class AlertsSuite:
    def test_alerts_with_status_and_bumps(self, store: AlertStore) -> None:
        alert = NewAlert("r1", "s1", "k", 4, "Bad thing", 100, {"class_uid": 2004})
        [aid] = store.add_alerts([alert])
        # Alerts raised on ingest arrive with their batch (see the events suite).
        store.add_alerts([NewAlert("r2", "s1", "", 2, "Other", 200, {})])
        store.bump_alert(aid, 300, None, 3)
        a = store.get_alert(aid)
        assert a is not None and (a.count, a.last_seen_ms, a.status) == (4, 300, "new")
        assert store.set_alert_status(aid, "acknowledged")
        assert [x.rule_uid for x in store.list_alerts(status="acknowledged")] == ["r1"]
        assert [x.rule_uid for x in store.list_alerts(since_ms=250)] == ["r1"]
        assert {x.rule_uid for x in store.list_alerts()} == {"r1", "r2"}
        assert store.set_alert_status(999, "resolved") is False
