"""The updates area (``update_packages``, ``rollouts``, ``rollout_targets``) in SQL that both
backends run as written, placeholders apart (:mod:`.sql_dialect`)."""

from __future__ import annotations

from typing import Any

from aurora.collector.store.base.updates import PackageRecord, RolloutRecord, RolloutTarget
from aurora.collector.store.sql_dialect import SQLDatabase, rows, sql

_PACKAGE = "SELECT sha256, version, platform, size, path, key_id, created_ms FROM update_packages"
_ROLLOUT = (
    "SELECT rollout_id, package_sha256, version, created_ms, requested_by, percent,"
    " confirm_within_s FROM rollouts"
)


class SQLUpdates:
    """:class:`~aurora.collector.store.base.UpdateStore`, mixed into a backend's database."""

    def put_package(self: SQLDatabase, package: PackageRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                sql(
                    self,
                    "INSERT INTO update_packages (sha256, version, platform, size, path, key_id,"
                    " created_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
                ),
                (
                    package.sha256,
                    package.version,
                    package.platform,
                    package.size,
                    package.path,
                    package.key_id,
                    package.created_ms,
                ),
            )

    def get_package(self: SQLDatabase, sha256: str) -> PackageRecord | None:
        got = rows(self, _PACKAGE + " WHERE sha256 = ?", (sha256,))
        return PackageRecord(*got[0]) if got else None

    def add_rollout(self: SQLDatabase, rollout: RolloutRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                sql(
                    self,
                    "INSERT INTO rollouts (rollout_id, package_sha256, version, created_ms,"
                    " requested_by, percent, confirm_within_s) VALUES (?, ?, ?, ?, ?, ?, ?)",
                ),
                (
                    rollout.rollout_id,
                    rollout.package_sha256,
                    rollout.version,
                    rollout.created_ms,
                    rollout.requested_by,
                    rollout.percent,
                    rollout.confirm_within_s,
                ),
            )
            # Both drivers' cursors take executemany (psycopg's connection does not).
            conn.cursor().executemany(
                sql(
                    self,
                    "INSERT INTO rollout_targets (command_id, rollout_id, sensor_id)"
                    " VALUES (?, ?, ?)",
                ),
                [(t.command_id, rollout.rollout_id, t.sensor_id) for t in rollout.targets],
            )

    def get_rollout(self: SQLDatabase, rollout_id: str) -> RolloutRecord | None:
        got = rows(self, _ROLLOUT + " WHERE rollout_id = ?", (rollout_id,))
        return _with_targets(self, got[0]) if got else None

    def list_rollouts(self: SQLDatabase, limit: int = 50) -> list[RolloutRecord]:
        found = rows(self, _ROLLOUT + " ORDER BY created_ms DESC, rollout_id LIMIT ?", (limit,))
        return [_with_targets(self, row) for row in found]

    def package_for_command(self: SQLDatabase, command_id: str) -> PackageRecord | None:
        got = rows(
            self,
            "SELECT p.sha256, p.version, p.platform, p.size, p.path, p.key_id, p.created_ms"
            " FROM update_packages p JOIN rollouts r ON r.package_sha256 = p.sha256"
            " JOIN rollout_targets t ON t.rollout_id = r.rollout_id WHERE t.command_id = ?",
            (command_id,),
        )
        return PackageRecord(*got[0]) if got else None


def _with_targets(db: SQLDatabase, row: tuple[Any, ...]) -> RolloutRecord:
    targets = rows(
        db,
        "SELECT sensor_id, command_id FROM rollout_targets WHERE rollout_id = ? ORDER BY sensor_id",
        (row[0],),
    )
    rid, sha, version, created, by, percent, confirm = row
    return RolloutRecord(
        rid, sha, version, created, by, percent, confirm,
        tuple(RolloutTarget(*t) for t in targets),
    )  # fmt: skip
