"""Replace a file whole: the one way Aurora writes state that must never be half-written.

The data goes to a temporary file beside the target, created with the target's final mode (no
moment where a key is readable by others), written in full (a short write is continued), made
durable with fsync when asked, then renamed over the target. A crash or a full disk therefore
leaves the old file or the new one, never part of one. On failure the temporary file is removed
and the OSError propagates: whether a failed write is fatal is the caller's decision.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600, fsync: bool = True) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        # O_CREAT's mode is masked by the umask, and a leftover temporary file keeps its own.
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
