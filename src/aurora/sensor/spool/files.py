"""The spool's segment files: which exist, how big they are, and the one being appended to.

This layer knows files, not sequence semantics: create (``rotate``), append bytes, delete the
oldest, take back a failed append. The spool above decides when to do each and what a deletion
means for delivery and loss accounting.
"""

from __future__ import annotations

import bisect
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from aurora.sensor.spool.segment import (
    SEGMENT_HEADER,
    encode_header,
    parse_segment_name,
    segment_name,
)


@dataclass
class Segment:
    first_seq: int
    path: Path
    size: int  # bytes written (and, with fsync on, made durable) so far

    @property
    def empty(self) -> bool:
        return self.size <= SEGMENT_HEADER.size


class SegmentFiles:
    """Not thread-safe on its own: the spool calls it under its lock."""

    def __init__(self, directory: Path, fsync: bool) -> None:
        self.directory = directory
        self.fsync = fsync
        self.segments: list[Segment] = []
        self.total_bytes = 0
        self._fd: int | None = None  # open on segments[-1] when appending is possible

    def load(self) -> None:
        found = []
        for path in self.directory.iterdir():
            first = parse_segment_name(path)
            if first is not None:
                found.append(Segment(first, path, path.stat().st_size))
        self.segments = sorted(found, key=lambda s: s.first_seq)
        self.total_bytes = sum(s.size for s in self.segments)

    @property
    def writable(self) -> Segment | None:
        """The segment appends go to, when one is open."""
        return self.segments[-1] if self.segments and self._fd is not None else None

    def index_of(self, first_seq: int) -> int | None:
        firsts = [s.first_seq for s in self.segments]
        i = bisect.bisect_left(firsts, first_seq)
        return i if i < len(firsts) and firsts[i] == first_seq else None

    def holding(self, seq: int) -> int:
        """Index of the segment that would hold ``seq`` (the oldest when ``seq`` is older)."""
        firsts = [s.first_seq for s in self.segments]
        return max(0, bisect.bisect_right(firsts, seq) - 1)

    # ----------------------------------------------------------------- writing
    def write(self, run: list[bytes]) -> None:
        if not run or self._fd is None:
            return
        data = memoryview(b"".join(run))
        seg = self.segments[-1]
        try:
            done = 0
            while done < len(data):
                done += os.write(self._fd, data[done:])
        except OSError:
            # Disk full or I/O error: cut the partial write off so the segment stays a clean
            # run of records and no sequence number is ever written twice.
            os.ftruncate(self._fd, seg.size)
            raise
        seg.size += len(data)
        self.total_bytes += len(data)

    def sync(self) -> None:
        if self._fd is not None and self.fsync:
            os.fsync(self._fd)

    def rotate(self, first_seq: int) -> None:
        """Close the current segment and open a new one whose first record will be ``first_seq``."""
        self.close()
        last = self.segments[-1] if self.segments else None
        if last is not None and last.first_seq == first_seq:
            # An empty newest segment (only a header) is reused rather than duplicated.
            self._fd = os.open(last.path, os.O_WRONLY | os.O_APPEND)
            return
        path = self.directory / segment_name(first_seq)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        try:
            os.write(fd, encode_header(first_seq))
        except OSError:
            os.close(fd)
            path.unlink()
            raise
        self._fd = fd
        self.segments.append(Segment(first_seq, path, SEGMENT_HEADER.size))
        self.total_bytes += SEGMENT_HEADER.size
        if self.fsync and os.name == "posix":
            # The new name must survive a power cut too, not just its contents.
            dfd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)

    # ---------------------------------------------------------------- removing
    def remove_first(self) -> Segment:
        seg = self.segments.pop(0)
        self.total_bytes -= seg.size
        if not self.segments and self._fd is not None:
            os.close(self._fd)
            self._fd = None
        # A file that cannot be deleted (already gone, or a failing disk) is forgotten anyway:
        # if it is still there at the next start, its sequence numbers are below acked_through.
        with contextlib.suppress(OSError):
            seg.path.unlink()
        return seg

    def drop_last(self) -> None:
        """Forget the newest segment (its file is already gone or unusable)."""
        seg = self.segments.pop()
        self.total_bytes -= seg.size
        with contextlib.suppress(FileNotFoundError):
            seg.path.unlink()

    def truncate(self, seg: Segment, size: int) -> None:
        os.truncate(seg.path, size)
        self.total_bytes -= seg.size - size
        seg.size = size

    def rollback(self, first_seq: int, active: Segment | None, size: int) -> None:
        """Undo a failed append that started at ``first_seq``: delete the segments it created
        and cut ``active`` (the segment open when it began) back to ``size`` bytes."""
        while self.segments and self.segments[-1].first_seq >= first_seq:
            if self.segments[-1] is active:
                break
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self.drop_last()
        if active is not None and active in self.segments and active.size > size:
            with contextlib.suppress(OSError):
                self.truncate(active, size)
