"""The Store contract, one suite for every implementation (SQLite now; PostgreSQL joins later).

Add a backend by adding a factory to STORES; every test below must pass against it unchanged.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from client import make_event

from aurora.collector.store import (
    CommandRecord,
    DropDelta,
    EventQuery,
    HostRecord,
    HostStatus,
    IncomingBatch,
    NewAlert,
    Store,
    StoreError,
    TokenRecord,
    TokenRejected,
    UploadRecord,
)
from aurora.collector.store.sqlite.checkpointer import THRESHOLD
from aurora.collector.store.sqlite.migrate import load_migrations, migrate
from aurora.collector.store.sqlite import SQLiteStore


def _sqlite(tmp: Path) -> Store:
    return SQLiteStore(tmp / "aurora.db")


STORES: dict[str, Callable[[Path], Store]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = STORES[request.param](tmp_path)
    yield s
    s.close()


def _batch(sensor: str, first: int, n: int, **kw: object) -> IncomingBatch:
    events = [make_event(first + i) for i in range(n)]
    return IncomingBatch(sensor, first, events, received_ms=1000, **kw)  # type: ignore[arg-type]


def test_ingest_stores_and_tracks_high_water(store: Store) -> None:
    [res] = store.ingest([_batch("s1", 1, 10)])
    assert (res.stored, res.duplicates, res.high_water, res.gap) == (10, 0, 10, None)
    assert store.high_water("s1") == 10
    assert store.high_water("other") == 0
    assert store.count_events("s1") == 10


def test_duplicates_are_discarded_even_when_overlapping(store: Store) -> None:
    store.ingest([_batch("s1", 1, 10)])
    [res] = store.ingest([_batch("s1", 6, 10)])
    assert (res.stored, res.duplicates, res.high_water) == (5, 5, 15)
    assert list(res.new_indexes) == [5, 6, 7, 8, 9]
    [again] = store.ingest([_batch("s1", 1, 15)])
    assert (again.stored, again.duplicates) == (0, 15)
    assert store.count_events("s1") == 15
    seqs = sorted(e.seq for e in store.search_events(EventQuery(limit=100)))
    assert seqs == list(range(1, 16))


def test_gap_is_recorded_against_the_sensor(store: Store) -> None:
    store.ingest([_batch("s1", 1, 5)])
    [res] = store.ingest([_batch("s1", 9, 2)])
    assert res.gap == (6, 8)
    [gap] = store.gaps("s1")
    assert (gap.first_missing, gap.last_missing) == (6, 8)
    assert store.gaps("s2") == []


def test_several_batches_of_one_sensor_in_one_transaction_apply_in_order(store: Store) -> None:
    results = store.ingest([_batch("s1", 1, 3), _batch("s1", 4, 3), _batch("s2", 1, 2)])
    assert [r.high_water for r in results] == [3, 6, 2]
    assert store.gaps() == []


def test_failed_transaction_stores_nothing(store: Store) -> None:
    store.ingest([_batch("s1", 1, 3)])
    unserialisable = make_event(4, extra={1, 2})
    bad = IncomingBatch("s1", 4, [unserialisable], received_ms=1)
    with pytest.raises(TypeError):
        store.ingest([_batch("s2", 1, 3), bad], [NewAlert("r", "s2", "", 1, "t", 1, {})])
    assert store.count_events("s2") == 0 and store.high_water("s2") == 0
    assert store.high_water("s1") == 3 and store.list_alerts() == []


def test_search_filters(store: Store) -> None:
    events = [make_event(i) for i in range(1, 5)]
    events[1]["class_uid"] = 4001
    events[2]["process"] = {"pid": 77, "name": "curl"}
    store.register_host(HostRecord("s1", hostname="alpha"))
    store.ingest([IncomingBatch("s1", 1, events, received_ms=5)])
    store.ingest([_batch("s2", 1, 2)])
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


def test_process_search_is_newest_first_whatever_order_batches_arrived_in(store: Store) -> None:
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

    def reference(name: str, limit: int, since: int | None, sensors: set[str] | None) -> list[int]:
        hits = [
            e
            for e in everything
            if e.process_name == name
            and (since is None or e.time_ms >= since)
            and (sensors is None or e.sensor_id in sensors)
        ]
        return [e.id for e in sorted(hits, key=lambda e: (e.time_ms, e.id), reverse=True)][:limit]

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


def test_retention_by_age_and_size(store: Store) -> None:
    store.ingest([_batch("s1", 1, 100)])
    assert store.apply_retention(older_than_ms=1_700_000_000_011, max_bytes=None) == 10
    assert store.count_events() == 90
    for k in range(20):  # grow the store well past the bound
        store.ingest([_batch("s1", 101 + 500 * k, 500)])
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


def test_fleet_register_status_and_drops(store: Store) -> None:
    store.register_host(HostRecord("s1", hostname="alpha", os_name="linux", enrolled_ms=1))
    store.update_host_status(
        HostStatus(
            "s1",
            seen_ms=50,
            health="degraded",
            capabilities=[{"name": "process", "loaded": True, "reason": ""}],
            spool_bytes=10,
            spool_max_bytes=100,
            queue_depth=3,
            isolation="isolated",
            counters={"lost_kernel": 4, "events_sent": 9},
            connected=True,
        )
    )
    store.ingest([_batch("s1", 1, 2, drops=DropDelta(kernel=1, spool_evicted=7, spool_corrupt=2))])
    h = store.get_host("s1")
    assert h is not None
    assert (h.health, h.queue_depth, h.isolation, h.connected, h.last_seen_ms) == (
        "degraded",
        3,
        "isolated",
        True,
        50,
    )
    # The totals are the batches' deltas; the heartbeat's counters are only shown as sent.
    assert (h.drops_kernel, h.drops_spool_evicted, h.drops_spool_corrupt) == (1, 7, 2)
    assert h.counters["lost_kernel"] == 4
    assert h.capabilities[0]["name"] == "process" and h.counters["events_sent"] == 9
    assert h.high_water == 2
    store.mark_all_disconnected()
    assert store.get_host("s1").connected is False  # type: ignore[union-attr]
    assert [x.sensor_id for x in store.list_hosts()] == ["s1"]


def test_revocation_and_unknown_sensors(store: Store) -> None:
    store.register_host(HostRecord("s1"))
    assert store.is_revoked("s1") is False
    assert store.is_revoked("nobody") is True
    assert store.revoke_host("s1", 5) is True
    assert store.revoke_host("nobody", 5) is False
    assert store.is_revoked("s1") is True


def test_tokens_expire_and_count_uses(store: Store) -> None:
    store.add_token(TokenRecord("h1", created_ms=0, expires_ms=1000, uses_allowed=2))
    assert store.consume_token("h1", 10).uses == 1
    assert store.consume_token("h1", 20).uses == 2
    with pytest.raises(TokenRejected, match="already used 2 of 2"):
        store.consume_token("h1", 30)
    store.add_token(TokenRecord("h2", created_ms=0, expires_ms=1000, uses_allowed=5))
    with pytest.raises(TokenRejected, match="expired"):
        store.consume_token("h2", 1000)
    with pytest.raises(TokenRejected, match="unknown"):
        store.consume_token("nope", 1)


def test_commands_lifecycle_and_expiry(store: Store) -> None:
    store.enqueue_command(CommandRecord("c1", "s1", "kill", {"pid": 5}, created_ms=1))
    store.enqueue_command(CommandRecord("c2", "s1", "isolate", {}, created_ms=2, expires_ms=100))
    assert [c.command_id for c in store.pending_commands("s1", now_ms=50)] == ["c1", "c2"]
    assert [c.command_id for c in store.pending_commands("s1", now_ms=200)] == ["c1"]
    assert store.get_command("c2").state == "expired"  # type: ignore[union-attr]
    assert store.update_command("c1", now_ms=3, state="running", progress=0.5, stage="x")
    assert store.update_command("c1", now_ms=4, state="succeeded", result={"killed": [5]})
    # A late progress message does not reopen a finished command.
    assert store.update_command("c1", now_ms=5, state="running", progress=0.7)
    c1 = store.get_command("c1")
    assert c1 is not None and c1.state == "succeeded" and c1.result == {"killed": [5]}
    assert store.update_command("ghost", now_ms=1, state="failed") is False
    assert store.pending_commands("s1", now_ms=300) == []
    assert len(store.list_commands("s1")) == 2


def test_uploads(store: Store) -> None:
    store.record_upload(UploadRecord("c1", "s1", "/x.part", 10, "", False, 1))
    store.record_upload(UploadRecord("c1", "s1", "/x.bin", 20, "ab", True, 2))
    up = store.get_upload("c1")
    assert up is not None and (up.path, up.size, up.complete) == ("/x.bin", 20, True)
    assert store.get_upload("c2") is None


def test_alerts_with_status_and_bumps(store: Store) -> None:
    alert = NewAlert("r1", "s1", "k", 4, "Bad thing", 100, {"class_uid": 2004})
    [aid] = store.add_alerts([alert])
    store.ingest([_batch("s1", 1, 1)], [NewAlert("r2", "s1", "", 2, "Other", 200, {})])
    store.bump_alert(aid, 300, None, 3)
    a = store.get_alert(aid)
    assert a is not None and (a.count, a.last_seen_ms, a.status) == (4, 300, "new")
    assert store.set_alert_status(aid, "acknowledged")
    assert [x.rule_uid for x in store.list_alerts(status="acknowledged")] == ["r1"]
    assert [x.rule_uid for x in store.list_alerts(since_ms=250)] == ["r1"]
    assert {x.rule_uid for x in store.list_alerts()} == {"r1", "r2"}
    assert store.set_alert_status(999, "resolved") is False


def test_migration_from_schema_version_1(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=1) == 1
    conn.execute(
        "INSERT INTO events (sensor_id, seq, time_ms, class_uid, received_ms, data)"
        " VALUES ('s1', 1, 5, 1007, 5, '{}')"
    )
    conn.execute("INSERT INTO sequences VALUES ('s1', 1)")
    conn.close()
    store = SQLiteStore(path)
    assert store.schema_version() == len(load_migrations()) >= 2
    assert store.high_water("s1") == 1 and store.count_events() == 1
    store.record_upload(UploadRecord("c", "s1", "/p", 1, "", False, 1))  # table from v2
    store.close()


def test_migration_to_batched_events_keeps_every_event(tmp_path: Path) -> None:
    """A version-2 database (one row of JSON per event) holding data moves to version 3."""
    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=2) == 2
    old: list[tuple[str, int, dict[str, object], int | None, str]] = []
    for sid, host in (("s1", "alpha"), ("s2", "beta")):
        for seq in range(1, 41):
            ev = make_event(seq, hostname=host, class_uid=1007 if seq % 3 else 4001)
            ev["note"] = f"naïve {seq}"
            pid = None if seq == 7 else 1000 + seq
            old.append((sid, seq, ev, pid, "bash"))
            conn.execute(
                "INSERT INTO events (sensor_id, seq, time_ms, class_uid, hostname, pid,"
                " process_name, received_ms, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, seq, ev["time"], ev["class_uid"], host, pid, "bash", 9, json.dumps(ev)),
            )
        conn.execute("INSERT INTO sequences VALUES (?, 40)", (sid,))
    conn.execute(
        "INSERT INTO gaps (sensor_id, first_missing, last_missing, recorded_ms)"
        " VALUES ('s1', 41, 45, 1)"
    )
    conn.close()

    store = SQLiteStore(path)
    assert store.schema_version() == len(load_migrations()) >= 3
    assert store.count_events() == 80 and store.count_events("s2") == 40
    got = store.search_events(EventQuery(limit=1000))
    assert sorted((e.sensor_id, e.seq, e.pid, e.process_name) for e in got) == sorted(
        (sid, seq, pid, name) for sid, seq, _, pid, name in old
    )
    by_key = {(e.sensor_id, e.seq): e for e in got}
    for sid, seq, ev, _, _ in old:
        stored = by_key[(sid, seq)]
        assert stored.event == ev and stored.time_ms == ev["time"]
        assert stored.class_uid == ev["class_uid"]
        assert stored.hostname == ev["device"]["hostname"]  # type: ignore[index]
    assert len(store.search_events(EventQuery(sensor_ids=["s1"], class_uid=4001))) == 13
    assert [e.seq for e in store.search_events(EventQuery(sensor_ids=["s2"], pid=1010))] == [10]
    newest_bash = store.search_events(EventQuery(process_name="bash", limit=3))
    assert [(e.seq, e.time_ms) for e in newest_bash] == [
        (40, 1_700_000_000_040),
        (40, 1_700_000_000_040),
        (39, 1_700_000_000_039),
    ]
    assert store.search_events(EventQuery(process_name="curl")) == []
    assert store.gaps("s1")[0].first_missing == 41
    # Ingest carries on from the migrated marks: duplicates dropped, new events stored.
    [res] = store.ingest([_batch("s1", 31, 20)])
    assert (res.duplicates, res.stored) == (10, 10) and store.count_events("s1") == 50
    newest = store.search_events(EventQuery(sensor_ids=["s1"], limit=1))[0]
    assert (newest.seq, newest.event["time"]) == (50, 1_700_000_000_050)
    # Retention removes migrated events too.
    assert store.apply_retention(older_than_ms=1_700_000_000_011, max_bytes=None) == 20
    assert store.count_events() == 70
    store.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO schema_version VALUES (999, 'future', 0)")
    conn.close()
    with pytest.raises(StoreError, match="newer than this Aurora"):
        SQLiteStore(path)


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        SQLiteStore(path)


def test_sqlite_file_is_wal_and_private(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "a.db")
    s.close()
    assert (tmp_path / "a.db").stat().st_mode & 0o777 == 0o600
    conn = sqlite3.connect(tmp_path / "a.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_the_log_is_copied_into_the_database_by_the_checkpoint_thread(tmp_path: Path) -> None:
    """Commits do not checkpoint; the store's own thread does, once the log is past its bound."""
    store = SQLiteStore(tmp_path / "aurora.db")
    try:
        db = tmp_path / "aurora.db"
        before = db.stat().st_size
        wal = tmp_path / "aurora.db-wal"
        seq = 1
        while not (wal.exists() and wal.stat().st_size > THRESHOLD):
            assert seq < 1_000_000, "the log never grew past the checkpoint bound"
            store.ingest([_batch("s1", seq, 500)])
            seq += 500
        checkpointer = store._checkpointer
        assert checkpointer is not None and checkpointer.is_alive()
        deadline = time.monotonic() + 10
        while checkpointer.checkpoints == 0:
            assert time.monotonic() < deadline, "no checkpoint ran"
            time.sleep(0.05)
        # A checkpoint has returned: the log's pages are in the database file.
        assert db.stat().st_size > before
        assert store.count_events() == seq - 1
    finally:
        store.close()
    assert not store._checkpointer.is_alive()  # type: ignore[union-attr]
