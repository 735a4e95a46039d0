"""What only the PostgreSQL store does: migrations, day partitions, concurrent duplicates.

The behaviour every backend shares is in the area suites (test_postgresql_areas.py); these run
against the same real server (tests/pgserver.py), a fresh database each.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import psycopg
import pytest
from client import make_event

from aurora.collector.store import (
    EventQuery,
    HostRecord,
    IncomingBatch,
    NewAlert,
    Store,
    StoreError,
    packed_batch,
)
from aurora.collector.store.postgresql import PostgreSQLStore
from aurora.collector.store.postgresql.migrate import migrate
from aurora.collector.store.postgresql.partitions import DAY_MS, PAST_DAYS, day_of
from aurora.collector.store.sqlite.migrate import load_migrations
from pgserver import PgServer
from store.records import batch

pytestmark = pytest.mark.postgresql

STORE_MIGRATIONS = "aurora.collector.store.postgresql.migrations"


def tables(url: str, prefix: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE %s AND relkind = 'r' ORDER BY 1",
            (prefix + "%",),
        ).fetchall()
    return [r[0] for r in rows]


def timed_batch(sensor: str, first: int, n: int, time_ms: int) -> IncomingBatch:
    events = [make_event(first + i) | {"time": time_ms + i} for i in range(n)]
    return IncomingBatch(sensor, first, events, received_ms=time_ms)


def test_postgresql_store_meets_every_area_protocol(pg_url: str) -> None:
    store = PostgreSQLStore(pg_url)
    assert isinstance(store, Store)
    assert store.schema_version() == len(load_migrations(STORE_MIGRATIONS)) >= 2
    store.close()


def test_migration_from_version_1_keeps_every_event(pg_url: str) -> None:
    """A populated version-1 database (a per-event process-name index) moves to version 2
    (one process_batches row per name and batch, partitioned like the events)."""
    day = day_of(1_700_000_000_000)
    expected: list[tuple[str, int, str]] = []
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert migrate(conn, target=1, package=STORE_MIGRATIONS) == 1
        conn.execute("SELECT aurora_event_partition(%s)", (day,))
        for key, sensor in ((1, "s1"), (2, "s2")):
            conn.execute("INSERT INTO sensor_keys VALUES (%s, %s)", (key, sensor))
            events = [make_event(seq) for seq in range(1, 31)]
            for seq, ev in enumerate(events, start=1):
                ev["process"]["name"] = "curl" if seq % 3 == 0 else "bash"
                expected.append((sensor, seq, ev["process"]["name"]))
            pack = packed_batch.pack_events(events, 5)
            batch_id = key
            conn.execute(
                "INSERT INTO event_batches VALUES (%s, %s, 1, 30, 30, 5, %s, %s, %s, %s, %s, %s)",
                (batch_id, key, 1_700_000_000_030, day, pack.codec, pack.size, 1, pack.data),
            )
            for pos, (t, cls, pid, name) in enumerate(pack.keys):
                conn.execute(
                    "INSERT INTO events VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    ((batch_id << 17) + pos, key, day, t, cls, pid, name),
                )
            conn.execute("INSERT INTO sequence_links VALUES (%s, 0, 30, 1)", (key,))
            conn.execute("INSERT INTO sequences VALUES (%s, 30)", (sensor,))
        conn.execute("SELECT setval('event_batches_id_seq', 2)")

    store = PostgreSQLStore(pg_url)
    assert store.schema_version() == len(load_migrations(STORE_MIGRATIONS))
    assert store.count_events() == 60 and store.high_water("s2") == 30
    got = store.search_events(EventQuery(limit=1000))
    assert sorted((e.sensor_id, e.seq, e.process_name) for e in got) == sorted(expected)
    curl = store.search_events(EventQuery(process_name="curl", sensor_ids=["s1"], limit=3))
    assert [e.seq for e in curl] == [30, 27, 24]
    assert all(e.event["process"]["name"] == "curl" for e in curl)
    assert "process_batches_20231114" in tables(pg_url, "process_batches_")
    # Ingest carries on from the migrated marks: duplicates dropped, new events stored.
    [res] = store.ingest([batch("s1", 21, 20)])
    assert (res.duplicates, res.stored) == (10, 10) and store.count_events("s1") == 40
    assert [e.seq for e in store.search_events(EventQuery(process_name="bash", limit=1))] == [40]
    store.close()


def test_newer_schema_is_refused(pg_url: str) -> None:
    PostgreSQLStore(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 'future', 0)")
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        PostgreSQLStore(pg_url)


def test_retention_by_age_drops_whole_day_partitions(pg_url: str) -> None:
    store = PostgreSQLStore(pg_url)
    now = int(time.time() * 1000)
    today = day_of(now)
    for k, days_ago in enumerate((3, 2, 0)):
        store.ingest([timed_batch("s1", 1 + 10 * k, 10, today - days_ago * DAY_MS + 1000)])
    names = tables(pg_url, "events_")
    assert len(names) == 4  # three days with events, and tomorrow's made ahead
    deleted = store.apply_retention(older_than_ms=today - DAY_MS, max_bytes=None)
    assert deleted == 20 and store.count_events() == 10
    # Gone as tables, not as rows: the two old days' partitions no longer exist, for all three
    # partitioned tables.
    assert len(tables(pg_url, "events_")) == 2
    for prefix in ("events_", "event_batches_", "process_batches_"):
        assert not set(tables(pg_url, prefix)) & {
            prefix + time.strftime("%Y%m%d", time.gmtime((today - d * DAY_MS) / 1000))
            for d in (3, 2)
        }
    assert sorted(e.seq for e in store.search_events(EventQuery(limit=100))) == list(range(21, 31))
    store.close()


def test_retention_by_size_drops_oldest_days_then_batches_and_never_twice(pg_url: str) -> None:
    store = PostgreSQLStore(pg_url)
    today = day_of(int(time.time() * 1000))
    for k, days_ago in enumerate((2, 1, 0)):
        for b in range(4):
            first = 1 + 2000 * k + 500 * b
            store.ingest([timed_batch("s1", first, 500, today - days_ago * DAY_MS + 1000 * b)])
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT SUM(stored_bytes) FROM event_batches").fetchone()
    total = int(row[0]) if row else 0
    # Room for a day and a half: the oldest day goes whole, then half of the next one.
    deleted = store.apply_retention(older_than_ms=None, max_bytes=total // 2)
    assert 2000 < deleted < 4000 and store.count_events() == 6000 - deleted
    oldest = "events_" + time.strftime("%Y%m%d", time.gmtime((today - 2 * DAY_MS) / 1000))
    assert oldest not in tables(pg_url, "events_")
    seqs = sorted(e.seq for e in store.search_events(EventQuery(limit=10_000)))
    assert seqs == list(range(seqs[0], 6001))  # the newest, contiguous
    # Counted from live rows, not file sizes (which do not shrink): a second pass is a no-op.
    assert store.apply_retention(older_than_ms=None, max_bytes=total // 2) == 0
    store.close()


def test_wild_event_times_stay_in_bounded_partitions(pg_url: str) -> None:
    """A sensor's clock cannot make a table per batch: times far in the past or future are
    kept, in partitions within [now - PAST_DAYS, tomorrow]."""
    store = PostgreSQLStore(pg_url)
    wild = [0, 1, 2**62, 2**63 - 1, -(2**40)]
    for k, t in enumerate(wild):
        store.ingest([timed_batch("s1", 1 + k, 1, t)])
    assert store.count_events() == len(wild)
    assert sorted(e.time_ms for e in store.search_events(EventQuery(limit=10))) == sorted(wild)
    assert len(tables(pg_url, "events_")) <= 3  # the floor day, today, tomorrow
    now = int(time.time() * 1000)
    # An event dated before the floor is older than any cut-off, and goes with its day.
    assert store.apply_retention(older_than_ms=now - (PAST_DAYS - 1) * DAY_MS, max_bytes=None) >= 3
    store.close()


def test_a_day_dropped_by_another_node_is_made_again(pg_url: str) -> None:
    node_a, node_b = PostgreSQLStore(pg_url), PostgreSQLStore(pg_url)
    old = int(time.time() * 1000) - 5 * DAY_MS
    node_a.ingest([timed_batch("s1", 1, 5, old)])  # node A now believes that day exists
    assert node_b.apply_retention(older_than_ms=old + DAY_MS, max_bytes=None) == 5
    [res] = node_a.ingest([timed_batch("s1", 6, 5, old)])  # a late spool replay
    assert res.stored == 5 and node_b.count_events() == 5
    node_a.close()
    node_b.close()


def test_nul_in_sensor_strings_is_stored_not_refused(pg_url: str) -> None:
    """PostgreSQL text cannot hold NUL, which a sensor can put in any string; the batch is still
    stored (a failure would be retried forever), its JSON exactly as sent."""
    store = PostgreSQLStore(pg_url)
    store.register_host(HostRecord("s1", hostname="web\x00evil"))
    odd = make_event(1)
    odd["process"]["name"] = "ba\x00sh"
    alert = NewAlert("r1", "s1", "key\x00", 3, "title\x00", 1, {"name": "ba\x00sh"})
    group = [IncomingBatch("s1", 1, [odd], received_ms=1), batch("s2", 1, 3)]
    results = store.ingest(group, [alert])
    assert [r.stored for r in results] == [1, 3]
    [got] = store.search_events(EventQuery(process_name="ba\x00sh"))
    assert got.event["process"]["name"] == "ba\x00sh" and got.process_name == "ba\ufffdsh"
    assert store.get_host("s1").hostname == "web\ufffdevil"  # type: ignore[union-attr]
    assert store.list_alerts()[0].finding == {"name": "ba\x00sh"}
    store.close()


def test_a_sequence_past_64_bits_is_the_batch_fault(pg_url: str) -> None:
    """Refused as a batch fault (the writer refuses it alone, the sensor does not resend it),
    and the rest of the store is untouched."""
    store = PostgreSQLStore(pg_url)
    with pytest.raises(OverflowError):
        store.ingest([batch("s1", 1, 3), batch("s2", 2**63 - 5, 10)])
    assert store.count_events() == 0 and store.high_water("s1") == 0
    [res] = store.ingest([batch("s1", 1, 3)])
    assert res.stored == 3
    store.close()


def test_store_carries_on_after_the_server_restarts(pg_server: PgServer, pg_url: str) -> None:
    """Connections broken by a restart are replaced, not handed out: the next commit works."""
    store = PostgreSQLStore(pg_url)
    store.ingest([batch("s1", 1, 10)])
    pg_server.stop()
    pg_server.start()
    [res] = store.ingest([batch("s1", 11, 10)])
    assert res.stored == 10 and store.count_events("s1") == 20
    store.close()


def test_retention_and_ingest_at_once_never_deadlock(pg_url: str) -> None:
    """Old days are dropped while another node commits: both finish, nothing fresh is lost."""
    writer, cleaner = PostgreSQLStore(pg_url), PostgreSQLStore(pg_url)
    now = int(time.time() * 1000)
    for d in range(12):
        writer.ingest([timed_batch("old", 1 + 5 * d, 5, now - (20 - d) * DAY_MS)])
    done = threading.Event()
    errors: list[BaseException] = []

    def commit() -> None:
        try:
            first = 1
            while not done.is_set():
                writer.ingest([timed_batch("new", first, 50, now)])
                first += 50
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=commit)
    thread.start()
    try:
        for d in range(12):
            cleaner.apply_retention(older_than_ms=now - (19 - d) * DAY_MS, max_bytes=None)
    finally:
        done.set()
        thread.join()
    assert errors == [] and writer.count_events("old") == 0
    assert writer.count_events("new") == writer.high_water("new") > 0
    writer.close()
    cleaner.close()


def _ingest_in_process(url: str, sensor: str, ready: Any, start: Any, out: Any) -> None:
    store = PostgreSQLStore(url)
    ready.put(True)
    start.wait()
    [res] = store.ingest([batch(sensor, 1, 200)])
    out.put(res.stored)
    store.close()


def test_two_processes_committing_the_same_batch_store_it_once(pg_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    for round_ in range(3):
        sensor = f"s{round_}"
        ready, start, out = ctx.Queue(), ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(target=_ingest_in_process, args=(pg_url, sensor, ready, start, out))
            for _ in range(2)
        ]
        for p in procs:
            p.start()
        for _ in procs:  # both connected and migrated, then released together
            ready.get(timeout=60)
        start.set()
        stored = sorted(out.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(30)
        assert stored == [0, 200]
    store = PostgreSQLStore(pg_url)
    for round_ in range(3):
        assert store.count_events(f"s{round_}") == 200 and store.high_water(f"s{round_}") == 200
    store.close()


def test_racing_nodes_with_overlapping_batches_store_each_event_once(
    pg_server: PgServer, pg_url: str
) -> None:
    """Four nodes receive the same sensor's spool replayed in different batch sizes at once,
    the interleavings a failover produces; every sequence number is stored exactly once, and
    it is the key that refused the losers (the server logs each refusal)."""
    refusal = 'duplicate key value violates unique constraint "sequence_links_pkey"'
    refused_before = pg_server.log_count(refusal)
    nodes = [PostgreSQLStore(pg_url) for _ in range(4)]
    barrier = threading.Barrier(len(nodes))
    errors: list[BaseException] = []

    def replay(node: PostgreSQLStore, size: int) -> None:
        barrier.wait()
        try:
            for first in range(1, 301, size):
                node.ingest([batch("s1", first, min(size, 301 - first)), batch("s2", 1, 5)])
        except BaseException as exc:  # reported below, with the counts
            errors.append(exc)

    threads = [
        threading.Thread(target=replay, args=(n, size))
        for n, size in zip(nodes, (7, 13, 50, 300), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = [e.seq for e in nodes[0].search_events(EventQuery(sensor_ids=["s1"], limit=1000))]
    assert sorted(seqs) == list(range(1, 301))
    assert nodes[0].count_events("s2") == 5 and nodes[0].gaps() == []
    assert pg_server.log_count(refusal) > refused_before
    for n in nodes:
        n.close()


def test_unreachable_server_and_wrong_password_are_one_line_errors(pg_server: PgServer) -> None:
    url = pg_server.new_database()
    with pytest.raises(StoreError) as refused:
        PostgreSQLStore(url.replace(str(pg_server.port), "1"))
    assert "\n" not in str(refused.value) and "cannot open the store" in str(refused.value)
    bad = url.replace(":aurora-test-password@", ":wrong-secret@")
    with pytest.raises(StoreError) as denied:
        PostgreSQLStore(bad)
    message = str(denied.value)
    assert "password authentication failed" in message and "\n" not in message
    assert "wrong-secret" not in message and "aurora-test-password" not in message
