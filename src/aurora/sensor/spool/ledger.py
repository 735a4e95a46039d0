"""Loss counters on their way to the collector, and the spool's small persistent state file.

Every loss (kernel drops, evicted or corrupt spool events) is a count that must reach the
collector exactly once. A count rides on the next batch as a delta; it is forgotten only when that
batch is acknowledged, and goes back into the pending pile if the stream breaks first. The state
file keeps the pending counts, the acknowledged sequence number and the next sequence number, so
a sensor restart loses neither.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from aurora.atomicfile import write_atomic

log = logging.getLogger(__name__)

DROP_KINDS = ("kernel", "spool_evicted", "spool_corrupt", "plugin")


@dataclass
class DropLedger:
    pending: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_KINDS, 0))
    # (last sequence number of the batch that carries them, the counts)
    in_flight: list[tuple[int, dict[str, int]]] = field(default_factory=list)
    # Cumulative since this process started, for heartbeats.
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_KINDS, 0))

    def add(self, kind: str, n: int) -> None:
        if n > 0:
            self.pending[kind] += n
            self.totals[kind] += n

    def take(self, batch_last_seq: int) -> dict[str, int]:
        """Attach every pending count to the batch ending at ``batch_last_seq``."""
        taken = dict(self.pending)
        self.pending = dict.fromkeys(DROP_KINDS, 0)
        if any(taken.values()):
            self.in_flight.append((batch_last_seq, taken))
        return taken

    def acked(self, through_seq: int) -> bool:
        """Forget counts the collector now has; True when there were any."""
        before = len(self.in_flight)
        self.in_flight = [(s, c) for s, c in self.in_flight if s > through_seq]
        return len(self.in_flight) != before

    def requeue(self) -> None:
        """The stream broke: counts on unacknowledged batches travel again on the next ones."""
        for _, counts in self.in_flight:
            for kind, n in counts.items():
                self.pending[kind] += n
        self.in_flight = []

    def unreported(self) -> dict[str, int]:
        out = dict(self.pending)
        for _, counts in self.in_flight:
            for kind, n in counts.items():
                out[kind] += n
        return out


@dataclass
class SpoolState:
    acked_through: int = 0
    next_seq: int = 1
    # Losses of sequence numbers below this are already counted (so rereading a damaged
    # segment after a reconnect does not count it twice).
    loss_counted_through: int = 0
    unreported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_KINDS, 0))


def load_state(path: Path) -> SpoolState:
    """Read the state file; a missing or unreadable one means a fresh spool (data is rescanned)."""
    try:
        raw = json.loads(path.read_text())
        state = SpoolState(
            acked_through=int(raw["acked_through"]),
            next_seq=int(raw["next_seq"]),
            loss_counted_through=int(raw.get("loss_counted_through", 0)),
        )
        for kind in DROP_KINDS:
            state.unreported[kind] = int(raw.get("unreported", {}).get(kind, 0))
        return state
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return SpoolState()


def save_state(path: Path, state: SpoolState, *, fsync: bool = True) -> None:
    """Replace the state file whole (:func:`aurora.atomicfile.write_atomic`): a crash or a full
    disk leaves the old file or the new one; the OSError propagates for the caller to judge."""
    data = json.dumps(
        {
            "acked_through": state.acked_through,
            "next_seq": state.next_seq,
            "loss_counted_through": state.loss_counted_through,
            "unreported": state.unreported,
        }
    ).encode()
    write_atomic(path, data, fsync=fsync)


RESERVE_BYTES = 16 * 1024


class StateFile:
    """The spool's state file, saved best-effort: a disk refusing the write is logged, not fatal.

    A stale state file costs only resent batches (the collector discards duplicates, and its
    Welcome tells a restarted sensor what it already holds), so a full disk must not stop the
    sensor over it. What a stale file would lose is the loss counts not yet reported, so a small
    reserve file is kept beside it: when the disk is full, the reserve is given up to make room
    for the state, and taken again once there is space.
    """

    def __init__(self, path: Path, fsync: bool) -> None:
        self.path = path
        self.fsync = fsync
        self.saved_at = 0.0
        self.error = ""  # why the last save failed; empty when it worked
        self._reserve = path.with_suffix(".reserve")

    def load(self) -> SpoolState:
        return load_state(self.path)

    def save(self, state: SpoolState, *, quiet: bool = False) -> bool:
        """Write ``state``; False (and logged once, unless ``quiet``) when the disk refuses it."""
        try:
            self._write_using_reserve(state)
        except OSError as exc:
            if not self.error and not quiet:
                log.error(
                    "spool state could not be saved to %s (%s); retrying on the next change",
                    self.path,
                    exc.strerror or exc,
                )
            self.error = exc.strerror or str(exc)
            return False
        if self.error:
            log.info("spool state saved again to %s", self.path)
            self.error = ""
        self.saved_at = time.monotonic()
        self._take_reserve()
        return True

    def _write_using_reserve(self, state: SpoolState) -> None:
        try:
            save_state(self.path, state, fsync=self.fsync)
        except OSError as exc:
            if exc.errno != errno.ENOSPC or not self._reserve.exists():
                raise
            self._reserve.unlink()
            save_state(self.path, state, fsync=self.fsync)

    def _take_reserve(self) -> None:
        if self._reserve.exists():
            return
        try:
            with self._reserve.open("wb") as fh:
                os.chmod(self._reserve, 0o600)
                fh.write(bytes(RESERVE_BYTES))
                fh.flush()
                os.fsync(fh.fileno())  # allocated now, not when the disk is already full
        except OSError:
            with contextlib.suppress(OSError):
                self._reserve.unlink()  # a partial reserve is no reserve; try again later
