"""The events area over PostgreSQL: group commits by COPY into day partitions, and searches.

The layout is the SQLite store's (:mod:`..packed_batch`): a batch's compressed JSON array kept
once in ``event_batches``, one narrow row per event in ``events``, one row per (process name,
batch) in ``process_batches``, event id = batch id << 17 | position. What PostgreSQL adds: the
tables are partitioned by day (:mod:`.partitions`), duplicates are refused by a key rather than
by a single writer (:mod:`.claims`), and rows go in by binary COPY (:mod:`.ingest`).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg.errors

from aurora.collector.store.base import (
    AlertRepeat,
    EventQuery,
    IncomingBatch,
    IngestResult,
    NewAlert,
    StoredEvent,
)
from aurora.collector.store.base.events import check_evaluated
from aurora.collector.store.postgresql.claims import claim
from aurora.collector.store.postgresql.database import Connection, PostgresDatabase, one_line
from aurora.collector.store.postgresql.event_search import search
from aurora.collector.store.postgresql.ingest import Planned, write_group
from aurora.collector.store.postgresql.partitions import (
    PartitionCache,
    day_of,
    now_ms,
    partition_key,
)
from aurora.collector.store.postgresql.retention import retain
from aurora.collector.store.sql_alerts import write_alerts
from aurora.collector.store.sql_events import SQLEventReads, pack_all

#: Whole-transaction retries for what only concurrency causes (a deadlock between two nodes, a
#: partition another node's retention dropped).
_RETRIES = 5


class PostgresEvents(SQLEventReads, PostgresDatabase):
    """:class:`~aurora.collector.store.base.EventStore` over the store's pool."""

    _partitions: PartitionCache
    _sensor_keys: dict[str, int]

    def _open_events(self) -> None:
        self._partitions = PartitionCache()
        self._sensor_keys = {}
        with self._pool.connection() as conn:
            self._partitions.ensure_ahead(conn, now_ms())

    def _keys_for(self, conn: Connection, sensor_ids: set[str]) -> dict[str, int]:
        """Small integer keys for sensors, created in their own transaction (a key nobody uses
        costs nothing, and creating it never waits on an ingest transaction)."""
        new = sorted(sensor_ids - self._sensor_keys.keys())
        if new:
            with conn.transaction():
                conn.cursor().executemany(
                    "INSERT INTO sensor_keys (sensor_id) VALUES (%s) ON CONFLICT DO NOTHING",
                    [(s,) for s in new],
                )
            rows = conn.execute(
                "SELECT sensor_id, key FROM sensor_keys WHERE sensor_id = ANY(%s)", (new,)
            ).fetchall()
            self._sensor_keys.update({str(s): int(k) for s, k in rows})
        return {s: self._sensor_keys[s] for s in sensor_ids}

    def ingest(
        self, batches: Sequence[IncomingBatch], alerts: Sequence[NewAlert | AlertRepeat] = ()
    ) -> list[IngestResult]:
        packed = pack_all(batches)
        now = now_ms()
        parts = [partition_key(max((k[0] for k in p.keys), default=now), now) for p in packed]
        # Claims go in sensor order, so two nodes claiming the same sensors never deadlock;
        # a sensor's batches keep their order (a stable sort).
        order = sorted(range(len(batches)), key=lambda i: batches[i].sensor_id)
        with self._pool.connection() as conn:
            hosts = self._keys_for(conn, {b.sensor_id for b in batches})
            for attempt in range(_RETRIES):
                self._partitions.ensure(conn, {day_of(p) for p in parts})
                try:
                    with conn.transaction():
                        marks: dict[int, int] = {}
                        planned = {}
                        for i in order:
                            b, pack = batches[i], packed[i]
                            host = hosts[b.sensor_id]
                            got = claim(conn, host, b, pack.count, marks, now)
                            check_evaluated(b, got.skip)
                            planned[i] = Planned(b, pack, host, parts[i], got)
                        results = write_group(conn, [planned[i] for i in range(len(batches))])
                        if alerts:
                            write_alerts(self, conn, alerts)
                    return results
                except (psycopg.errors.CheckViolation, psycopg.errors.DeadlockDetected) as exc:
                    if isinstance(exc, psycopg.errors.CheckViolation):
                        # "no partition of relation found for row": another node dropped a day.
                        self._partitions.forget()
                    if attempt == _RETRIES - 1:
                        raise
                except psycopg.DataError as exc:
                    # A value PostgreSQL cannot keep (SQLSTATE class 22) is the batch's fault:
                    # a ValueError makes the writer refuse that batch alone, not resend it.
                    raise ValueError(f"the store cannot keep this batch: {one_line(exc)}") from None
        raise AssertionError("unreachable")

    def search_events(self, query: EventQuery) -> list[StoredEvent]:
        if query.sensor_ids is not None and not query.sensor_ids:
            return []
        with self._pool.connection() as conn:
            return search(self, conn, query)

    def apply_retention(self, *, older_than_ms: int | None, max_bytes: int | None) -> int:
        with self._pool.connection() as conn:
            deleted = retain(self, conn, older_than_ms, max_bytes)
            self._partitions.forget()
            self._partitions.ensure_ahead(conn, now_ms())
        return deleted
