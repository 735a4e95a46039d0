"""Event searches over PostgreSQL: the index rows first, then only the batches holding them.

The same plan as the SQLite store's: filter and order the narrow rows, fetch the few batches they
point into, decompress and parse only the events returned. A process-name search walks the
batches listing the name newest first and stops once no older batch can improve the result.
"""

from __future__ import annotations

import heapq
from typing import Any

from aurora.collector.store import packed_batch
from aurora.collector.store.base import EventQuery, StoredEvent
from aurora.collector.store.postgresql.database import Connection, clean_text
from aurora.collector.store.sql_dialect import SQLDatabase, sql
from aurora.collector.store.sql_events import (
    EVENT_COLUMNS,
    NEWEST_ROWS,
    event_filter,
    stored_events,
)

#: Batches read per round trip when walking a process name's batches: few at first (the newest
#: usually answer), more as the walk goes on.
_FIRST_CHUNK = 8
_MAX_CHUNK = 256


def search(db: SQLDatabase, conn: Connection, query: EventQuery) -> list[StoredEvent]:
    where, params = event_filter(db, query)
    if query.process_name is not None:
        found = _find_by_process(conn, query, where, params)
    else:
        found = conn.execute(
            sql(db, NEWEST_ROWS).format(where=where), [*params, query.limit]
        ).fetchall()
    wanted = sorted({r[0] >> packed_batch.ORDINAL_BITS for r in found})
    batches = conn.execute(
        "SELECT b.id, k.sensor_id, b.first_seq, b.codec, b.size, b.data"
        " FROM event_batches b JOIN sensor_keys k ON k.key = b.host WHERE b.id = ANY(%s)",
        (wanted,),
    ).fetchall()
    return stored_events(found, batches)


def _find_by_process(
    conn: Connection, query: EventQuery, where: str, params: list[Any]
) -> list[tuple[Any, ...]]:
    """The newest ``query.limit`` matching events of one process name (see the module doc).

    Batches are visited in chunks, one round trip each: the rows of every batch in a chunk are
    read by one query, each batch's by its own id range within its own day partition.
    """
    batch_sql = (
        "SELECT b.id, b.max_time_ms, b.part_ms FROM process_batches p"
        " JOIN event_batches b ON b.id = p.batch AND b.part_ms = p.part_ms"
        " WHERE p.process_name = %s"
    )
    batch_params: list[Any] = [clean_text(query.process_name)]
    if query.since_ms is not None:
        batch_sql += " AND b.max_time_ms >= %s"
        batch_params.append(query.since_ms)
    batches = conn.execute(
        batch_sql + " ORDER BY b.max_time_ms DESC, b.id DESC", batch_params
    ).fetchall()
    rows_sql = (
        f"SELECT e.{EVENT_COLUMNS.replace(', ', ', e.')}"
        " FROM unnest(%s::bigint[], %s::bigint[]) AS c(batch, part) CROSS JOIN LATERAL"
        f" (SELECT {EVENT_COLUMNS} FROM events{where} AND part_ms = c.part"
        f" AND id BETWEEN c.batch << {packed_batch.ORDINAL_BITS}"
        f" AND (c.batch << {packed_batch.ORDINAL_BITS}) + {packed_batch.MAX_EVENTS_PER_BATCH}) e"
    )
    kept: list[tuple[Any, ...]] = []
    chunk = _FIRST_CHUNK
    i = 0
    while i < len(batches):
        if len(kept) >= query.limit and batches[i][1] < kept[-1][1]:
            break
        part = batches[i : i + chunk]
        i += chunk
        chunk = min(chunk * 2, _MAX_CHUNK)  # a long walk takes bigger steps
        got = conn.execute(
            rows_sql, [[b[0] for b in part], [b[2] for b in part], *params]
        ).fetchall()
        if got:
            kept = heapq.nlargest(query.limit, kept + got, key=lambda r: (r[1], r[0]))
    return kept
