"""Event retention over SQLite by size: the oldest batches beyond a size bound (by age is SQL
both backends share, :func:`aurora.collector.store.sql_events.delete_events_before`).

It runs inside the caller's transaction and deletes whole batches with their index rows, so a
batch never outlives the events it holds, nor an index row its batch.
"""

from __future__ import annotations

import sqlite3

from aurora.collector.store import packed_batch


def trim_to(conn: sqlite3.Connection, max_bytes: int) -> int:
    """Delete the oldest batches (by arrival) until the database's live pages fit
    ``max_bytes``; return how many events went. Sizes come from page counts and the batch id
    range, not a scan of the table, so a pass over a large store stays cheap."""
    used = conn.execute(
        "SELECT (p.page_count - f.freelist_count) * s.page_size"
        " FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s"
    ).fetchone()[0]
    lo, hi = conn.execute("SELECT MIN(id), MAX(id) FROM event_batches").fetchone()
    if used <= max_bytes or lo is None:
        return 0
    # Events are most of the file; delete their share of the excess, at least one batch.
    cut = lo + max(1, -(-(hi - lo + 1) * (used - max_bytes) // used))
    n = conn.execute(
        "DELETE FROM events WHERE id < ?", (cut << packed_batch.ORDINAL_BITS,)
    ).rowcount
    conn.execute("DELETE FROM process_batches WHERE batch < ?", (cut,))
    conn.execute("DELETE FROM event_batches WHERE id < ?", (cut,))
    return int(n)
