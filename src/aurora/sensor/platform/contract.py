"""The names every platform module (``linux``, ``windows``) exposes, as one Protocol.

A module satisfies it by defining these functions at top level; :func:`aurora.sensor.platform
.current` returns one, and the type checker holds each module to this list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from aurora.config.response import ResponseConfig
from aurora.config.sensor import SensorConfig
from aurora.sensor.response.artifacts import Artifact
from aurora.sensor.response.isolation import IsolationBackend
from aurora.sensor.response.quarantine import Vault
from aurora.sensor.response.triage import Progress
from aurora.sensor.source import EventSource


class Platform(Protocol):
    """The running OS's event source and response implementations."""

    def event_source(self, config: SensorConfig) -> EventSource: ...

    def isolation_backend(self, config: ResponseConfig) -> IsolationBackend: ...

    def kill_process(
        self,
        pid: int,
        start_time_ms: float | None,
        tree: bool,
        tolerance_ms: int,
        sensor_pid: int,
    ) -> dict[str, Any]: ...

    def quarantine_vault(self, root: Path, refused: list[Path]) -> Vault: ...

    def collect_triage(
        self,
        out_dir: Path,
        artifacts: list[Artifact],
        cap_bytes: int,
        max_file_bytes: int,
        compression: str,
        progress: Progress | None = None,
    ) -> tuple[Path, dict[str, Any]]: ...


PLATFORM_FUNCTIONS = (
    "event_source",
    "isolation_backend",
    "kill_process",
    "quarantine_vault",
    "collect_triage",
)
