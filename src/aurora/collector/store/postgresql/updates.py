"""The updates area over PostgreSQL: ``update_packages``, ``rollouts`` and ``rollout_targets``
(the same tables as the SQLite backend's)."""

from __future__ import annotations

from typing import Any

from aurora.collector.store.base.updates import PackageRecord, RolloutRecord, RolloutTarget
from aurora.collector.store.postgresql.database import PostgresDatabase

_PACKAGE = "SELECT sha256, version, platform, size, path, key_id, created_ms FROM update_packages"
_ROLLOUT = (
    "SELECT rollout_id, package_sha256, version, created_ms, requested_by, percent,"
    " confirm_within_s FROM rollouts"
)


class PostgresUpdates(PostgresDatabase):
    """:class:`~aurora.collector.store.base.UpdateStore` over the store's pool."""

    def put_package(self, package: PackageRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO update_packages (sha256, version, platform, size, path, key_id,"
                " created_ms) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (sha256) DO NOTHING",
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

    def get_package(self, sha256: str) -> PackageRecord | None:
        got = self._query(_PACKAGE + " WHERE sha256 = %s", (sha256,))
        return PackageRecord(*got[0]) if got else None

    def add_rollout(self, rollout: RolloutRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO rollouts (rollout_id, package_sha256, version, created_ms,"
                " requested_by, percent, confirm_within_s) VALUES (%s, %s, %s, %s, %s, %s, %s)",
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
            conn.cursor().executemany(
                "INSERT INTO rollout_targets (command_id, rollout_id, sensor_id)"
                " VALUES (%s, %s, %s)",
                [(t.command_id, rollout.rollout_id, t.sensor_id) for t in rollout.targets],
            )

    def get_rollout(self, rollout_id: str) -> RolloutRecord | None:
        got = self._query(_ROLLOUT + " WHERE rollout_id = %s", (rollout_id,))
        return self._with_targets(got[0]) if got else None

    def list_rollouts(self, limit: int = 50) -> list[RolloutRecord]:
        rows = self._query(_ROLLOUT + " ORDER BY created_ms DESC, rollout_id LIMIT %s", (limit,))
        return [self._with_targets(row) for row in rows]

    def package_for_command(self, command_id: str) -> PackageRecord | None:
        got = self._query(
            "SELECT p.sha256, p.version, p.platform, p.size, p.path, p.key_id, p.created_ms"
            " FROM update_packages p JOIN rollouts r ON r.package_sha256 = p.sha256"
            " JOIN rollout_targets t ON t.rollout_id = r.rollout_id WHERE t.command_id = %s",
            (command_id,),
        )
        return PackageRecord(*got[0]) if got else None

    def _with_targets(self, row: tuple[Any, ...]) -> RolloutRecord:
        targets = self._query(
            "SELECT sensor_id, command_id FROM rollout_targets WHERE rollout_id = %s"
            " ORDER BY sensor_id",
            (row[0],),
        )
        rid, sha, version, created, by, percent, confirm = row
        return RolloutRecord(
            rid,
            sha,
            version,
            created,
            by,
            percent,
            confirm,
            tuple(RolloutTarget(*t) for t in targets),
        )
