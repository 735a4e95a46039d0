"""Which day partition a batch goes to, and creating those partitions ahead of the rows.

A batch and all its index rows share one partition key: the batch's latest event time, kept within
[now - PAST_DAYS, now + FUTURE_DAYS] of the collector's clock. The bound keeps a sensor with a
wild clock from creating a table per batch; an event dated in the far future is therefore kept
in tomorrow's partition and leaves with it (docs/scale-out.md). Partitions are created in their
own short transaction under an advisory lock, before the ingest transaction needs them, so nodes
never race on the same DDL and ingest never holds a DDL lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from aurora.collector.store.postgresql.database import Connection

DAY_MS = 86_400_000
PAST_DAYS = 400
FUTURE_DAYS = 1
#: Advisory lock key serialising partition DDL across the nodes sharing a database.
PARTITION_LOCK = 0x4155524F  # "AURO"


def now_ms() -> int:
    return int(time.time() * 1000)


def partition_key(latest_event_ms: int, now: int) -> int:
    """The partition key of a batch whose latest event is ``latest_event_ms``."""
    return min(max(latest_event_ms, now - PAST_DAYS * DAY_MS), now + FUTURE_DAYS * DAY_MS)


def day_of(key_ms: int) -> int:
    return key_ms - key_ms % DAY_MS


class PartitionCache:
    """The days this process knows have partitions; another node's retention may drop one, so a
    refused row makes the caller :meth:`forget` and ensure again."""

    def __init__(self) -> None:
        self._days: set[int] = set()
        self._lock = threading.Lock()

    def missing(self, days: Iterable[int]) -> list[int]:
        with self._lock:
            return sorted(set(days) - self._days)

    def ensure(self, conn: Connection, days: Iterable[int]) -> None:
        todo = self.missing(days)
        if not todo:
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
            for day in todo:
                conn.execute("SELECT aurora_event_partition(%s)", (day,))
        with self._lock:
            self._days.update(todo)

    def ensure_ahead(self, conn: Connection, now: int) -> None:
        """Today's and tomorrow's partitions, before any batch needs them."""
        today = day_of(now)
        self.ensure(conn, [today, today + DAY_MS])

    def forget(self, days: Iterable[int] | None = None) -> None:
        with self._lock:
            if days is None:
                self._days.clear()
            else:
                self._days.difference_update(days)
