"""The parts of the events area both backends share: packing incoming batches, the reads they run
as written (high-water marks, gaps, counts, drop history), the search filter, search results
assembled from index rows and the batches holding them, and deleting by age row by row. Ingest,
the search plans and retention by size stay per backend."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from aurora.collector.store import packed_batch
from aurora.collector.store.base import DropSample, EventQuery, Gap, IncomingBatch, StoredEvent
from aurora.collector.store.base.events import HOUR_MS
from aurora.collector.store.sql_dialect import SQLDatabase, given, rows, sql, where

EVENT_COLUMNS = "id, time_ms, class_uid, pid, process_name"
#: The newest index rows under a filter (formatted with :func:`event_filter`'s clause).
NEWEST_ROWS = f"SELECT {EVENT_COLUMNS} FROM events{{where}} ORDER BY time_ms DESC, id DESC LIMIT ?"


def pack_all(batches: Sequence[IncomingBatch]) -> list[packed_batch.PackedBatch]:
    """Each batch packed (serialised, compressed) unless the reader packed it already; raise
    ValueError for one holding more events than an event id can number."""
    packed = [
        b.packed if b.packed is not None else packed_batch.pack_events(b.events, b.received_ms)
        for b in batches
    ]
    for pack in packed:
        if pack.count > packed_batch.MAX_EVENTS_PER_BATCH:
            raise ValueError(f"a batch holds at most {packed_batch.MAX_EVENTS_PER_BATCH} events")
    return packed


def event_filter(db: SQLDatabase, q: EventQuery) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (in the backend's placeholders) over ``events`` for ``q``, and its
    parameters. ``q.sensor_ids`` must not be empty: a search for no sensor finds nothing."""
    clauses: list[str] = []
    params: list[Any] = []
    if q.sensor_ids is not None:
        one_of, values = db._one_of("sensor_id", q.sensor_ids)
        clauses.append(f"host IN (SELECT key FROM sensor_keys WHERE {one_of})")
        params.extend(values)
    filters, filter_values = given(
        ("class_uid = ?", q.class_uid),
        ("time_ms >= ?", q.since_ms),
        ("time_ms < ?", q.until_ms),
        ("pid = ?", q.pid),
        ("process_name = ?", q.process_name),
    )
    clauses += filters
    params += [db._text(v) for v in filter_values]
    return sql(db, where(clauses)), params


def stored_events(
    found: Iterable[Sequence[Any]], batches: Iterable[Sequence[Any]]
) -> list[StoredEvent]:
    """The events of ``found`` index rows (``EVENT_COLUMNS``), parsed out of ``batches`` rows
    (id, sensor id, first sequence number, codec, size, data): only the events returned are
    decompressed and parsed."""
    by_id = {
        bid: (sensor_id, first_seq, packed_batch.split(codec, size, data))
        for bid, sensor_id, first_seq, codec, size, data in batches
    }
    out: list[StoredEvent] = []
    mask = packed_batch.MAX_EVENTS_PER_BATCH
    for eid, time_ms, class_uid, pid, process_name in found:
        sensor_id, first_seq, raws = by_id[eid >> packed_batch.ORDINAL_BITS]
        pos = eid & mask
        ev = packed_batch.load_event(raws[pos])
        out.append(
            StoredEvent(
                eid,
                sensor_id,
                first_seq + pos,
                time_ms,
                class_uid,
                packed_batch.hostname_of(ev),
                pid,
                process_name,
                ev,
            )
        )
    return out


def delete_events_before(db: SQLDatabase, conn: Any, older_than_ms: int) -> int:
    """Inside the caller's transaction on ``conn``: delete the events older than
    ``older_than_ms`` and the drop history of those hours; return how many events went."""
    deleted = conn.execute(sql(db, "DELETE FROM events WHERE time_ms < ?"), (older_than_ms,))
    # A batch goes once every event it holds rows for is gone.
    conn.execute(
        sql(
            db,
            "DELETE FROM process_batches WHERE batch IN"
            " (SELECT id FROM event_batches WHERE max_time_ms < ?)",
        ),
        (older_than_ms,),
    )
    conn.execute(sql(db, "DELETE FROM event_batches WHERE max_time_ms < ?"), (older_than_ms,))
    conn.execute(sql(db, "DELETE FROM drop_history WHERE hour_ms < ?"), (older_than_ms,))
    return int(deleted.rowcount)


class SQLEventReads:
    """The reads of :class:`~aurora.collector.store.base.EventStore` outside search, mixed into
    a backend's events area."""

    def high_water(self: SQLDatabase, sensor_id: str) -> int:
        got = rows(self, "SELECT high_water FROM sequences WHERE sensor_id = ?", (sensor_id,))
        return int(got[0][0]) if got else 0

    def gaps(self: SQLDatabase, sensor_id: str | None = None) -> list[Gap]:
        text = "SELECT sensor_id, first_missing, last_missing, recorded_ms FROM gaps"
        params: tuple[Any, ...] = ()
        if sensor_id is not None:
            text += " WHERE sensor_id = ?"
            params = (sensor_id,)
        return [Gap(*r) for r in rows(self, text + " ORDER BY id", params)]

    def count_events(self: SQLDatabase, sensor_id: str | None = None) -> int:
        if sensor_id is None:
            return int(rows(self, "SELECT COUNT(*) FROM events")[0][0])
        got = rows(
            self,
            "SELECT COUNT(*) FROM events"
            " WHERE host = (SELECT key FROM sensor_keys WHERE sensor_id = ?)",
            (sensor_id,),
        )
        return int(got[0][0])

    def drops_by_hour(
        self: SQLDatabase, since_ms: int, sensor_id: str | None = None
    ) -> list[DropSample]:
        text = (
            "SELECT sensor_id, hour_ms, kernel, spool_evicted, spool_corrupt, plugin"
            " FROM drop_history WHERE hour_ms >= ?"
        )
        params: list[Any] = [since_ms - since_ms % HOUR_MS]
        if sensor_id is not None:
            text += " AND sensor_id = ?"
            params.append(sensor_id)
        return [DropSample(*r) for r in rows(self, text + " ORDER BY hour_ms, sensor_id", params)]
