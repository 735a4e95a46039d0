"""The uploads area in memory: one upload record per command."""

from __future__ import annotations

import threading
from dataclasses import replace

from aurora.collector.store.base import UploadRecord


class MemoryUploads:
    """:class:`~aurora.collector.store.base.UploadStore` in a dict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uploads: dict[str, UploadRecord] = {}

    def record_upload(self, upload: UploadRecord) -> None:
        with self._lock:
            known = self._uploads.get(upload.command_id)
            # The upload stays with the sensor that started it, whatever a later record says.
            self._uploads[upload.command_id] = (
                upload if known is None else replace(upload, sensor_id=known.sensor_id)
            )

    def get_upload(self, command_id: str) -> UploadRecord | None:
        with self._lock:
            return self._uploads.get(command_id)
