"""Counts the plugin host keeps: events accepted and lost per plugin, connections refused per
reason. Read by the agent for heartbeats and the batch DropCounters; thread-safe."""

from __future__ import annotations

import threading
from collections import Counter


class PluginStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.accepted: Counter[str] = Counter()
        self.lost: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def accept(self, plugin: str, n: int = 1) -> None:
        with self._lock:
            self.accepted[plugin] += n

    def lose(self, plugin: str, n: int = 1) -> None:
        if n > 0:
            with self._lock:
                self.lost[plugin] += n

    def refuse(self, reason: str) -> None:
        with self._lock:
            self.refused[reason] += 1

    def lost_by_plugin(self) -> dict[str, int]:
        with self._lock:
            return dict(self.lost)

    def counters(self) -> dict[str, int]:
        """Heartbeat counters: ``plugin_events.<name>``, ``plugin_lost.<name>``,
        ``plugin_refused.<reason>`` (cumulative since the sensor started)."""
        with self._lock:
            out = {f"plugin_events.{k}": v for k, v in self.accepted.items()}
            out.update({f"plugin_lost.{k}": v for k, v in self.lost.items()})
            out.update({f"plugin_refused.{k}": v for k, v in self.refused.items()})
        return out
