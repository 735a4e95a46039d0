"""The hosts' drop totals on SQLite, added inside the ingest transaction (the rest of the hosts area
is SQL both backends share: :mod:`..sql_hosts`)."""

from __future__ import annotations

import sqlite3

from aurora.collector.store.base import DropDelta
from aurora.collector.store.base.events import HOUR_MS
from aurora.wire.codec import INT64_MAX

# Each total saturates at the largest integer SQLite holds: past it, SQLite would silently turn
# the sum into an inexact REAL. Written as "add at most what is left", which never overflows.
_ADD_DROPS = (
    "UPDATE hosts SET "
    + ", ".join(
        f"drops_{c} = drops_{c} + MIN(?, {INT64_MAX} - drops_{c})"
        for c in ("kernel", "spool_evicted", "spool_corrupt", "plugin")
    )
    + " WHERE sensor_id = ?"
)
_DROP_KINDS = ("kernel", "spool_evicted", "spool_corrupt", "plugin")
_ADD_HISTORY = (
    "INSERT INTO drop_history (sensor_id, hour_ms, kernel, spool_evicted, spool_corrupt, plugin)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sensor_id, hour_ms) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + MIN(excluded.{c}, {INT64_MAX} - {c})" for c in _DROP_KINDS)
)


def add_batch_drops(
    conn: sqlite3.Connection, sensor_id: str, drops: DropDelta, received_ms: int
) -> None:
    """Add a batch's drop deltas (already clamped to 64 bits at decode) to its host's totals and
    to the hour it arrived in, inside the ingest transaction."""
    counts = (drops.kernel, drops.spool_evicted, drops.spool_corrupt, drops.plugin)
    conn.execute(_ADD_DROPS, (*counts, sensor_id))
    hour = received_ms - received_ms % HOUR_MS
    conn.execute(_ADD_HISTORY, (sensor_id, hour, *counts))
