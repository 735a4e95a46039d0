"""Loss counters on their way to the collector, and the spool's small persistent state file.

Every loss (kernel drops, evicted or corrupt spool events) is a count that must reach the
collector exactly once. A count rides on the next batch as a delta; it is forgotten only when that
batch is acknowledged, and goes back into the pending pile if the stream breaks first. The state
file keeps the pending counts, the acknowledged sequence number and the next sequence number, so
a sensor restart loses neither.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

DROP_KINDS = ("kernel", "spool_evicted", "spool_corrupt")


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


def save_state(path: Path, state: SpoolState) -> None:
    # Written with rename so a crash leaves the old or the new file, never half of one. No fsync:
    # a stale file only means resending batches the collector will discard as duplicates.
    tmp = path.with_suffix(".tmp")
    data = json.dumps(
        {
            "acked_through": state.acked_through,
            "next_seq": state.next_seq,
            "loss_counted_through": state.loss_counted_through,
            "unreported": state.unreported,
        }
    )
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
