"""Alert deduplication: the same (rule id, host, key) within the window is one alert."""

from __future__ import annotations

import time
from collections import OrderedDict


class Suppressor:
    """Remembers when each (rule, host, key) last raised an alert.

    :meth:`admit` returns True for the first sighting and again once ``window_s`` has passed
    since the last admitted one; repeats inside the window are counted, not raised. Memory is
    bounded by ``max_keys`` (oldest first out), since expired keys are also purged as time moves.

    What :meth:`admit` changes is provisional until :meth:`commit`: the collector decides on a
    group of events before storing it, and a group that is not stored must leave no trace, or its
    events, evaluated again, would count as already seen. :meth:`rollback` undoes everything since
    the last commit.
    """

    def __init__(self, window_s: float, max_keys: int = 100_000) -> None:
        self.window_s = float(window_s)
        self.max_keys = max_keys
        self._last: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self.suppressed: dict[tuple[str, str, str], int] = {}
        # key -> (last admitted, suppressed count) before the first change since the last commit
        self._undo: dict[tuple[str, str, str], tuple[float | None, int | None]] = {}

    def admit(self, rule_id: str, host: str, key: str = "", now: float | None = None) -> bool:
        now = time.time() if now is None else now
        k = (rule_id, host, key)
        last = self._last.get(k)
        self._remember(k)
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
            self._remember(k)
            del self._last[k]
            self.suppressed.pop(k, None)

    def commit(self) -> None:
        """Keep what was admitted and counted since the last commit."""
        self._undo.clear()

    def rollback(self) -> None:
        """Forget what was admitted and counted since the last commit."""
        for k, (last, count) in self._undo.items():
            if last is None:
                self._last.pop(k, None)
            else:
                self._last[k] = last
            if count is None:
                self.suppressed.pop(k, None)
            else:
                self.suppressed[k] = count
        self._undo.clear()

    def _remember(self, k: tuple[str, str, str]) -> None:
        if k not in self._undo:
            self._undo[k] = (self._last.get(k), self.suppressed.get(k))
