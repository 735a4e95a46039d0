"""The guard's book of states: each hook or family, its state, and since when.

A check reports what it sees now; the book keeps when each entry entered its state, and says which
entries have just gone bad, so a tamper event is raised once per transition, not once per check.
"""

from __future__ import annotations

from dataclasses import dataclass

from aurora.v1 import stream_pb2

OK = "ok"


@dataclass(frozen=True)
class Observation:
    """What one check saw of one hook or family."""

    name: str
    state: str
    detail: str = ""
    since_ms: int | None = None  # when it started, if the check knows better than "now"


@dataclass(frozen=True)
class Entry:
    name: str
    state: str
    detail: str
    since_ms: int

    def to_proto(self) -> stream_pb2.HookStatus:
        return stream_pb2.HookStatus(
            name=self.name, state=self.state, detail=self.detail, since_unix_ms=self.since_ms
        )


class StateBook:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def record(self, seen: list[Observation], now_ms: int) -> list[Entry]:
        """Apply one check's observations; returns the entries that have just left ``ok``
        (or changed from one bad state to another)."""
        went_bad: list[Entry] = []
        for obs in seen:
            old = self._entries.get(obs.name)
            if old is not None and old.state == obs.state:
                self._entries[obs.name] = Entry(obs.name, obs.state, obs.detail, old.since_ms)
                continue
            entry = Entry(obs.name, obs.state, obs.detail, obs.since_ms or now_ms)
            self._entries[obs.name] = entry
            if obs.state != OK:
                went_bad.append(entry)
        return went_bad

    def entries(self) -> list[Entry]:
        return sorted(self._entries.values(), key=lambda e: e.name)

    def all_ok(self) -> bool:
        return all(e.state == OK for e in self._entries.values())
