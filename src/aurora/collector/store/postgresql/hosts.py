"""The hosts area over PostgreSQL: the ``hosts`` table, joined with ``sequences`` for high water."""

from __future__ import annotations

from aurora.collector.store import sql_records
from aurora.collector.store.base import HostRecord, HostStatus
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
        return sql_records.host_from_row(got[0]) if got else None

    def resolve_host(self, id_or_hostname: str) -> list[str]:
        got = self._query(
            "SELECT sensor_id FROM hosts WHERE sensor_id = %s OR hostname = %s ORDER BY sensor_id",
            (id_or_hostname, id_or_hostname),
        )
        return [r[0] for r in got]

    def list_hosts(self) -> list[HostRecord]:
        got = self._query(sql_records.HOST_SELECT + " ORDER BY h.hostname, h.sensor_id")
        return [sql_records.host_from_row(r) for r in got]

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

    def mark_all_disconnected(self) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE hosts SET connected = 0 WHERE connected != 0")
