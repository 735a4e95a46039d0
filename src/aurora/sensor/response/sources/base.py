"""What every triage source shares: its result type, the hashing context, a stat row."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Beyond this size a file is listed without its hash: hashing a multi-GB image would stall triage.
HASH_MAX_BYTES = 512 * 1024**2
_CHUNK = 1 << 20


@dataclass
class SourceResult:
    """Rows for ``artifacts/NAME.json``; ``files`` go into the archive; notes explain gaps."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    truncated: bool = False


class Context:
    """Shared by the sources of one triage run: hashes cached by inode, each file read once."""

    def __init__(self, max_file_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self._hashes: dict[tuple[int, int, int, int], str | None] = {}

    def sha256(self, path: str | Path) -> str | None:
        """SHA-256 of a file (None when unreadable or too large), cached by identity."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if key in self._hashes:
            return self._hashes[key]
        value: str | None = None
        if st.st_size <= HASH_MAX_BYTES:
            digest = hashlib.sha256()
            try:
                with open(path, "rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        digest.update(chunk)
                value = digest.hexdigest()
            except OSError:
                value = None
        self._hashes[key] = value
        return value


def stat_row(path: str, st: os.stat_result) -> dict[str, Any]:
    return {
        "path": path,
        "size": st.st_size,
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mode": f"{st.st_mode & 0o7777:04o}",
        "mtime": st.st_mtime,
        "ctime": st.st_ctime,
        "atime": st.st_atime,
    }


Source = Callable[[dict[str, Any], Context], SourceResult]
