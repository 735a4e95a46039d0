"""Windows behind the platform seam: the same names as ``linux.py``, each answering with a typed
"unsupported" error until its Windows implementation lands (ETW source, WFP isolation, ...).

Imports cleanly on Linux, so the seam is tested here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aurora.config.response import ResponseConfig
from aurora.config.sensor import SensorConfig
from aurora.sensor.response.artifacts import Artifact
from aurora.sensor.response.errors import UnsupportedPlatform
from aurora.sensor.response.isolation import IsolationBackend
from aurora.sensor.response.isolation_windows import WfpIsolation
from aurora.sensor.response.quarantine import Vault
from aurora.sensor.response.triage import Progress
from aurora.sensor.source import EventSource, NoEventSource

__all__ = [
    "collect_triage",
    "event_source",
    "isolation_backend",
    "kill_process",
    "quarantine_vault",
]

_NOT_BUILT = "is not implemented on Windows in this sensor build"


def event_source(config: SensorConfig) -> EventSource:
    raise NoEventSource(f"the Windows event source (ETW, Sysmon channel) {_NOT_BUILT}")


def isolation_backend(config: ResponseConfig) -> IsolationBackend:
    return WfpIsolation()


def kill_process(
    pid: int, start_time_ms: float | None, tree: bool, tolerance_ms: int, sensor_pid: int
) -> dict[str, Any]:
    raise UnsupportedPlatform(f"killing a process {_NOT_BUILT}")


class UnsupportedVault(Vault):
    """A vault that refuses every request: moving files aside on NTFS is not built yet."""

    def quarantine(self, raw: str) -> dict[str, Any]:
        raise UnsupportedPlatform(f"quarantine {_NOT_BUILT}")

    def restore(self, entry_id: str) -> dict[str, Any]:
        raise UnsupportedPlatform(f"restoring from quarantine {_NOT_BUILT}")


def quarantine_vault(root: Path, refused: list[Path]) -> Vault:
    return UnsupportedVault(root, refused)


def collect_triage(
    out_dir: Path,
    artifacts: list[Artifact],
    cap_bytes: int,
    max_file_bytes: int,
    compression: str,
    progress: Progress | None = None,
) -> tuple[Path, dict[str, Any]]:
    raise UnsupportedPlatform(f"triage collection {_NOT_BUILT}")
