"""The hosts area over SQLite: the ``hosts`` table, joined with ``sequences`` for high water."""

from __future__ import annotations

import sqlite3
import time

from aurora.collector.store import sql_records
from aurora.collector.store.base import DropDelta, HostRecord, HostStatus
from aurora.collector.store.base.events import HOUR_MS
from aurora.collector.store.base.hosts import shown_connected
from aurora.collector.store.sqlite.database import SQLiteDatabase
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


class SQLiteHosts(SQLiteDatabase):
    """:class:`~aurora.collector.store.base.HostStore` over the store's connection."""

    def register_host(self, host: HostRecord) -> None:
        values = sql_records.host_values(host)
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "sensor_id")
        with self._tx() as conn:
            conn.execute(
                f"INSERT INTO hosts ({cols}) VALUES ({marks})"
                f" ON CONFLICT (sensor_id) DO UPDATE SET {updates}",
                list(values.values()),
            )

    def get_host(self, sensor_id: str) -> HostRecord | None:
        got = self._query(sql_records.HOST_SELECT + " WHERE h.sensor_id = ?", (sensor_id,))
        if not got:
            return None
        return shown_connected([sql_records.host_from_row(got[0])], self._live_nodes())[0]

    def resolve_host(self, id_or_hostname: str) -> list[str]:
        got = self._query(
            "SELECT sensor_id FROM hosts WHERE sensor_id = ? OR hostname = ? ORDER BY sensor_id",
            (id_or_hostname, id_or_hostname),
        )
        return [r[0] for r in got]

    def list_hosts(self) -> list[HostRecord]:
        got = self._query(sql_records.HOST_SELECT + " ORDER BY h.hostname, h.sensor_id")
        return shown_connected([sql_records.host_from_row(r) for r in got], self._live_nodes())

    def update_host_status(self, status: HostStatus) -> None:
        sets, params = sql_records.status_updates(status)
        with self._tx() as conn:
            conn.execute(
                f"UPDATE hosts SET {', '.join(sets)} WHERE sensor_id = ?",
                [*params, status.sensor_id],
            )

    def set_cert_not_after(self, sensor_id: str, not_after_ms: int) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE hosts SET cert_not_after_ms = ? WHERE sensor_id = ?",
                (not_after_ms, sensor_id),
            )

    def revoke_host(self, sensor_id: str, now_ms: int) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE hosts SET revoked = 1, revoked_ms = ? WHERE sensor_id = ?",
                (now_ms, sensor_id),
            )
            return cur.rowcount > 0

    def is_revoked(self, sensor_id: str) -> bool:
        got = self._query("SELECT revoked FROM hosts WHERE sensor_id = ?", (sensor_id,))
        return not got or bool(got[0][0])

    def mark_all_disconnected(self, holder: str | None = None) -> None:
        with self._tx() as conn:
            if holder is None:
                conn.execute("UPDATE hosts SET connected = 0 WHERE connected != 0")
            else:
                conn.execute(
                    "UPDATE hosts SET connected = 0 WHERE connected != 0 AND holder = ?",
                    (holder,),
                )

    def release_host(self, sensor_id: str, holder: str, seen_ms: int) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE hosts SET connected = 0, last_seen_ms = MAX(last_seen_ms, ?)"
                " WHERE sensor_id = ? AND holder = ?",
                (seen_ms, sensor_id, holder),
            )

    def beat_node(self, node: str, alive_until_ms: int) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO collector_nodes (node, alive_until_ms) VALUES (?, ?)"
                " ON CONFLICT (node) DO UPDATE SET alive_until_ms = excluded.alive_until_ms",
                (node, alive_until_ms),
            )

    def _live_nodes(self) -> set[str]:
        now_ms = int(time.time() * 1000)
        got = self._query("SELECT node FROM collector_nodes WHERE alive_until_ms >= ?", (now_ms,))
        return {r[0] for r in got}
