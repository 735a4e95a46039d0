"""The alerts area contract: status changes, suppressed repeats and filters."""

from __future__ import annotations

from aurora.collector.store import NewAlert
from aurora.collector.store.base import AlertRepeat, AlertStore


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

    def test_repeats_fold_into_the_newest_alert_of_their_key(self, store: AlertStore) -> None:
        first, other, newest = store.add_alerts(
            [
                NewAlert("r1", "s1", "k", 4, "Old", 100, {"n": 1}),
                NewAlert("r1", "s1", "other", 4, "Other key", 150, {"n": 2}),
                # Raised with two repeats already folded in, the last at 260.
                NewAlert("r1", "s1", "k", 4, "New", 200, {"n": 3}, count=3, last_ms=260),
            ]
        )
        got = store.latest_alert("r1", "s1", "k")
        assert got is not None and (got.alert_id, got.count, got.last_seen_ms) == (newest, 3, 260)
        assert store.latest_alert("r1", "s2", "k") is None
        assert store.latest_alert("r2", "s1", "k") is None
        found = store.fold_repeats(
            [
                AlertRepeat("r1", "s1", "k", 2, 250, {"n": 4}),  # older than its last: kept
                AlertRepeat("r1", "s1", "other", 1, 300, None),
                AlertRepeat("r1", "s9", "k", 5, 300, None),  # no alert of that key
            ]
        )
        assert found == 2
        a, b, c = (store.get_alert(i) for i in (first, other, newest))
        assert a is not None and (a.count, a.last_seen_ms, a.finding) == (1, 100, {"n": 1})
        assert b is not None and (b.count, b.last_seen_ms, b.finding) == (2, 300, {"n": 2})
        assert c is not None and (c.count, c.last_seen_ms, c.finding) == (5, 260, {"n": 4})
