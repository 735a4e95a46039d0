"""The plugin side's bounded buffer of events waiting for the sensor: a plugin emits into it
whether or not the sensor is reachable, and what does not fit is counted, never silently lost."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

SINK_EVENTS = 10_000


class EventSink:
    def __init__(self, capacity: int = SINK_EVENTS) -> None:
        self.capacity = capacity
        self._events: deque[dict[str, Any]] = deque()
        self._ready = threading.Condition()
        self.lost = 0  # cumulative; sent to the sensor with every heartbeat

    def emit(self, event: dict[str, Any]) -> bool:
        """Queue ``event`` for the sensor; False (and counted lost) when the buffer is full."""
        with self._ready:
            if len(self._events) >= self.capacity:
                self.lost += 1
                return False
            self._events.append(event)
            self._ready.notify()
        return True

    def take(self, max_events: int, timeout_s: float) -> list[dict[str, Any]]:
        """Up to ``max_events``, waiting at most ``timeout_s`` for the first."""
        deadline = time.monotonic() + timeout_s
        with self._ready:
            while not self._events:
                left = deadline - time.monotonic()
                if (left <= 0 or not self._ready.wait(left)) and not self._events:
                    return []
            count = min(max_events, len(self._events))
            return [self._events.popleft() for _ in range(count)]

    def put_back(self, events: list[dict[str, Any]]) -> None:
        """Events a broken connection did not deliver go first in line again (what no longer
        fits is counted lost)."""
        with self._ready:
            room = max(0, self.capacity - len(self._events))
            keep = events[:room]
            self.lost += len(events) - len(keep)
            self._events.extendleft(reversed(keep))
            if keep:
                self._ready.notify()

    def count_lost(self, n: int) -> None:
        with self._ready:
            self.lost += n

    def __len__(self) -> int:
        with self._ready:
            return len(self._events)
