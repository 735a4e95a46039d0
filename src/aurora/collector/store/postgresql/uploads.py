"""The uploads area over PostgreSQL: the ``uploads`` table, one row per command."""

from __future__ import annotations

from aurora.collector.store.base import UploadRecord
from aurora.collector.store.postgresql.database import PostgresDatabase


class PostgresUploads(PostgresDatabase):
    """:class:`~aurora.collector.store.base.UploadStore` over the store's pool."""

    def record_upload(self, upload: UploadRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO uploads (command_id, sensor_id, path, size, sha256, complete,"
                " updated_ms) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (command_id)"
                " DO UPDATE SET path = excluded.path, size = excluded.size,"
                " sha256 = excluded.sha256, complete = excluded.complete,"
                " updated_ms = excluded.updated_ms",
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

    def get_upload(self, command_id: str) -> UploadRecord | None:
        got = self._query(
            "SELECT command_id, sensor_id, path, size, sha256, complete, updated_ms FROM uploads"
            " WHERE command_id = %s",
            (command_id,),
        )
        if not got:
            return None
        r = got[0]
        return UploadRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6])
