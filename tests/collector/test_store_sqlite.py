"""What only the SQLite store does: migrations, refusing bad files, WAL, the checkpoint thread.

The behaviour every backend shares is in the area suites under tests/collector/store/.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from client import make_event
from store.records import batch

from aurora.collector.store import EventQuery, Store, StoreError, UploadRecord
from aurora.collector.store.sqlite import SQLiteStore
from aurora.collector.store.sqlite.checkpointer import THRESHOLD
from aurora.collector.store.sqlite.migrate import load_migrations, migrate


def test_sqlite_store_meets_every_area_protocol(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "aurora.db")
    assert isinstance(store, Store)
    store.close()


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
    [res] = store.ingest([batch("s1", 31, 20)])
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
            store.ingest([batch("s1", seq, 500)])
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
