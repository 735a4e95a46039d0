"""Back-off for sensors whose batches keep being refused: past a budget of refusals in a window,
the collector stops reading that sensor's stream for a while, so a broken or hostile sensor cannot
keep the shared batch reader and writer busy with batches it will never store.

Pausing the read is enough: gRPC's flow control then holds the sensor's sends, and nothing else
waits, since each stream has its own reader. The pause doubles while the refusals go on and is
forgotten once a whole window passes without one.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("aurora.collector.stream")


@dataclass
class _Record:
    refusals: deque[float]
    last: float = float("-inf")
    paused_until: float = 0.0
    strikes: int = 0


class RefusalLimiter:
    """Counts refused batches per sensor and says how long to pause its stream."""

    def __init__(
        self,
        *,
        budget: int = 20,
        window_s: float = 10.0,
        first_pause_s: float = 0.5,
        max_pause_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self.window_s = window_s
        self.first_pause_s = first_pause_s
        self.max_pause_s = max_pause_s
        self._clock = clock
        # One entry per sensor that had a batch refused: bounded by the enrolled fleet.
        self._records: dict[str, _Record] = {}
        self.pauses = 0

    def refused(self, sensor_id: str) -> float:
        """Note one refused batch; return the pause it starts (0.0 while within the budget)."""
        now = self._clock()
        rec = self._records.get(sensor_id)
        if rec is None:
            # Only the last budget + 1 refusals matter, so no more are kept.
            rec = self._records[sensor_id] = _Record(deque(maxlen=self.budget + 1))
        if now - rec.last > self.window_s:
            rec.strikes = 0  # a quiet window: the sensor starts afresh
        rec.last = now
        rec.refusals.append(now)
        while rec.refusals and now - rec.refusals[0] > self.window_s:
            rec.refusals.popleft()
        if len(rec.refusals) <= self.budget or now < rec.paused_until:
            return 0.0
        pause = min(self.max_pause_s, self.first_pause_s * float(2**rec.strikes))
        rec.strikes = min(rec.strikes + 1, 32)
        rec.paused_until = now + pause
        rec.refusals.clear()
        self.pauses += 1
        log.warning(
            "sensor %s: more than %d batches refused in %.0f s; not reading its stream for %.1f s",
            sensor_id,
            self.budget,
            self.window_s,
            pause,
        )
        return pause

    def pause_left(self, sensor_id: str) -> float:
        """Seconds until this sensor's stream may be read again (0.0: now)."""
        rec = self._records.get(sensor_id)
        if rec is None:
            return 0.0
        return max(0.0, rec.paused_until - self._clock())
