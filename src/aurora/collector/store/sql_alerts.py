"""The alerts area (the ``alerts`` table, written by detection and by analysts) in SQL that both
backends run as written; the new row's id and the larger-of-two function come from the backend's
dialect (:mod:`.sql_dialect`). Repeats find their alert by (sensor, rule, key) through the
``alerts_key`` index, inside the transaction that stores the events they were seen in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from aurora.collector.store import sql_records
from aurora.collector.store.base import AlertRecord, AlertRepeat, NewAlert
from aurora.collector.store.sql_dialect import SQLDatabase, given, rows, sql, where

_INSERT = (
    "INSERT INTO alerts (rule_uid, sensor_id, dedup_key, severity_id, title, status,"
    " first_seen_ms, last_seen_ms, count, finding) VALUES (?, ?, ?, ?, ?, 'new', ?, ?, ?, ?)"
)
#: The newest alert of a (rule, sensor, key), by the ``alerts_key`` index.
_NEWEST_OF_KEY = (
    "SELECT alert_id FROM alerts WHERE sensor_id = ? AND rule_uid = ? AND dedup_key = ?"
    " ORDER BY alert_id DESC LIMIT 1"
)


def insert_alerts(db: SQLDatabase, conn: Any, alerts: Sequence[NewAlert]) -> list[int]:
    """Insert new alerts inside the caller's transaction on ``conn``; return their ids."""
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
                    a.last_seen_ms,
                    a.count,
                    orjson.dumps(a.finding).decode(),
                )
            ],
            "alert_id",
        )
        for a in alerts
    ]


def fold_repeats(db: SQLDatabase, conn: Any, repeats: Sequence[AlertRepeat]) -> int:
    """Add each repeat to the newest alert of its key inside the caller's transaction on
    ``conn``; return how many found one."""
    found = 0
    for r in repeats:
        sets = f"count = count + ?, last_seen_ms = {db.GREATEST}(last_seen_ms, ?)"
        params: list[Any] = [r.count, r.last_ms]
        if r.finding is not None:
            sets += ", finding = ?"
            params.append(db._text(orjson.dumps(r.finding).decode()))
        key = [db._text(v) for v in (r.sensor_id, r.rule_uid, r.dedup_key)]
        cur = conn.execute(
            sql(db, f"UPDATE alerts SET {sets} WHERE alert_id = ({_NEWEST_OF_KEY})"),
            [*params, *key],
        )
        found += int(cur.rowcount > 0)
    return found


def write_alerts(db: SQLDatabase, conn: Any, alerts: Sequence[NewAlert | AlertRepeat]) -> None:
    """Apply what detection decided on a group, in order, inside the caller's transaction
    (ingest commits it with the events it was raised on): new alerts inserted, repeats folded
    into their stored alerts."""
    i = 0
    while i < len(alerts):
        # Runs of one kind at a time, keeping the order between kinds.
        j = i
        kind = type(alerts[i])
        while j < len(alerts) and type(alerts[j]) is kind:
            j += 1
        run = alerts[i:j]
        if kind is AlertRepeat:
            fold_repeats(db, conn, [a for a in run if isinstance(a, AlertRepeat)])
        else:
            insert_alerts(db, conn, [a for a in run if isinstance(a, NewAlert)])
        i = j


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

    def fold_repeats(self: SQLDatabase, repeats: Sequence[AlertRepeat]) -> int:
        with self._tx() as conn:
            return fold_repeats(self, conn, repeats)

    def latest_alert(
        self: SQLDatabase, rule_uid: str, sensor_id: str, dedup_key: str
    ) -> AlertRecord | None:
        got = rows(
            self,
            f"{sql_records.ALERT_SELECT} WHERE alert_id = ({_NEWEST_OF_KEY})",
            [self._text(v) for v in (sensor_id, rule_uid, dedup_key)],
        )
        return sql_records.alert_from_row(got[0]) if got else None

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
