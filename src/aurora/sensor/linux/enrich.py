"""Enrichment caches: SHA-256 of executables keyed by (dev, inode, mtime), user names by uid.

The kernel record carries the exe's device, inode and mtime, so a repeat exec of the same binary
costs one dict lookup; the file is hashed only the first time that triple is seen.
"""

from __future__ import annotations

import grp
import hashlib
import pwd
from typing import Final

HASH_MAX_BYTES = 256 * 1024 * 1024
MISSING: Final = object()


class HashCache:
    def __init__(self, max_bytes: int = HASH_MAX_BYTES, max_entries: int = 65536) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._cache: dict[tuple[int, int, int], str | None] = {}

    def cached(self, key: tuple[int, int, int]) -> str | object | None:
        """The cached digest (None: could not be read), or MISSING when never computed."""
        return self._cache.get(key, MISSING)

    def sha256(self, key: tuple[int, int, int], paths: tuple[str, ...]) -> str | None:
        """Hash the first readable of ``paths`` (e.g. /proc/PID/exe, then the path)."""
        if key in self._cache:
            return self._cache[key]
        digest = None
        for path in paths:
            digest = _hash_file(path, self.max_bytes)
            if digest is not None:
                break
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[key] = digest
        return digest


def _hash_file(path: str, max_bytes: int) -> str | None:
    if not path:
        return None
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            read = 0
            while chunk := fh.read(1 << 20):
                read += len(chunk)
                if read > max_bytes:
                    return None
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


class NameCache:
    """uid -> user name and gid -> group name, resolved once through NSS."""

    def __init__(self) -> None:
        self._users: dict[int, str | None] = {}
        self._groups: dict[int, str | None] = {}

    def user(self, uid: int) -> str | None:
        if uid not in self._users:
            try:
                self._users[uid] = pwd.getpwuid(uid).pw_name
            except (KeyError, OverflowError):
                self._users[uid] = None
        return self._users[uid]

    def group(self, gid: int) -> str | None:
        if gid not in self._groups:
            try:
                self._groups[gid] = grp.getgrgid(gid).gr_name
            except (KeyError, OverflowError):
                self._groups[gid] = None
        return self._groups[gid]
