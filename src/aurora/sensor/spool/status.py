"""What the spool hands out: a run of events to send, and a snapshot of its state for heartbeats."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpoolBatch:
    first_seq: int
    events: list[bytes]

    @property
    def last_seq(self) -> int:
        return self.first_seq + len(self.events) - 1


@dataclass(frozen=True)
class SpoolStatus:
    bytes_used: int
    bytes_max: int
    events_queued: int
    next_seq: int
    acked_through: int
    disk_error: str = ""  # why the last write to the spool's disk failed; empty when healthy
