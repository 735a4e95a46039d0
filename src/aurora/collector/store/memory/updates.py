"""The updates area in memory: packages by SHA-256, rollouts in insertion order."""

from __future__ import annotations

import threading
from dataclasses import replace

from aurora.collector.store.base.updates import PackageRecord, RolloutRecord


class MemoryUpdates:
    """:class:`~aurora.collector.store.base.UpdateStore` in dicts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._packages: dict[str, PackageRecord] = {}
        self._rollouts: dict[str, RolloutRecord] = {}
        self._by_command: dict[str, str] = {}

    def put_package(self, package: PackageRecord) -> None:
        with self._lock:
            self._packages.setdefault(package.sha256, package)

    def get_package(self, sha256: str) -> PackageRecord | None:
        with self._lock:
            return self._packages.get(sha256)

    def add_rollout(self, rollout: RolloutRecord) -> None:
        with self._lock:
            if rollout.rollout_id in self._rollouts:
                raise ValueError(f"rollout {rollout.rollout_id} exists")
            ordered = tuple(sorted(rollout.targets, key=lambda t: t.sensor_id))
            self._rollouts[rollout.rollout_id] = replace(rollout, targets=ordered)
            for target in rollout.targets:
                self._by_command[target.command_id] = rollout.rollout_id

    def get_rollout(self, rollout_id: str) -> RolloutRecord | None:
        with self._lock:
            return self._rollouts.get(rollout_id)

    def list_rollouts(self, limit: int = 50) -> list[RolloutRecord]:
        with self._lock:
            newest = sorted(self._rollouts.values(), key=lambda r: (-r.created_ms, r.rollout_id))
            return newest[:limit]

    def package_for_command(self, command_id: str) -> PackageRecord | None:
        with self._lock:
            rollout = self._rollouts.get(self._by_command.get(command_id, ""))
            return None if rollout is None else self._packages.get(rollout.package_sha256)
