"""A queue that serves its producers in turn: first in, first out for each key (a sensor), round
robin across keys. The ingest decoder takes its batches from one, so a sensor with hundreds of
batches in flight delays another sensor's next batch by at most one of its own, not by all of them.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class FairQueue(Generic[T]):
    """Thread-safe; :meth:`get` blocks until an item is queued."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: dict[str, deque[T]] = {}
        self._turns: deque[str] = deque()  # keys with items, in the order they are served

    def put(self, key: str, item: T) -> None:
        with self._cond:
            queued = self._items.get(key)
            if queued is None:
                queued = self._items[key] = deque()
                self._turns.append(key)
            queued.append(item)
            self._cond.notify()

    def get(self) -> T:
        """The oldest item of the key whose turn it is; that key then goes to the back."""
        with self._cond:
            while not self._turns:
                self._cond.wait()
            key = self._turns.popleft()
            queued = self._items[key]
            item = queued.popleft()
            if queued:
                self._turns.append(key)
            else:
                del self._items[key]
            return item

    def __len__(self) -> int:
        with self._cond:
            return sum(len(q) for q in self._items.values())
