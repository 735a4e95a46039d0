"""One process per state directory: an exclusive lock on a file in it, held for the process life.

Two collectors (or two sensors) on one directory would both write its database, spool or keys;
the second one refuses at start instead. The lock is ``flock`` on ``<role>.lock``, so the kernel
releases it when the holder exits, however it exits: a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from aurora.errors import AuroraError

try:
    import fcntl
except ImportError:  # Windows, where a sensor runs as a service that the SCM starts only once
    fcntl = None  # type: ignore[assignment]


class StateDirInUse(AuroraError):
    """Another process holds the state directory's lock."""


class StateDirLock:
    """Take with :meth:`acquire`; the lock lasts until :meth:`release` or the process exits."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, state_dir: Path, role: str) -> StateDirLock:
        """Lock ``state_dir`` for this ``role`` ("collector", "sensor") or raise StateDirInUse."""
        path = state_dir / f"{role}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AuroraError(f"cannot lock state directory {state_dir}: {exc.strerror}") from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise StateDirInUse(
                    f"another {role}{holder} is already running on state directory "
                    f"{state_dir}; stop it first, or give this one its own --state-dir"
                ) from None
        # The holder's pid, so the refusal above can say who it is (best effort: on a full disk
        # the lock still holds without it).
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _read_holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        os.lseek(fd, 0, os.SEEK_SET)
        pid = int(os.read(fd, 32).decode().strip())
        return f" (pid {pid})"
    return ""
