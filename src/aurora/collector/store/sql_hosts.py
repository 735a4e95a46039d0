"""The hosts area (the ``hosts`` table joined with ``sequences`` for high water, and the
``collector_nodes`` liveness records) in SQL that both backends run as written
(:mod:`.sql_dialect`)."""

from __future__ import annotations

import time

from aurora.collector.store import sql_records
from aurora.collector.store.base import HostRecord, HostStatus
from aurora.collector.store.base.hosts import shown_connected
from aurora.collector.store.sql_dialect import SQLDatabase, marks, rows, sql


class SQLHosts:
    """:class:`~aurora.collector.store.base.HostStore`, mixed into a backend's database."""

    def register_host(self: SQLDatabase, host: HostRecord) -> None:
        values = sql_records.host_values(host)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "sensor_id")
        with self._tx() as conn:
            conn.execute(
                sql(
                    self,
                    f"INSERT INTO hosts ({', '.join(values)}) VALUES ({marks(len(values))})"
                    f" ON CONFLICT (sensor_id) DO UPDATE SET {updates}",
                ),
                [self._text(v) for v in values.values()],
            )

    def get_host(self: SQLDatabase, sensor_id: str) -> HostRecord | None:
        got = rows(self, sql_records.HOST_SELECT + " WHERE h.sensor_id = ?", (sensor_id,))
        if not got:
            return None
        return shown_connected([sql_records.host_from_row(got[0])], _live_nodes(self))[0]

    def resolve_host(self: SQLDatabase, id_or_hostname: str) -> list[str]:
        got = rows(
            self,
            "SELECT sensor_id FROM hosts WHERE sensor_id = ? OR hostname = ? ORDER BY sensor_id",
            (id_or_hostname, id_or_hostname),
        )
        return [r[0] for r in got]

    def list_hosts(self: SQLDatabase) -> list[HostRecord]:
        got = rows(self, sql_records.HOST_SELECT + " ORDER BY h.hostname, h.sensor_id")
        return shown_connected([sql_records.host_from_row(r) for r in got], _live_nodes(self))

    def update_host_status(self: SQLDatabase, status: HostStatus) -> None:
        sets, params = sql_records.status_updates(status)
        # The shared column list is written with SQLite's two-argument MAX.
        text = ", ".join(sets).replace("MAX(", f"{self.GREATEST}(")
        with self._tx() as conn:
            conn.execute(
                sql(self, f"UPDATE hosts SET {text} WHERE sensor_id = ?"),
                [*(self._text(p) for p in params), status.sensor_id],
            )

    def set_cert_not_after(self: SQLDatabase, sensor_id: str, not_after_ms: int) -> None:
        with self._tx() as conn:
            conn.execute(
                sql(self, "UPDATE hosts SET cert_not_after_ms = ? WHERE sensor_id = ?"),
                (not_after_ms, sensor_id),
            )

    def revoke_host(self: SQLDatabase, sensor_id: str, now_ms: int) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                sql(self, "UPDATE hosts SET revoked = 1, revoked_ms = ? WHERE sensor_id = ?"),
                (now_ms, sensor_id),
            )
            return bool(cur.rowcount > 0)

    def is_revoked(self: SQLDatabase, sensor_id: str) -> bool:
        got = rows(self, "SELECT revoked FROM hosts WHERE sensor_id = ?", (sensor_id,))
        return not got or bool(got[0][0])

    def mark_all_disconnected(self: SQLDatabase, holder: str | None = None) -> None:
        with self._tx() as conn:
            if holder is None:
                conn.execute("UPDATE hosts SET connected = 0 WHERE connected != 0")
            else:
                conn.execute(
                    sql(self, "UPDATE hosts SET connected = 0 WHERE connected != 0 AND holder = ?"),
                    (holder,),
                )

    def release_host(self: SQLDatabase, sensor_id: str, holder: str, seen_ms: int) -> None:
        with self._tx() as conn:
            conn.execute(
                sql(
                    self,
                    "UPDATE hosts SET connected = 0,"
                    f" last_seen_ms = {self.GREATEST}(last_seen_ms, ?)"
                    " WHERE sensor_id = ? AND holder = ?",
                ),
                (seen_ms, sensor_id, holder),
            )

    def beat_node(self: SQLDatabase, node: str, alive_until_ms: int) -> None:
        with self._tx() as conn:
            conn.execute(
                sql(
                    self,
                    "INSERT INTO collector_nodes (node, alive_until_ms) VALUES (?, ?)"
                    " ON CONFLICT (node) DO UPDATE SET alive_until_ms = excluded.alive_until_ms",
                ),
                (node, alive_until_ms),
            )


def _live_nodes(db: SQLDatabase) -> set[str]:
    """The collector nodes whose liveness record has not run out."""
    now_ms = int(time.time() * 1000)
    got = rows(db, "SELECT node FROM collector_nodes WHERE alive_until_ms >= ?", (now_ms,))
    return {r[0] for r in got}
