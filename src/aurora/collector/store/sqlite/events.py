"""The events area over SQLite: batches kept whole, one narrow index row per event, WAL checkpoints.

Events are stored per batch (schema version 3, :mod:`..packed_batch`): ``event_batches`` holds
each batch's compressed JSON array once, ``events`` one narrow row per event (time, class, pid,
process name, host key) under four indexes. An event's id is ``batch id << 17 | position``, so
reading an event back finds its batch by shifting, and ids follow arrival order. The collector
batches many sensors' events into one transaction (group commit), so :meth:`SQLiteEvents.ingest`
is one method doing one transaction: the store's lock is taken a few times per second, not per
event.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from aurora.collector.store import packed_batch
from aurora.collector.store.base import (
    AlertRepeat,
    EventQuery,
    IncomingBatch,
    IngestResult,
    NewAlert,
    StoredEvent,
)
from aurora.collector.store.base.events import check_evaluated
from aurora.collector.store.sql_alerts import write_alerts
from aurora.collector.store.sql_dialect import marks
from aurora.collector.store.sql_events import (
    EVENT_COLUMNS,
    NEWEST_ROWS,
    SQLEventReads,
    delete_events_before,
    event_filter,
    pack_all,
    stored_events,
)
from aurora.collector.store.sqlite.checkpointer import Checkpointer
from aurora.collector.store.sqlite.database import SQLiteDatabase
from aurora.collector.store.sqlite.hosts import add_batch_drops
from aurora.collector.store.sqlite.retention import trim_to

_INSERT_BATCH = (
    "INSERT INTO event_batches (host, first_seq, count, received_ms, max_time_ms, codec, size,"
    " data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_EVENTS = (
    "INSERT INTO events (id, host, time_ms, class_uid, pid, process_name)"
    " SELECT ?1 + key, ?2, json_extract(value, '$[0]'), json_extract(value, '$[1]'),"
    " json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?3)"
)
_INSERT_PROCESS_BATCHES = (
    "INSERT INTO process_batches (process_name, batch) SELECT value, ?1 FROM json_each(?2)"
)


class SQLiteEvents(SQLEventReads, SQLiteDatabase):
    """:class:`~aurora.collector.store.base.EventStore` over the store's connection.

    The connection that ingests events turns SQLite's automatic checkpoints off and leaves them
    to a :class:`~.checkpointer.Checkpointer` thread, started on the first ingest.
    """

    _sensor_keys: dict[str, int]
    _checkpointer: Checkpointer | None

    def _open_events(self) -> None:
        self._sensor_keys = {}
        self._checkpointer = None

    def _start_checkpointer(self) -> None:
        """On the first ingest (the connection that writes events): checkpoints move to their
        own thread (see :mod:`.checkpointer`)."""
        if self.path == ":memory:":
            return
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._checkpointer = Checkpointer(self.path)
        self._checkpointer.start()

    def _close_events(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()

    def ingest(
        self, batches: Sequence[IncomingBatch], alerts: Sequence[NewAlert | AlertRepeat] = ()
    ) -> list[IngestResult]:
        # Packing (serialising, compressing) happens before the lock is taken.
        packed = pack_all(batches)
        results: list[IngestResult] = []
        with self._lock:
            if self._checkpointer is None:
                self._start_checkpointer()
            try:
                with self._tx() as conn:
                    for batch, pack in zip(batches, packed, strict=True):
                        results.append(self._ingest_one(conn, batch, pack))
                    if alerts:
                        write_alerts(self, conn, alerts)
            except BaseException:
                # Keys created in the rolled-back transaction do not exist.
                self._sensor_keys.clear()
                raise
        return results

    def _sensor_key(self, conn: sqlite3.Connection, sensor_id: str) -> int:
        key = self._sensor_keys.get(sensor_id)
        if key is None:
            conn.execute("INSERT OR IGNORE INTO sensor_keys (sensor_id) VALUES (?)", (sensor_id,))
            row = conn.execute(
                "SELECT key FROM sensor_keys WHERE sensor_id = ?", (sensor_id,)
            ).fetchone()
            key = self._sensor_keys[sensor_id] = int(row[0])
        return key

    def _ingest_one(
        self, conn: sqlite3.Connection, b: IncomingBatch, pack: packed_batch.PackedBatch
    ) -> IngestResult:
        row = conn.execute(
            "SELECT high_water FROM sequences WHERE sensor_id = ?", (b.sensor_id,)
        ).fetchone()
        hwm = int(row[0]) if row else 0
        n = pack.count
        last = b.first_seq + n - 1
        skip = min(n, max(0, hwm - b.first_seq + 1))
        check_evaluated(b, skip)
        gap = (hwm + 1, b.first_seq - 1) if b.first_seq > hwm + 1 else None
        if gap is not None:
            conn.execute(
                "INSERT INTO gaps (sensor_id, first_missing, last_missing, recorded_ms)"
                " VALUES (?, ?, ?, ?)",
                (b.sensor_id, gap[0], gap[1], b.received_ms),
            )
        if skip < n:
            host = self._sensor_key(conn, b.sensor_id)
            keys = pack.keys
            batch_id = conn.execute(
                _INSERT_BATCH,
                (
                    host,
                    b.first_seq,
                    n,
                    b.received_ms,
                    max(k[0] for k in keys[skip:]),
                    pack.codec,
                    pack.size,
                    pack.data,
                ),
            ).lastrowid
            assert batch_id is not None
            # One statement for the whole batch: SQLite reads the rows out of one JSON array
            # with the GIL released, where executemany would take the GIL back for every row
            # and queue behind the threads parsing the next batches.
            first_id = (batch_id << packed_batch.ORDINAL_BITS) + skip
            # As text: SQLite 3.45+ would read a BLOB argument as its binary JSONB.
            conn.execute(_INSERT_EVENTS, (first_id, host, orjson.dumps(keys[skip:]).decode()))
            names = {k[3] for k in keys[skip:]}
            names.discard("")
            if names:
                conn.execute(
                    _INSERT_PROCESS_BATCHES, (batch_id, orjson.dumps(sorted(names)).decode())
                )
            conn.execute(
                "INSERT INTO sequences (sensor_id, high_water) VALUES (?, ?)"
                " ON CONFLICT (sensor_id) DO UPDATE SET high_water = excluded.high_water",
                (b.sensor_id, last),
            )
            hwm = last
        d = b.drops
        if d.kernel or d.spool_evicted or d.spool_corrupt or d.plugin:
            add_batch_drops(conn, b.sensor_id, d, b.received_ms)
        return IngestResult(
            sensor_id=b.sensor_id,
            first_seq=b.first_seq,
            count=n,
            stored=n - skip,
            duplicates=skip,
            high_water=hwm,
            gap=gap,
            new_indexes=range(skip, n),
        )

    def search_events(self, query: EventQuery) -> list[StoredEvent]:
        if query.sensor_ids is not None and not query.sensor_ids:
            return []
        where, params = event_filter(self, query)
        with self._lock:
            if query.process_name is not None:
                found = self._find_by_process(query, where, params)
            else:
                found = self._conn.execute(
                    NEWEST_ROWS.format(where=where), [*params, query.limit]
                ).fetchall()
            wanted = sorted({r[0] >> packed_batch.ORDINAL_BITS for r in found})
            batches: list[tuple[Any, ...]] = []
            # In chunks: SQLite limits the parameters of one statement.
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                batches += self._conn.execute(
                    "SELECT b.id, k.sensor_id, b.first_seq, b.codec, b.size, b.data"
                    " FROM event_batches b JOIN sensor_keys k ON k.key = b.host"
                    f" WHERE b.id IN ({marks(len(chunk))})",
                    chunk,
                ).fetchall()
        # Decompressing and parsing happen outside the lock.
        return stored_events(found, batches)

    def _find_by_process(
        self, query: EventQuery, where: str, params: list[Any]
    ) -> list[tuple[Any, ...]]:
        """The newest ``query.limit`` matching events of one process name: the batches that
        hold the name are visited newest first (by their latest event time), and the walk
        stops at the first batch whose latest event is older than every event already kept."""
        batch_sql = (
            "SELECT b.id, b.max_time_ms FROM process_batches p"
            " JOIN event_batches b ON b.id = p.batch WHERE p.process_name = ?"
        )
        batch_params: list[Any] = [query.process_name]
        if query.since_ms is not None:
            batch_sql += " AND b.max_time_ms >= ?"
            batch_params.append(query.since_ms)
        batches = self._conn.execute(
            batch_sql + " ORDER BY b.max_time_ms DESC, b.id DESC", batch_params
        ).fetchall()
        sql = f"SELECT {EVENT_COLUMNS} FROM events{where} AND id BETWEEN ? AND ?"
        kept: list[tuple[Any, ...]] = []
        for batch_id, max_time in batches:
            if len(kept) >= query.limit and max_time < kept[-1][1]:
                break
            first = batch_id << packed_batch.ORDINAL_BITS
            got = self._conn.execute(
                sql, [*params, first, first + packed_batch.MAX_EVENTS_PER_BATCH]
            ).fetchall()
            if got:
                kept = heapq.nlargest(query.limit, kept + got, key=lambda r: (r[1], r[0]))
        return kept

    def apply_retention(self, *, older_than_ms: int | None, max_bytes: int | None) -> int:
        deleted = 0
        if older_than_ms is not None:
            with self._tx() as conn:
                deleted += delete_events_before(self, conn, older_than_ms)
        if max_bytes is not None:
            with self._tx() as conn:
                deleted += trim_to(conn, max_bytes)
        return deleted
