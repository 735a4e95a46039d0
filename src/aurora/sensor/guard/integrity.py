"""The sensor's own files on disk: its interpreter and entry point, its Python package and its BPF
objects, hashed at start and compared on every check.

A full re-hash every interval would cost more than the rest of the check together, so each check
compares a cheap fingerprint (inode, size, mtime, ctime: ctime cannot be set back from user
space) and hashes again only the files whose fingerprint moved; a file whose content then differs
from its hash at start has been changed.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import aurora

_SUFFIXES = {".py", ".o", ".so"}


def sensor_files() -> list[Path]:
    """The interpreter, the ``aurora`` entry point when run as one, every module and BPF object."""
    files = [Path(sys.executable).resolve()]
    entry = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if entry is not None and entry.is_file() and entry.suffix != ".py":
        files.append(entry.resolve())
    package = Path(aurora.__file__).parent
    for root, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        files.extend(Path(root) / n for n in sorted(names) if Path(n).suffix in _SUFFIXES)
    return files


def _fingerprint(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _sha256(path: Path) -> str:
    try:
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return "missing"


class FileIntegrity:
    def __init__(self, files: list[Path] | None = None) -> None:
        self._files = files if files is not None else sensor_files()
        self._hash = {p: _sha256(p) for p in self._files}
        self._seen = {p: _fingerprint(p) for p in self._files}
        self.changed: dict[Path, str] = {}  # path -> hash now, for files found changed

    def check(self) -> list[Path]:
        """Files whose content differs from start and were not reported before."""
        newly: list[Path] = []
        for path in self._files:
            fp = _fingerprint(path)
            if fp == self._seen[path]:
                continue
            self._seen[path] = fp
            now = _sha256(path)
            if now == self._hash[path]:
                self.changed.pop(path, None)
                continue
            if self.changed.get(path) != now:
                newly.append(path)
            self.changed[path] = now
        return newly

    def count(self) -> int:
        return len(self._files)
