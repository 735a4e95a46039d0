"""The events area contract: ingest, duplicates and gaps, search, retention.

Ingest writes to the hosts (drop totals) and alerts areas in the same transaction, so this suite
runs against a whole :class:`~aurora.collector.store.Store`.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from client import make_event

from aurora.collector.store import (
    DropDelta,
    EventQuery,
    HostRecord,
    IncomingBatch,
    NewAlert,
    Store,
)
from aurora.collector.store.base import AlertRepeat, HighWaterMoved
from store.records import batch, heartbeat


class EventsSuite:
    def test_ingest_stores_and_tracks_high_water(self, store: Store) -> None:
        [res] = store.ingest([batch("s1", 1, 10)])
        assert (res.stored, res.duplicates, res.high_water, res.gap) == (10, 0, 10, None)
        assert store.high_water("s1") == 10
        assert store.high_water("other") == 0
        assert store.count_events("s1") == 10

    def test_duplicates_are_discarded_even_when_overlapping(self, store: Store) -> None:
        store.ingest([batch("s1", 1, 10)])
        [res] = store.ingest([batch("s1", 6, 10)])
        assert (res.stored, res.duplicates, res.high_water) == (5, 5, 15)
        assert list(res.new_indexes) == [5, 6, 7, 8, 9]
        [again] = store.ingest([batch("s1", 1, 15)])
        assert (again.stored, again.duplicates) == (0, 15)
        assert store.count_events("s1") == 15
        seqs = sorted(e.seq for e in store.search_events(EventQuery(limit=100)))
        assert seqs == list(range(1, 16))

    def test_gap_is_recorded_against_the_sensor(self, store: Store) -> None:
        store.ingest([batch("s1", 1, 5)])
        [res] = store.ingest([batch("s1", 9, 2)])
        assert res.gap == (6, 8)
        [gap] = store.gaps("s1")
        assert (gap.first_missing, gap.last_missing) == (6, 8)
        assert store.gaps("s2") == []

    def test_several_batches_of_one_sensor_in_one_transaction_apply_in_order(
        self, store: Store
    ) -> None:
        results = store.ingest([batch("s1", 1, 3), batch("s1", 4, 3), batch("s2", 1, 2)])
        assert [r.high_water for r in results] == [3, 6, 2]
        assert store.gaps() == []

    def test_failed_transaction_stores_nothing(self, store: Store) -> None:
        store.ingest([batch("s1", 1, 3)])
        unserialisable = make_event(4, extra={1, 2})
        bad = IncomingBatch("s1", 4, [unserialisable], received_ms=1)
        with pytest.raises(TypeError):
            store.ingest([batch("s2", 1, 3), bad], [NewAlert("r", "s2", "", 1, "t", 1, {})])
        assert store.count_events("s2") == 0 and store.high_water("s2") == 0
        assert store.high_water("s1") == 3 and store.list_alerts() == []

    def test_ingest_commits_alerts_with_the_batch(self, store: Store) -> None:
        store.ingest([batch("s1", 1, 1)], [NewAlert("r2", "s1", "", 2, "Other", 200, {})])
        assert store.count_events("s1") == 1
        got = [(a.rule_uid, a.status, a.count, a.first_seen_ms) for a in store.list_alerts()]
        assert got == [("r2", "new", 1, 200)]

    def test_ingest_folds_repeats_with_the_batch_in_order(self, store: Store) -> None:
        """Repeats of an alert stored before go to it, before the group's own alerts of the same
        key are inserted; a group that fails folds nothing."""
        store.ingest([batch("s1", 1, 1)], [NewAlert("r", "s1", "k", 2, "t", 100, {"n": 1})])
        [old] = store.list_alerts()
        store.ingest(
            [batch("s1", 2, 2)],
            [
                AlertRepeat("r", "s1", "k", 4, 150, {"n": 2}),
                NewAlert("r", "s1", "k", 2, "t", 500, {"n": 3}, count=2, last_ms=510),
            ],
        )
        bad = IncomingBatch("s1", 4, [make_event(4, extra={1, 2})], received_ms=1)
        with pytest.raises(TypeError):
            store.ingest([bad], [AlertRepeat("r", "s1", "k", 7, 600, None)])
        got = sorted(
            (a.first_seen_ms, a.last_seen_ms, a.count, a.finding) for a in store.list_alerts()
        )
        assert got == [(100, 150, 5, {"n": 2}), (500, 510, 2, {"n": 3})]
        assert old.alert_id == min(a.alert_id for a in store.list_alerts())

    def test_alerts_evaluated_on_duplicates_store_nothing(self, store: Store) -> None:
        """A batch detection evaluated against a stale high-water mark (it took events another
        worker stored for new) fails its group: no event, no alert, no repeat stored."""
        store.ingest([batch("s1", 1, 5)], [NewAlert("r", "s1", "k", 2, "t", 100, {})])
        stale = replace(batch("s1", 3, 5), evaluated_skip=0)  # 3..5 are stored already
        with pytest.raises(HighWaterMoved):
            store.ingest(
                [batch("s2", 1, 2), stale],
                [AlertRepeat("r", "s1", "k", 5, 200, None), NewAlert("r", "s2", "", 1, "t", 1, {})],
            )
        assert store.count_events("s2") == 0 and store.high_water("s1") == 5
        assert [(a.sensor_id, a.count) for a in store.list_alerts()] == [("s1", 1)]
        # Evaluated from the store's mark, it goes in.
        [res] = store.ingest([replace(batch("s1", 3, 5), evaluated_skip=3)])
        assert (res.duplicates, res.stored) == (3, 2)

    def test_batch_drops_add_up_on_the_host(self, store: Store) -> None:
        store.register_host(HostRecord("s1", hostname="alpha", os_name="linux", enrolled_ms=1))
        store.update_host_status(heartbeat("s1"))
        drops = DropDelta(kernel=1, spool_evicted=7, spool_corrupt=2)
        store.ingest([batch("s1", 1, 2, drops=drops)])
        h = store.get_host("s1")
        assert h is not None
        # The totals are the batches' deltas; the heartbeat's counters are only shown as sent.
        assert (h.drops_kernel, h.drops_spool_evicted, h.drops_spool_corrupt) == (1, 7, 2)
        assert h.counters["lost_kernel"] == 4
        assert h.high_water == 2

    def test_batch_drops_are_kept_per_sensor_and_hour(self, store: Store) -> None:
        hour = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000
        for sensor, first, received, drops in (
            ("s1", 1, hour + 10, DropDelta(kernel=3)),
            ("s1", 3, hour + 20, DropDelta(kernel=2, plugin=5)),
            ("s1", 5, hour + 3_600_000, DropDelta(spool_evicted=4)),
            ("s2", 1, hour + 30, DropDelta(spool_corrupt=1)),
            ("s2", 3, hour + 40, DropDelta()),  # a batch without losses adds no sample
        ):
            events = [make_event(first), make_event(first + 1)]
            store.ingest([IncomingBatch(sensor, first, events, received_ms=received, drops=drops)])
        got = [(d.sensor_id, d.hour_ms - hour, d.total) for d in store.drops_by_hour(hour)]
        assert got == [("s1", 0, 10), ("s2", 0, 1), ("s1", 3_600_000, 4)]
        [first] = store.drops_by_hour(hour, sensor_id="s1")[:1]
        assert (first.kernel, first.plugin, first.spool_evicted) == (5, 5, 0)
        assert [d.hour_ms - hour for d in store.drops_by_hour(hour + 3_600_000)] == [3_600_000]
        store.apply_retention(older_than_ms=hour + 3_600_000, max_bytes=None)
        assert [d.hour_ms - hour for d in store.drops_by_hour(0)] == [3_600_000]

    def test_search_filters(self, store: Store) -> None:
        events = [make_event(i) for i in range(1, 5)]
        events[1]["class_uid"] = 4001
        events[2]["process"] = {"pid": 77, "name": "curl"}
        store.register_host(HostRecord("s1", hostname="alpha"))
        store.ingest([IncomingBatch("s1", 1, events, received_ms=5)])
        store.ingest([batch("s2", 1, 2)])
        assert [e.seq for e in store.search_events(EventQuery(class_uid=4001))] == [2]
        assert [e.seq for e in store.search_events(EventQuery(process_name="curl"))] == [3]
        assert [e.seq for e in store.search_events(EventQuery(pid=77))] == [3]
        got = store.search_events(EventQuery(sensor_ids=store.resolve_host("alpha")))
        assert {e.sensor_id for e in got} == {"s1"}
        newest = store.search_events(EventQuery(limit=2))
        assert len(newest) == 2 and newest[0].time_ms >= newest[1].time_ms
        since = store.search_events(EventQuery(since_ms=1_700_000_000_003))
        assert sorted(e.seq for e in since) == [3, 4]
        assert store.search_events(EventQuery(sensor_ids=[])) == []
        assert got[0].event["device"]["hostname"] == "h1"

    def test_process_search_is_newest_first_whatever_order_batches_arrived_in(
        self, store: Store
    ) -> None:
        """Batches overlap in time and arrive out of order (a spool replayed after an outage); a
        search by process name must still give the newest events first, as a full scan would."""
        rng = random.Random(5)
        names = ["bash", "curl", "sshd", "python3"]
        for sensor in ("s1", "s2", "s3"):
            seq = 1
            for _ in range(12):
                base = rng.randint(0, 400)  # batch times overlap and go back and forth
                events = []
                for i in range(rng.randint(1, 40)):
                    ev = make_event(seq + i)
                    ev["time"] = 1_700_000_000_000 + base + rng.randint(0, 30)
                    ev["process"]["name"] = rng.choice(names[: rng.randint(1, 4)])
                    events.append(ev)
                store.ingest([IncomingBatch(sensor, seq, events, received_ms=1)])
                seq += len(events)
        everything = store.search_events(EventQuery(limit=100_000))

        def reference(
            name: str, limit: int, since: int | None, sensors: set[str] | None
        ) -> list[int]:
            hits = [
                e
                for e in everything
                if e.process_name == name
                and (since is None or e.time_ms >= since)
                and (sensors is None or e.sensor_id in sensors)
            ]
            ordered = sorted(hits, key=lambda e: (e.time_ms, e.id), reverse=True)
            return [e.id for e in ordered][:limit]

        checked = 0
        for name in [*names, "absent"]:
            for limit in (1, 7, 50, 10_000):
                for since in (None, 1_700_000_000_200):
                    for sensors in (None, {"s2"}):
                        got = store.search_events(
                            EventQuery(
                                process_name=name,
                                limit=limit,
                                since_ms=since,
                                sensor_ids=sorted(sensors) if sensors else None,
                            )
                        )
                        want = reference(name, limit, since, sensors)
                        assert [e.id for e in got] == want
                        checked += len(want)
        assert checked > 1000

    def test_retention_by_age_and_size(self, store: Store) -> None:
        store.ingest([batch("s1", 1, 100)])
        assert store.apply_retention(older_than_ms=1_700_000_000_011, max_bytes=None) == 10
        assert store.count_events() == 90
        for k in range(20):  # grow the store well past the bound
            store.ingest([batch("s1", 101 + 500 * k, 500)])
        before = store.count_events()
        deleted = store.apply_retention(older_than_ms=None, max_bytes=1024 * 1024)
        assert 0 < deleted < before
        remaining = store.search_events(EventQuery(limit=100_000))
        assert len(remaining) == before - deleted
        # The oldest went first: what is left is one contiguous newest range.
        seqs = sorted(e.seq for e in remaining)
        assert seqs == list(range(seqs[0], 101 + 500 * 20)) and seqs[0] > 11
        by_name = store.search_events(EventQuery(process_name="bash", limit=100_000))
        assert sorted(e.seq for e in by_name) == seqs
        assert store.apply_retention(older_than_ms=None, max_bytes=10**12) == 0
