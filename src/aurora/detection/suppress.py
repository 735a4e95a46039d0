"""Alert deduplication: the same (rule id, host, key) within the window is one alert."""

from __future__ import annotations

import time
from collections import OrderedDict


class Suppressor:
    """Remembers when each (rule, host, key) last raised an alert.

    :meth:`admit` returns True for the first sighting and again once ``window_s`` has passed
    since the last admitted one; repeats inside the window are counted, not raised. Memory is
    bounded by ``max_keys`` (oldest first out), since expired keys are also purged as time moves.
    """

    def __init__(self, window_s: float, max_keys: int = 100_000) -> None:
        self.window_s = float(window_s)
        self.max_keys = max_keys
        self._last: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self.suppressed: dict[tuple[str, str, str], int] = {}

    def admit(self, rule_id: str, host: str, key: str = "", now: float | None = None) -> bool:
        now = time.time() if now is None else now
        k = (rule_id, host, key)
        last = self._last.get(k)
        if last is not None and now - last < self.window_s:
            self.suppressed[k] = self.suppressed.get(k, 0) + 1
            return False
        self._last[k] = now
        self._last.move_to_end(k)
        self.suppressed.pop(k, None)
        self._purge(now)
        return True

    def _purge(self, now: float) -> None:
        while self._last:
            k, t = next(iter(self._last.items()))
            if now - t < self.window_s and len(self._last) <= self.max_keys:
                break
            del self._last[k]
            self.suppressed.pop(k, None)
