"""Event retention over PostgreSQL: whole day partitions dropped, the boundary day trimmed by row.

By age, every day whose partition ends at or before the cut-off is dropped (a catalog operation,
no row is read), and only the day straddling the cut-off loses rows one by one. By size, the
batches' own byte counts (compressed bytes plus an estimate of their index rows) are summed, the
oldest days are dropped while they fit in the excess, and the oldest batches of the next day go
by arrival. Summing live rows rather than asking for file sizes matters: a table does not shrink
when rows are deleted, so a pass that went by file size would delete again and again.
"""

from __future__ import annotations

from aurora.collector.store import packed_batch
from aurora.collector.store.postgresql.database import Connection
from aurora.collector.store.postgresql.partitions import DAY_MS, PARTITION_LOCK, now_ms
from aurora.collector.store.sql_dialect import SQLDatabase
from aurora.collector.store.sql_events import delete_events_before

#: A sequence link older than this (and not a sensor's latest) can no longer be raced for.
_LINK_KEEP_MS = DAY_MS


def _drop_day(conn: Connection, day: int) -> int:
    """Drop one day's partitions; return how many events they held (counted from the batches:
    the day's rows are never read)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
        row = conn.execute(
            "SELECT COALESCE(SUM(stored), 0) FROM event_batches"
            " WHERE part_ms >= %s AND part_ms < %s",
            (day, day + DAY_MS),
        ).fetchone()
        conn.execute("SELECT aurora_drop_event_partition(%s)", (day,))
    return int(row[0]) if row else 0


def _days(conn: Connection) -> list[int]:
    return [int(r[0]) for r in conn.execute("SELECT day_start FROM event_partitions ORDER BY 1")]


def delete_older_than(db: SQLDatabase, conn: Connection, older_than_ms: int) -> int:
    deleted = 0
    for day in _days(conn):
        if day + DAY_MS <= older_than_ms:
            deleted += _drop_day(conn, day)
    with conn.transaction():
        deleted += delete_events_before(db, conn, older_than_ms)
    return deleted


def trim_to(conn: Connection, max_bytes: int) -> int:
    by_day = conn.execute(
        f"SELECT part_ms - part_ms % {DAY_MS}, SUM(stored_bytes) FROM event_batches"
        " GROUP BY 1 ORDER BY 1"
    ).fetchall()
    excess = sum(int(b) for _, b in by_day) - max_bytes
    deleted = 0
    for day, day_bytes in by_day:
        if excess <= 0:
            break
        if int(day_bytes) <= excess:
            deleted += _drop_day(conn, int(day))
            excess -= int(day_bytes)
            continue
        deleted += _trim_day(conn, int(day), excess)
        break
    return deleted


def _trim_day(conn: Connection, day: int, excess: int) -> int:
    """Delete the day's oldest batches (by arrival) until at least ``excess`` bytes went."""
    in_day = "part_ms >= %s AND part_ms < %s"
    with conn.transaction():
        row = conn.execute(
            "SELECT MIN(id) FROM (SELECT id, SUM(stored_bytes) OVER (ORDER BY id) AS running"
            f" FROM event_batches WHERE {in_day}) b WHERE running >= %s",
            (day, day + DAY_MS, excess),
        ).fetchone()
        cut = int(row[0]) if row and row[0] is not None else None
        if cut is None:
            return 0
        cur = conn.execute(
            f"DELETE FROM events WHERE {in_day} AND id < %s",
            (day, day + DAY_MS, (cut + 1) << packed_batch.ORDINAL_BITS),
        )
        conn.execute(
            f"DELETE FROM process_batches WHERE {in_day} AND batch <= %s", (day, day + DAY_MS, cut)
        )
        conn.execute(
            f"DELETE FROM event_batches WHERE {in_day} AND id <= %s", (day, day + DAY_MS, cut)
        )
    return cur.rowcount


def prune_links(conn: Connection) -> None:
    """Forget sequence links nobody can race for any more: all but each sensor's latest, once
    a day old (a node holding a mark read a day ago has long been refused or committed)."""
    with conn.transaction():
        conn.execute(
            "DELETE FROM sequence_links l WHERE recorded_ms < %s AND after_seq <"
            " (SELECT MAX(after_seq) FROM sequence_links m WHERE m.host = l.host)",
            (now_ms() - _LINK_KEEP_MS,),
        )


def retain(
    db: SQLDatabase, conn: Connection, older_than_ms: int | None, max_bytes: int | None
) -> int:
    deleted = 0
    if older_than_ms is not None:
        deleted += delete_older_than(db, conn, older_than_ms)
    if max_bytes is not None:
        deleted += trim_to(conn, max_bytes)
    prune_links(conn)
    return deleted
