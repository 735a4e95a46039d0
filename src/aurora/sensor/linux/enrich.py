"""Enrichment caches: SHA-256 of executables keyed by (dev, inode, mtime), user names by uid.

The kernel record carries the exe's device, inode and mtime, so a repeat exec of the same binary
costs one dict lookup; the file is hashed only the first time that triple is seen.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO, Final

HASH_MAX_BYTES = 256 * 1024 * 1024
# Larger files are hashed on a background thread (hashlib releases the GIL), so one big binary
# (a browser, ~200 MB) never stalls the event pipeline; its first events go out without a hash.
INLINE_MAX_BYTES = 8 * 1024 * 1024
MISSING: Final = object()


class HashCache:
    def __init__(self, max_bytes: int = HASH_MAX_BYTES, max_entries: int = 65536) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._cache: dict[tuple[int, int, int], str | None] = {}
        self._pending: set[tuple[int, int, int]] = set()
        self._queued: dict[tuple[int, int, int], BinaryIO] = {}
        self._pool: ThreadPoolExecutor | None = None

    def cached(self, key: tuple[int, int, int]) -> str | object | None:
        """The cached digest (None: could not be read), or MISSING when never computed."""
        return self._cache.get(key, MISSING)

    def sha256(self, key: tuple[int, int, int], paths: tuple[str, ...]) -> str | None:
        """Hash the first readable of ``paths`` (e.g. /proc/PID/exe, then the path); None while
        a large file is being hashed in the background, or when none can be read."""
        if key in self._cache:
            return self._cache[key]
        if key in self._pending:
            return None
        fh = _open_first(paths)
        if fh is None:
            self._store(key, None)
            return None
        size = os.fstat(fh.fileno()).st_size
        if size > self.max_bytes:
            fh.close()
            self._store(key, None)
            return None
        if size <= INLINE_MAX_BYTES:
            with fh:
                digest = _digest(fh)
            self._store(key, digest)
            return digest
        # The file stays open, so the thread hashes this very file even if the path changes.
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aurora-hash")
        self._pending.add(key)
        self._queued[key] = fh
        self._pool.submit(self._background, key, fh)
        return None

    def _background(self, key: tuple[int, int, int], fh: BinaryIO) -> None:
        self._queued.pop(key, None)
        with fh:
            digest = _digest(fh)
        self._store(key, digest)
        self._pending.discard(key)

    def _store(self, key: tuple[int, int, int], digest: str | None) -> None:
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[key] = digest

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        # Hashes cancelled before they started still hold their file open.
        for fh in self._queued.values():
            fh.close()
        self._queued.clear()


def _open_first(paths: tuple[str, ...]) -> BinaryIO | None:
    for path in paths:
        if path:
            try:
                return open(path, "rb")  # closed by the caller or the hashing thread
            except OSError:
                continue
    return None


def _digest(fh: BinaryIO) -> str | None:
    h = hashlib.sha256()
    try:
        while chunk := fh.read(1 << 20):
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
