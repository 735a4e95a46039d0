"""A size-capped, compressed tar archive that records the SHA-256 of every member it writes.

The cap holds for the compressed file: the compressor is flushed after each member so the bytes
on disk are known, and a member that could push the archive past the cap (counted as if it did
not compress at all) is skipped and listed, never silently dropped. ``manifest.json`` goes last,
so it can list every member's hash.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import tarfile
import time
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

# Room kept for tar headers and the manifest, which is written after everything else.
MANIFEST_RESERVE = 256 * 1024
_HEADER = 1536


class CappedArchive:
    """Write members into ``path`` (tar.zst or tar.gz) without exceeding ``cap_bytes``."""

    def __init__(self, path: Path, compression: str, cap_bytes: int) -> None:
        self.path = path
        self.cap = cap_bytes
        self.files: dict[str, dict[str, Any]] = {}
        self.skipped: list[dict[str, Any]] = []
        self._raw: BinaryIO = path.open("wb")
        self._comp: Any
        if compression == "zstd":
            self._comp = zstandard.ZstdCompressor(level=3).stream_writer(self._raw, closefd=False)
        else:
            self._comp = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6)
        self._compression = compression
        # Closed in close()/abort(): the archive outlives this constructor.
        self._tar = tarfile.open(fileobj=self._comp, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115

    def _flush(self) -> None:
        if self._compression == "zstd":
            self._comp.flush(zstandard.FLUSH_BLOCK)
        else:
            self._comp.flush(zlib.Z_SYNC_FLUSH)

    def written(self) -> int:
        return self._raw.tell()

    def fits(self, size: int) -> bool:
        return self.written() + size + _HEADER + MANIFEST_RESERVE <= self.cap

    def add_bytes(self, name: str, data: bytes, meta: dict[str, Any] | None = None) -> bool:
        """Add one member; False (and listed in ``skipped``) when it would break the cap."""
        if not self.fits(len(data)):
            self.skipped.append({"name": name, "size": len(data), "reason": "archive size cap"})
            return False
        self._put(name, data)
        self.files[name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            **(meta or {}),
        }
        return True

    def _put(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = int(time.time())
        info.mode = 0o600
        self._tar.addfile(info, io.BytesIO(data))
        self._flush()

    def close(self, manifest: dict[str, Any]) -> None:
        """Write ``manifest.json`` (with the member hashes) and finish the archive."""
        manifest = {**manifest, "files": self.files, "skipped": self.skipped}
        self._put("manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
        self._tar.close()
        self._comp.close()
        self._raw.close()

    def abort(self) -> None:
        for closer in (self._tar.close, self._comp.close, self._raw.close):
            # Best effort: we are already failing and must not mask the first error.
            with contextlib.suppress(Exception):
                closer()
        self.path.unlink(missing_ok=True)


def open_archive(path: Path) -> tarfile.TarFile:
    """Open a triage archive for reading, whichever compression it uses (tests, the collector)."""
    raw = path.read_bytes()
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    else:
        raw = gzip.decompress(raw)
    return tarfile.open(fileobj=io.BytesIO(raw), mode="r")
