"""The alerts area over PostgreSQL: the ``alerts`` table, written by detection and by analysts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from aurora.collector.store import sql_records
from aurora.collector.store.base import AlertRecord, NewAlert
from aurora.collector.store.postgresql.database import (
    Connection,
    PostgresDatabase,
    clean_text,
)


def insert_alerts(conn: Connection, alerts: Sequence[NewAlert]) -> list[int]:
    """Insert new alerts inside the caller's transaction (ingest commits them with the events
    they were raised on); return their ids."""
    ids: list[int] = []
    for a in alerts:
        row = conn.execute(
            "INSERT INTO alerts (rule_uid, sensor_id, dedup_key, severity_id, title, status,"
            " first_seen_ms, last_seen_ms, count, finding)"
            " VALUES (%s, %s, %s, %s, %s, 'new', %s, %s, 1, %s) RETURNING alert_id",
            [
                clean_text(v)
                for v in (
                    a.rule_uid,
                    a.sensor_id,
                    a.dedup_key,
                    a.severity_id,
                    a.title,
                    a.time_ms,
                    a.time_ms,
                    orjson.dumps(a.finding).decode(),
                )
            ],
        ).fetchone()
        ids.append(int(row[0]) if row else 0)
    return ids


class PostgresAlerts(PostgresDatabase):
    """:class:`~aurora.collector.store.base.AlertStore` over the store's pool."""

    def add_alerts(self, alerts: Sequence[NewAlert]) -> list[int]:
        with self._tx() as conn:
            return insert_alerts(conn, alerts)

    def bump_alert(
        self, alert_id: int, time_ms: int, finding: dict[str, Any] | None, count: int = 1
    ) -> None:
        bump = "count = count + %s, last_seen_ms = GREATEST(last_seen_ms, %s)"
        with self._tx() as conn:
            if finding is None:
                conn.execute(
                    f"UPDATE alerts SET {bump} WHERE alert_id = %s", (count, time_ms, alert_id)
                )
            else:
                conn.execute(
                    f"UPDATE alerts SET {bump}, finding = %s WHERE alert_id = %s",
                    (count, time_ms, orjson.dumps(finding).decode(), alert_id),
                )

    def list_alerts(
        self,
        *,
        since_ms: int | None = None,
        status: str | None = None,
        sensor_id: str | None = None,
        limit: int = 1000,
    ) -> list[AlertRecord]:
        clauses: list[str] = []
        params: list[Any] = []
        for cond, val in (
            ("last_seen_ms >= %s", since_ms),
            ("status = %s", status),
            ("sensor_id = %s", sensor_id),
        ):
            if val is not None:
                clauses.append(cond)
                params.append(val)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        got = self._query(
            f"{sql_records.ALERT_SELECT}{where} ORDER BY last_seen_ms DESC, alert_id DESC LIMIT %s",
            [*params, limit],
        )
        return [sql_records.alert_from_row(r) for r in got]

    def get_alert(self, alert_id: int) -> AlertRecord | None:
        got = self._query(sql_records.ALERT_SELECT + " WHERE alert_id = %s", (alert_id,))
        return sql_records.alert_from_row(got[0]) if got else None

    def set_alert_status(self, alert_id: int, status: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE alerts SET status = %s WHERE alert_id = %s", (status, alert_id)
            )
            return cur.rowcount > 0
