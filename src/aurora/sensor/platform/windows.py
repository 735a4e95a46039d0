"""Windows behind the platform seam: the same names as ``linux.py``. On Windows the event
source is the Windows sensor (event-log channels + ETW), isolation installs WFP filters and kill
opens the process by handle, quarantine moves files into an ACL-locked vault
(``response.quarantine_windows``); triage still answers with a typed "unsupported" error.
Off Windows every call is a typed "unsupported" error (replay is the way to run Windows code here).

Imports cleanly on Linux, so the seam is tested here.
"""

from __future__ import annotations

import sys
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
    """The event-log channels and the ETW session (``aurora.sensor.windows.sensor``)."""
    if sys.platform != "win32":
        raise NoEventSource("the Windows event source runs only on Windows; use --replay FILE")
    from aurora.sensor.windows.sensor import WindowsSensor

    source: EventSource = WindowsSensor(config.state_dir)
    return source


def isolation_backend(config: ResponseConfig) -> IsolationBackend:
    """WFP filters on Windows; elsewhere the placeholder whose every call says unsupported."""
    if sys.platform != "win32":
        return WfpIsolation()
    from aurora.sensor.windows.wfp_engine import WfpEngineIsolation

    return WfpEngineIsolation(persistent=config.isolation_persistent)


def kill_process(
    pid: int, start_time_ms: float | None, tree: bool, tolerance_ms: int, sensor_pid: int
) -> dict[str, Any]:
    if sys.platform != "win32":
        raise UnsupportedPlatform(f"killing a Windows process {_NOT_BUILT} off Windows")
    from aurora.sensor.windows import kill

    return kill.kill_process(pid, start_time_ms, tree, tolerance_ms, sensor_pid)


class UnsupportedVault(Vault):
    """A vault that refuses every request: the NTFS vault runs only on Windows."""

    def quarantine(self, raw: str) -> dict[str, Any]:
        raise UnsupportedPlatform(f"quarantine {_NOT_BUILT}")

    def restore(self, entry_id: str) -> dict[str, Any]:
        raise UnsupportedPlatform(f"restoring from quarantine {_NOT_BUILT}")


def quarantine_vault(root: Path, refused: list[Path]) -> Vault:
    if sys.platform != "win32":
        return UnsupportedVault(root, refused)
    from aurora.sensor.response.quarantine_windows import WindowsVault

    return WindowsVault(root, refused)


def collect_triage(
    out_dir: Path,
    artifacts: list[Artifact],
    cap_bytes: int,
    max_file_bytes: int,
    compression: str,
    progress: Progress | None = None,
) -> tuple[Path, dict[str, Any]]:
    raise UnsupportedPlatform(f"triage collection {_NOT_BUILT}")
