"""The commands area (the ``commands`` table, the queue the sensor streams drain) in SQL that both
backends run as written; only the row lock differs (:mod:`.sql_dialect`)."""

from __future__ import annotations

from typing import Any

import orjson

from aurora.collector.store import sql_records
from aurora.collector.store.base import CommandRecord
from aurora.collector.store.base.commands import stays_final
from aurora.collector.store.sql_dialect import SQLDatabase, marks, rows, sql

_SELECT = sql_records.COMMAND_SELECT


class SQLCommands:
    """:class:`~aurora.collector.store.base.CommandStore`, mixed into a backend's database."""

    def enqueue_command(self: SQLDatabase, command: CommandRecord) -> None:
        values = sql_records.command_values(command)
        with self._tx() as conn:
            conn.execute(
                sql(
                    self,
                    f"INSERT INTO commands ({', '.join(values)}) VALUES ({marks(len(values))})",
                ),
                list(values.values()),
            )

    def get_command(self: SQLDatabase, command_id: str) -> CommandRecord | None:
        got = rows(self, _SELECT + " WHERE command_id = ?", (command_id,))
        return sql_records.command_from_row(got[0]) if got else None

    def pending_commands(self: SQLDatabase, sensor_id: str, now_ms: int) -> list[CommandRecord]:
        with self._tx() as conn:
            conn.execute(
                sql(
                    self,
                    "UPDATE commands SET state = 'expired', updated_ms = ?, error_code = 'expired',"
                    " message = 'expired before the sensor received it' WHERE sensor_id = ?"
                    " AND state = 'queued' AND expires_ms > 0 AND expires_ms <= ?",
                ),
                (now_ms, sensor_id, now_ms),
            )
            got = conn.execute(
                sql(
                    self,
                    _SELECT
                    + " WHERE sensor_id = ? AND state IN ('queued', 'sent') ORDER BY created_ms",
                ),
                (sensor_id,),
            ).fetchall()
        return [sql_records.command_from_row(r) for r in got]

    def list_commands(
        self: SQLDatabase, sensor_id: str | None = None, limit: int = 100
    ) -> list[CommandRecord]:
        if sensor_id is None:
            got = rows(self, _SELECT + " ORDER BY created_ms DESC LIMIT ?", (limit,))
        else:
            got = rows(
                self,
                _SELECT + " WHERE sensor_id = ? ORDER BY created_ms DESC LIMIT ?",
                (sensor_id, limit),
            )
        return [sql_records.command_from_row(r) for r in got]

    def update_command(
        self: SQLDatabase,
        command_id: str,
        *,
        now_ms: int,
        state: str | None = None,
        progress: float | None = None,
        stage: str | None = None,
        error_code: str | None = None,
        message: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> bool:
        changes: dict[str, Any] = {
            "state": state,
            "progress": progress,
            "stage": stage,
            "error_code": error_code,
            "message": message,
            "result": None if result is None else orjson.dumps(result).decode(),
        }
        sets = ["updated_ms = ?"] + [f"{col} = ?" for col, v in changes.items() if v is not None]
        params = [now_ms] + [v for v in changes.values() if v is not None]
        with self._tx() as conn:
            # FOR_UPDATE: on PostgreSQL a result arriving on another node waits, so a final
            # state stays final.
            row = conn.execute(
                sql(self, "SELECT state FROM commands WHERE command_id = ?" + self.FOR_UPDATE),
                (command_id,),
            ).fetchone()
            if row is None:
                return False
            if stays_final(row[0], state):
                return True
            conn.execute(
                sql(self, f"UPDATE commands SET {', '.join(sets)} WHERE command_id = ?"),
                [*params, command_id],
            )
        return True
