"""One collector per state directory: an exclusive lock on a file in it, held for the process life.

Two collectors on one directory would both write its database, its CA and its uploads; the second
one refuses at start instead. The lock is ``flock`` on ``collector.lock``, so the kernel releases
it when the holder exits, however it exits: a crashed collector never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from aurora.errors import AuroraError

try:
    import fcntl
except ImportError:  # Windows: the collector is not supported there
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "collector.lock"


class StateDirInUse(AuroraError):
    """Another process holds the state directory's lock."""


class StateDirLock:
    """Take with :meth:`acquire`; the lock lasts until :meth:`release` or the process exits."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, state_dir: Path) -> StateDirLock:
        path = state_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise StateDirInUse(
                    f"another collector{holder} is already running on state directory "
                    f"{state_dir}; stop it first, or give this one its own --state-dir"
                ) from None
        # The holder's pid, so the refusal above can say who it is.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _read_holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip())
        return f" (pid {pid})"
    return ""
