"""The uploads area of the store: files a sensor sent back for a command (triage, quarantine)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class UploadRecord:
    command_id: str
    sensor_id: str
    path: str
    size: int
    sha256: str
    complete: bool
    updated_ms: int


@runtime_checkable
class UploadStore(Protocol):
    """One upload per command; recording it again updates where it is and how far it got."""

    def record_upload(self, upload: UploadRecord) -> None:
        """Insert, or update path, size, sha256, complete and updated_ms (never the sensor)."""
        ...

    def get_upload(self, command_id: str) -> UploadRecord | None: ...
