"""Pull a staged package from the collector over the sensor's own stream, one chunk at a time.

Only one chunk is ever in flight and each goes straight to disk, so memory stays bounded by the
chunk size whatever the package's size. A download interrupted by a reconnection resumes from the
bytes already on disk; the whole file must then match the SHA-256 the Update command carried.
"""

from __future__ import annotations

import hashlib
import os
import queue
from collections.abc import Callable
from pathlib import Path

from aurora.v1 import stream_pb2
from aurora.wire.release import ReleaseError

CHUNK_BYTES = 256 * 1024
CHUNK_TIMEOUT_S = 30.0
ATTEMPTS = 5

Send = Callable[[stream_pb2.SensorMessage], None]
Progress = Callable[[float, str], None]


class DownloadFailed(ReleaseError):
    code = "download_failed"


class Downloader:
    def __init__(self, send: Send) -> None:
        self._send = send
        self._inbox: dict[str, queue.Queue[stream_pb2.PackageChunk]] = {}

    def on_chunk(self, chunk: stream_pb2.PackageChunk) -> None:
        """Called on the stream's receiving thread."""
        box = self._inbox.get(chunk.command_id)
        if box is not None:
            box.put(chunk)

    def fetch(
        self, command_id: str, dest: Path, sha256: bytes, max_bytes: int, progress: Progress
    ) -> None:
        box: queue.Queue[stream_pb2.PackageChunk] = queue.Queue()
        self._inbox[command_id] = box
        try:
            self._fetch(command_id, dest, box, max_bytes, progress)
        except DownloadFailed:
            dest.unlink(missing_ok=True)  # the command failed; a new one starts afresh
            raise
        finally:
            self._inbox.pop(command_id, None)
        if _sha256(dest) != sha256:
            dest.unlink(missing_ok=True)
            raise DownloadFailed("the downloaded package does not match its SHA-256")

    def _fetch(
        self,
        command_id: str,
        dest: Path,
        box: queue.Queue[stream_pb2.PackageChunk],
        max_bytes: int,
        progress: Progress,
    ) -> None:
        offset = dest.stat().st_size if dest.exists() else 0
        total: int | None = None
        misses = 0
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while total is None or offset < total:
                self._send(
                    stream_pb2.SensorMessage(
                        package_request=stream_pb2.PackageRequest(
                            command_id=command_id, offset=offset, max_bytes=CHUNK_BYTES
                        )
                    )
                )
                try:
                    chunk = box.get(timeout=CHUNK_TIMEOUT_S)
                except queue.Empty:
                    chunk = None
                if chunk is None:
                    misses += 1  # the stream may have dropped: ask again from the same offset
                    if misses >= ATTEMPTS:
                        raise DownloadFailed(f"no package data for {misses * CHUNK_TIMEOUT_S:.0f}s")
                    continue
                if chunk.error:
                    raise DownloadFailed(f"the collector cannot serve the package: {chunk.error}")
                if chunk.offset != offset:
                    continue  # an answer to a request asked before a reconnection
                if chunk.total_size > max_bytes:
                    raise DownloadFailed(
                        f"the package is {chunk.total_size} bytes, above the {max_bytes}-byte limit"
                    )
                total = chunk.total_size
                if not chunk.data and offset < total:
                    raise DownloadFailed(f"the collector sent no data at offset {offset}")
                os.write(fd, chunk.data)
                offset += len(chunk.data)
                misses = 0
                progress(0.6 * offset / max(total, 1), "downloading")
            os.fsync(fd)
        finally:
            os.close(fd)
        if offset != total:
            raise DownloadFailed(f"received {offset} bytes, the package has {total}")


def _sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1024 * 1024):
            digest.update(block)
    return digest.digest()
