"""Files sensors upload for a command (triage packages), received in acknowledged chunks.

Chunks are appended to ``<state>/uploads/<command_id>.part`` only at the expected offset, so a
sensor that reconnects mid-upload resumes from the ``next_offset`` it is told. The last chunk
carries the SHA-256 of the whole file; on a match the file becomes ``<command_id>.bin``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from pathlib import Path

from aurora.collector.store.base import Store, UploadRecord
from aurora.v1 import stream_pb2

log = logging.getLogger("aurora.collector.uploads")

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class UploadReceiver:
    def __init__(self, store: Store, directory: Path, max_bytes: int) -> None:
        self.store = store
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def final_path(self, command_id: str) -> Path:
        return self.directory / f"{command_id}.bin"

    def handle(self, sensor_id: str, chunk: stream_pb2.UploadChunk) -> stream_pb2.ChunkAck:
        cid = chunk.command_id

        def refuse(reason: str, next_offset: int = 0) -> stream_pb2.ChunkAck:
            log.warning("upload %s from %s refused: %s", cid, sensor_id, reason)
            return stream_pb2.ChunkAck(
                command_id=cid, next_offset=next_offset, accepted=False, reason=reason
            )

        if not _SAFE_ID.match(cid):
            return refuse("invalid command id")
        cmd = self.store.get_command(cid)
        if cmd is None or cmd.sensor_id != sensor_id:
            return refuse("no such command for this sensor")
        part = self.directory / f"{cid}.part"
        have = part.stat().st_size if part.exists() else 0
        if chunk.offset != have:
            return refuse(f"expected offset {have}, got {chunk.offset}", have)
        end = have + len(chunk.data)
        if end > self.max_bytes or chunk.total_size > self.max_bytes:
            part.unlink(missing_ok=True)
            return refuse(f"upload exceeds the {self.max_bytes}-byte cap")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, chunk.data)
            if chunk.last:
                os.fsync(fd)
        finally:
            os.close(fd)
        now = int(time.time() * 1000)
        if not chunk.last:
            self.store.record_upload(UploadRecord(cid, sensor_id, str(part), end, "", False, now))
            return stream_pb2.ChunkAck(command_id=cid, next_offset=end, accepted=True)
        if chunk.total_size and chunk.total_size != end:
            part.unlink(missing_ok=True)
            return refuse(f"received {end} bytes but the sensor declared {chunk.total_size}")
        digest = _sha256(part)
        if chunk.sha256 and digest != chunk.sha256.hex():
            part.unlink(missing_ok=True)
            return refuse("sha256 mismatch: the upload is corrupt and was discarded")
        final = self.final_path(cid)
        os.replace(part, final)
        self.store.record_upload(UploadRecord(cid, sensor_id, str(final), end, digest, True, now))
        log.info("upload %s from %s complete: %d bytes, sha256 %s", cid, sensor_id, end, digest)
        return stream_pb2.ChunkAck(command_id=cid, next_offset=end, accepted=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
