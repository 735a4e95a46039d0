"""The ``alerts_key`` index (SQLite 0009, PostgreSQL 0007): a populated older database migrates
without losing an alert, and repeats then find the newest alert of their key through it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from aurora.collector.store import Store
from aurora.collector.store.base import AlertRepeat
from aurora.collector.store.postgresql import PostgreSQLStore
from aurora.collector.store.postgresql.migrate import migrate as pg_migrate
from aurora.collector.store.sqlite import SQLiteStore
from aurora.collector.store.sqlite.migrate import migrate as sqlite_migrate

PG_MIGRATIONS = "aurora.collector.store.postgresql.migrations"
_OLD_ALERTS = [
    # rule, sensor, key, first seen, last seen, count
    ("r1", "s1", "k|11", 100, 180, 4),
    ("r1", "s1", "k|22", 110, 110, 1),
    ("r1", "s1", "k|11", 900, 950, 2),  # a second alert of the key, after its window
    ("r2", "s2", "", 120, 130, 3),
]
_INSERT = (
    "INSERT INTO alerts (rule_uid, sensor_id, dedup_key, severity_id, title, first_seen_ms,"
    " last_seen_ms, count, finding) VALUES (?, ?, ?, 4, 't', ?, ?, ?, '{}')"
)


def _check(store: Store) -> None:
    got = sorted(
        (a.rule_uid, a.sensor_id, a.dedup_key, a.first_seen_ms, a.last_seen_ms, a.count)
        for a in store.list_alerts()
    )
    assert got == sorted(_OLD_ALERTS)
    newest = store.latest_alert("r1", "s1", "k|11")
    assert newest is not None and newest.first_seen_ms == 900
    assert store.fold_repeats([AlertRepeat("r1", "s1", "k|11", 3, 990, None)]) == 1
    again = store.get_alert(newest.alert_id)
    assert again is not None and (again.count, again.last_seen_ms) == (5, 990)


def test_sqlite_migration_keeps_alerts_and_indexes_their_key(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert sqlite_migrate(conn, target=8) == 8
    conn.executemany(_INSERT, _OLD_ALERTS)
    conn.close()
    store = SQLiteStore(path)
    try:
        assert store.schema_version() >= 9
        _check(store)
        plan = store._query(
            "EXPLAIN QUERY PLAN SELECT alert_id FROM alerts WHERE sensor_id = 's1'"
            " AND rule_uid = 'r1' AND dedup_key = 'k' ORDER BY alert_id DESC LIMIT 1"
        )
        assert any("alerts_key" in str(row) for row in plan)
    finally:
        store.close()


@pytest.mark.postgresql
def test_postgresql_migration_keeps_alerts_and_indexes_their_key(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert pg_migrate(conn, target=6, package=PG_MIGRATIONS) == 6
        conn.cursor().executemany(_INSERT.replace("?", "%s"), _OLD_ALERTS)
    store = PostgreSQLStore(pg_url)
    try:
        assert store.schema_version() >= 7
        _check(store)
        with psycopg.connect(pg_url) as conn:
            row = conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'alerts_key'"
            ).fetchone()
        assert row is not None and "(sensor_id, rule_uid, dedup_key, alert_id)" in row[0]
    finally:
        store.close()
