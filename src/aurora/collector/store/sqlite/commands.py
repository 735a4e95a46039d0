"""The commands area over SQLite: the ``commands`` table, the queue the sensor streams drain."""

from __future__ import annotations

from typing import Any

import orjson

from aurora.collector.store import sql_records
from aurora.collector.store.base import CommandRecord
from aurora.collector.store.base.commands import stays_final
from aurora.collector.store.sqlite.database import SQLiteDatabase


class SQLiteCommands(SQLiteDatabase):
    """:class:`~aurora.collector.store.base.CommandStore` over the store's connection."""

    def enqueue_command(self, command: CommandRecord) -> None:
        values = sql_records.command_values(command)
        with self._tx() as conn:
            conn.execute(
                f"INSERT INTO commands ({', '.join(values)})"
                f" VALUES ({', '.join('?' for _ in values)})",
                list(values.values()),
            )

    def get_command(self, command_id: str) -> CommandRecord | None:
        got = self._query(sql_records.COMMAND_SELECT + " WHERE command_id = ?", (command_id,))
        return sql_records.command_from_row(got[0]) if got else None

    def pending_commands(self, sensor_id: str, now_ms: int) -> list[CommandRecord]:
        with self._tx() as conn:
            conn.execute(
                "UPDATE commands SET state = 'expired', updated_ms = ?, error_code = 'expired',"
                " message = 'expired before the sensor received it'"
                " WHERE sensor_id = ? AND state = 'queued' AND expires_ms > 0 AND expires_ms <= ?",
                (now_ms, sensor_id, now_ms),
            )
            got = conn.execute(
                sql_records.COMMAND_SELECT
                + " WHERE sensor_id = ? AND state IN ('queued', 'sent') ORDER BY created_ms",
                (sensor_id,),
            ).fetchall()
        return [sql_records.command_from_row(r) for r in got]

    def list_commands(self, sensor_id: str | None = None, limit: int = 100) -> list[CommandRecord]:
        if sensor_id is None:
            got = self._query(
                sql_records.COMMAND_SELECT + " ORDER BY created_ms DESC LIMIT ?", (limit,)
            )
        else:
            got = self._query(
                sql_records.COMMAND_SELECT
                + " WHERE sensor_id = ? ORDER BY created_ms DESC LIMIT ?",
                (sensor_id, limit),
            )
        return [sql_records.command_from_row(r) for r in got]

    def update_command(
        self,
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
        sets, params = ["updated_ms = ?"], [now_ms]
        for col, val in (
            ("state", state),
            ("progress", progress),
            ("stage", stage),
            ("error_code", error_code),
            ("message", message),
        ):
            if val is not None:
                sets.append(f"{col} = ?")
                params.append(val)  # type: ignore[arg-type]
        if result is not None:
            sets.append("result = ?")
            params.append(orjson.dumps(result).decode())  # type: ignore[arg-type]
        with self._tx() as conn:
            row = conn.execute(
                "SELECT state FROM commands WHERE command_id = ?", (command_id,)
            ).fetchone()
            if row is None:
                return False
            if stays_final(row[0], state):
                return True
            conn.execute(
                f"UPDATE commands SET {', '.join(sets)} WHERE command_id = ?",
                [*params, command_id],
            )
        return True
