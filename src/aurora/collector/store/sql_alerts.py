"""The alerts area (the ``alerts`` table, written by detection and by analysts) in SQL that both
backends run as written; the new row's id and the larger-of-two function come from the backend's
dialect (:mod:`.sql_dialect`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from aurora.collector.store import sql_records
from aurora.collector.store.base import AlertRecord, NewAlert
from aurora.collector.store.sql_dialect import SQLDatabase, given, rows, sql, where

_INSERT = (
    "INSERT INTO alerts (rule_uid, sensor_id, dedup_key, severity_id, title, status,"
    " first_seen_ms, last_seen_ms, count, finding) VALUES (?, ?, ?, ?, ?, 'new', ?, ?, 1, ?)"
)


def insert_alerts(db: SQLDatabase, conn: Any, alerts: Sequence[NewAlert]) -> list[int]:
    """Insert new alerts inside the caller's transaction on ``conn`` (ingest commits them with
    the events they were raised on); return their ids."""
    insert = sql(db, _INSERT)
    return [
        db._insert_id(
            conn,
            insert,
            [
                db._text(v)
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
            "alert_id",
        )
        for a in alerts
    ]


class SQLAlerts:
    """:class:`~aurora.collector.store.base.AlertStore`, mixed into a backend's database."""

    def add_alerts(self: SQLDatabase, alerts: Sequence[NewAlert]) -> list[int]:
        with self._tx() as conn:
            return insert_alerts(self, conn, alerts)

    def bump_alert(
        self: SQLDatabase,
        alert_id: int,
        time_ms: int,
        finding: dict[str, Any] | None,
        count: int = 1,
    ) -> None:
        sets = f"count = count + ?, last_seen_ms = {self.GREATEST}(last_seen_ms, ?)"
        params: list[Any] = [count, time_ms]
        if finding is not None:
            sets += ", finding = ?"
            params.append(orjson.dumps(finding).decode())
        with self._tx() as conn:
            conn.execute(
                sql(self, f"UPDATE alerts SET {sets} WHERE alert_id = ?"), [*params, alert_id]
            )

    def list_alerts(
        self: SQLDatabase,
        *,
        since_ms: int | None = None,
        status: str | None = None,
        sensor_id: str | None = None,
        limit: int = 1000,
    ) -> list[AlertRecord]:
        clauses, params = given(
            ("last_seen_ms >= ?", since_ms), ("status = ?", status), ("sensor_id = ?", sensor_id)
        )
        got = rows(
            self,
            f"{sql_records.ALERT_SELECT}{where(clauses)}"
            " ORDER BY last_seen_ms DESC, alert_id DESC LIMIT ?",
            [*params, limit],
        )
        return [sql_records.alert_from_row(r) for r in got]

    def get_alert(self: SQLDatabase, alert_id: int) -> AlertRecord | None:
        got = rows(self, sql_records.ALERT_SELECT + " WHERE alert_id = ?", (alert_id,))
        return sql_records.alert_from_row(got[0]) if got else None

    def set_alert_status(self: SQLDatabase, alert_id: int, status: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                sql(self, "UPDATE alerts SET status = ? WHERE alert_id = ?"), (status, alert_id)
            )
            return bool(cur.rowcount > 0)
