"""The updates area of the store: release packages staged for sensors and the rollouts that send
them (which host got which Update command). Progress and outcome per host are the commands'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class PackageRecord:
    sha256: str  # hex, of the whole package file; also its name on disk
    version: str
    platform: str
    size: int
    path: str
    key_id: str
    created_ms: int


@dataclass(frozen=True)
class RolloutTarget:
    sensor_id: str
    command_id: str


@dataclass(frozen=True)
class RolloutRecord:
    rollout_id: str
    package_sha256: str
    version: str
    created_ms: int
    requested_by: str
    percent: int
    confirm_within_s: int
    targets: tuple[RolloutTarget, ...] = ()


@runtime_checkable
class UpdateStore(Protocol):
    def put_package(self, package: PackageRecord) -> None:
        """Keep a package; storing the same SHA-256 again changes nothing."""
        ...

    def get_package(self, sha256: str) -> PackageRecord | None: ...

    def add_rollout(self, rollout: RolloutRecord) -> None: ...

    def get_rollout(self, rollout_id: str) -> RolloutRecord | None: ...

    def list_rollouts(self, limit: int = 50) -> list[RolloutRecord]:
        """Newest first."""
        ...

    def package_for_command(self, command_id: str) -> PackageRecord | None:
        """The package a rollout's Update command installs (None: not an update command)."""
        ...
