"""The hosts area over PostgreSQL: the ``hosts`` table, joined with ``sequences`` for high water."""

from __future__ import annotations

import time

from aurora.collector.store import sql_records
from aurora.collector.store.base import HostRecord, HostStatus
from aurora.collector.store.base.hosts import shown_connected
from aurora.collector.store.postgresql.database import PostgresDatabase, clean_text


class PostgresHosts(PostgresDatabase):
    """:class:`~aurora.collector.store.base.HostStore` over the store's pool."""

    def register_host(self, host: HostRecord) -> None:
        values = sql_records.host_values(host)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "sensor_id")
        with self._tx() as conn:
            conn.execute(
                f"INSERT INTO hosts ({', '.join(values)})"
                f" VALUES ({', '.join('%s' for _ in values)})"
                f" ON CONFLICT (sensor_id) DO UPDATE SET {updates}",
                [clean_text(v) for v in values.values()],
            )

    def get_host(self, sensor_id: str) -> HostRecord | None:
        got = self._query(sql_records.HOST_SELECT + " WHERE h.sensor_id = %s", (sensor_id,))
        if not got:
            return None
        return shown_connected([sql_records.host_from_row(got[0])], self._live_nodes())[0]

    def resolve_host(self, id_or_hostname: str) -> list[str]:
        got = self._query(
            "SELECT sensor_id FROM hosts WHERE sensor_id = %s OR hostname = %s ORDER BY sensor_id",
            (id_or_hostname, id_or_hostname),
        )
        return [r[0] for r in got]

    def list_hosts(self) -> list[HostRecord]:
        got = self._query(sql_records.HOST_SELECT + " ORDER BY h.hostname, h.sensor_id")
        return shown_connected([sql_records.host_from_row(r) for r in got], self._live_nodes())

    def update_host_status(self, status: HostStatus) -> None:
        sets, params = sql_records.status_updates(status)
        # The shared column list is written for SQLite (two-argument MAX, ? markers).
        sets = [s.replace("MAX(", "GREATEST(").replace("?", "%s") for s in sets]
        with self._tx() as conn:
            conn.execute(
                f"UPDATE hosts SET {', '.join(sets)} WHERE sensor_id = %s",
                [*(clean_text(p) for p in params), status.sensor_id],
            )

    def set_cert_not_after(self, sensor_id: str, not_after_ms: int) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE hosts SET cert_not_after_ms = %s WHERE sensor_id = %s",
                (not_after_ms, sensor_id),
            )

    def revoke_host(self, sensor_id: str, now_ms: int) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE hosts SET revoked = 1, revoked_ms = %s WHERE sensor_id = %s",
                (now_ms, sensor_id),
            )
            return cur.rowcount > 0

    def is_revoked(self, sensor_id: str) -> bool:
        got = self._query("SELECT revoked FROM hosts WHERE sensor_id = %s", (sensor_id,))
        return not got or bool(got[0][0])

    def mark_all_disconnected(self, holder: str | None = None) -> None:
        with self._tx() as conn:
            if holder is None:
                conn.execute("UPDATE hosts SET connected = 0 WHERE connected != 0")
            else:
                conn.execute(
                    "UPDATE hosts SET connected = 0 WHERE connected != 0 AND holder = %s",
                    (holder,),
                )

    def release_host(self, sensor_id: str, holder: str, seen_ms: int) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE hosts SET connected = 0, last_seen_ms = GREATEST(last_seen_ms, %s)"
                " WHERE sensor_id = %s AND holder = %s",
                (seen_ms, sensor_id, holder),
            )

    def beat_node(self, node: str, alive_until_ms: int) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO collector_nodes (node, alive_until_ms) VALUES (%s, %s)"
                " ON CONFLICT (node) DO UPDATE SET alive_until_ms = excluded.alive_until_ms",
                (node, alive_until_ms),
            )

    def _live_nodes(self) -> set[str]:
        now_ms = int(time.time() * 1000)
        got = self._query("SELECT node FROM collector_nodes WHERE alive_until_ms >= %s", (now_ms,))
        return {r[0] for r in got}
