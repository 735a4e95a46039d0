"""The uploads area (the ``uploads`` table, one row per command) in SQL that both backends run as
written, placeholders apart (:mod:`.sql_dialect`)."""

from __future__ import annotations

from aurora.collector.store.base import UploadRecord
from aurora.collector.store.sql_dialect import SQLDatabase, rows, sql


class SQLUploads:
    """:class:`~aurora.collector.store.base.UploadStore`, mixed into a backend's database."""

    def record_upload(self: SQLDatabase, upload: UploadRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                sql(
                    self,
                    "INSERT INTO uploads (command_id, sensor_id, path, size, sha256, complete,"
                    " updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (command_id)"
                    " DO UPDATE SET path = excluded.path, size = excluded.size,"
                    " sha256 = excluded.sha256, complete = excluded.complete,"
                    " updated_ms = excluded.updated_ms",
                ),
                (
                    upload.command_id,
                    upload.sensor_id,
                    upload.path,
                    upload.size,
                    upload.sha256,
                    int(upload.complete),
                    upload.updated_ms,
                ),
            )

    def get_upload(self: SQLDatabase, command_id: str) -> UploadRecord | None:
        got = rows(
            self,
            "SELECT command_id, sensor_id, path, size, sha256, complete, updated_ms FROM uploads"
            " WHERE command_id = ?",
            (command_id,),
        )
        if not got:
            return None
        r = got[0]
        return UploadRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6])
