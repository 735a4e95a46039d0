"""The commands area over PostgreSQL: the ``commands`` table, the queue the sensor streams drain."""

from __future__ import annotations

from typing import Any

import orjson

from aurora.collector.store import sql_records
from aurora.collector.store.base import CommandRecord
from aurora.collector.store.base.commands import stays_final
from aurora.collector.store.postgresql.database import PostgresDatabase


class PostgresCommands(PostgresDatabase):
    """:class:`~aurora.collector.store.base.CommandStore` over the store's pool."""

    def enqueue_command(self, command: CommandRecord) -> None:
        values = sql_records.command_values(command)
        with self._tx() as conn:
            conn.execute(
                f"INSERT INTO commands ({', '.join(values)})"
                f" VALUES ({', '.join('%s' for _ in values)})",
                list(values.values()),
            )

    def get_command(self, command_id: str) -> CommandRecord | None:
        got = self._query(sql_records.COMMAND_SELECT + " WHERE command_id = %s", (command_id,))
        return sql_records.command_from_row(got[0]) if got else None

    def pending_commands(self, sensor_id: str, now_ms: int) -> list[CommandRecord]:
        with self._tx() as conn:
            conn.execute(
                "UPDATE commands SET state = 'expired', updated_ms = %s, error_code = 'expired',"
                " message = 'expired before the sensor received it' WHERE sensor_id = %s"
                " AND state = 'queued' AND expires_ms > 0 AND expires_ms <= %s",
                (now_ms, sensor_id, now_ms),
            )
            got = conn.execute(
                sql_records.COMMAND_SELECT
                + " WHERE sensor_id = %s AND state IN ('queued', 'sent') ORDER BY created_ms",
                (sensor_id,),
            ).fetchall()
        return [sql_records.command_from_row(r) for r in got]

    def list_commands(self, sensor_id: str | None = None, limit: int = 100) -> list[CommandRecord]:
        if sensor_id is None:
            got = self._query(
                sql_records.COMMAND_SELECT + " ORDER BY created_ms DESC LIMIT %s", (limit,)
            )
        else:
            got = self._query(
                sql_records.COMMAND_SELECT
                + " WHERE sensor_id = %s ORDER BY created_ms DESC LIMIT %s",
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
        sets: list[str] = ["updated_ms = %s"]
        params: list[Any] = [now_ms]
        for col, val in (
            ("state", state),
            ("progress", progress),
            ("stage", stage),
            ("error_code", error_code),
            ("message", message),
        ):
            if val is not None:
                sets.append(f"{col} = %s")
                params.append(val)
        if result is not None:
            sets.append("result = %s")
            params.append(orjson.dumps(result).decode())
        with self._tx() as conn:
            # FOR UPDATE: a result arriving on another node waits, so a final state stays final.
            row = conn.execute(
                "SELECT state FROM commands WHERE command_id = %s FOR UPDATE", (command_id,)
            ).fetchone()
            if row is None:
                return False
            if stays_final(row[0], state):
                return True
            conn.execute(
                f"UPDATE commands SET {', '.join(sets)} WHERE command_id = %s",
                [*params, command_id],
            )
        return True
