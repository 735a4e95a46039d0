"""The updates area (``update_packages``, ``rollouts``, ``rollout_targets``) in SQL that both
backends run as written, placeholders apart: each backend's database names its ``PARAM``.

The first area shared this way; the others still keep one copy per backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from aurora.collector.store.base.updates import PackageRecord, RolloutRecord, RolloutTarget

_PACKAGE = "SELECT sha256, version, platform, size, path, key_id, created_ms FROM update_packages"
_ROLLOUT = (
    "SELECT rollout_id, package_sha256, version, created_ms, requested_by, percent,"
    " confirm_within_s FROM rollouts"
)


class _Database(Protocol):
    """What the mixin needs from a backend's database class."""

    PARAM: str

    def _tx(self) -> AbstractContextManager[Any]: ...
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


def _sql(db: _Database, text: str) -> str:
    return text if db.PARAM == "?" else text.replace("?", db.PARAM)


def _rows(db: _Database, text: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    return db._query(_sql(db, text), params)


class SQLUpdates:
    """:class:`~aurora.collector.store.base.UpdateStore`, mixed into a backend's database."""

    def put_package(self: _Database, package: PackageRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                _sql(
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

    def get_package(self: _Database, sha256: str) -> PackageRecord | None:
        got = _rows(self, _PACKAGE + " WHERE sha256 = ?", (sha256,))
        return PackageRecord(*got[0]) if got else None

    def add_rollout(self: _Database, rollout: RolloutRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                _sql(
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
                _sql(
                    self,
                    "INSERT INTO rollout_targets (command_id, rollout_id, sensor_id)"
                    " VALUES (?, ?, ?)",
                ),
                [(t.command_id, rollout.rollout_id, t.sensor_id) for t in rollout.targets],
            )

    def get_rollout(self: _Database, rollout_id: str) -> RolloutRecord | None:
        got = _rows(self, _ROLLOUT + " WHERE rollout_id = ?", (rollout_id,))
        return _with_targets(self, got[0]) if got else None

    def list_rollouts(self: _Database, limit: int = 50) -> list[RolloutRecord]:
        rows = _rows(self, _ROLLOUT + " ORDER BY created_ms DESC, rollout_id LIMIT ?", (limit,))
        return [_with_targets(self, row) for row in rows]

    def package_for_command(self: _Database, command_id: str) -> PackageRecord | None:
        got = _rows(
            self,
            "SELECT p.sha256, p.version, p.platform, p.size, p.path, p.key_id, p.created_ms"
            " FROM update_packages p JOIN rollouts r ON r.package_sha256 = p.sha256"
            " JOIN rollout_targets t ON t.rollout_id = r.rollout_id WHERE t.command_id = ?",
            (command_id,),
        )
        return PackageRecord(*got[0]) if got else None


def _with_targets(db: _Database, row: tuple[Any, ...]) -> RolloutRecord:
    targets = _rows(
        db,
        "SELECT sensor_id, command_id FROM rollout_targets WHERE rollout_id = ? ORDER BY sensor_id",
        (row[0],),
    )
    rid, sha, version, created, by, percent, confirm = row
    return RolloutRecord(
        rid, sha, version, created, by, percent, confirm,
        tuple(RolloutTarget(*t) for t in targets),
    )  # fmt: skip
