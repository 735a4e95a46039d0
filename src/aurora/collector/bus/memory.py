"""The in-process bus: the default, for one collector process (``make run``, ``aurora collector``).

Publishing is a bounded queue append per subscribing consumer, so the ingest writer never waits
for a subscriber; each consumer has one delivery thread, which keeps per-subject order. Messages
are encoded on publish and decoded for each delivery, exactly as they would cross a network, so a
message that a replicating bus could not carry fails here too, and no subscriber can change what
another one receives. A consumer whose queue is full loses its oldest message, and counts it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Sequence

from aurora.collector.bus.base import Handler
from aurora.collector.bus.messages import Message, decode, encode

log = logging.getLogger("aurora.collector.bus")

#: Messages one consumer may have waiting before the oldest are dropped.
DEFAULT_QUEUE_LIMIT = 100_000


class _Consumer:
    """One queue and its delivery thread; several subscriptions may share it (``durable``)."""

    def __init__(self, name: str, topics: frozenset[str], limit: int, max_deliver: int) -> None:
        self.name = name
        self.topics = topics
        self.limit = limit
        self.max_deliver = max_deliver
        self.handlers: list[Handler] = []
        self.dropped = 0
        self.failed = 0
        self._next = 0
        self._queue: deque[bytes] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._idle = True
        self._thread = threading.Thread(target=self._run, name=f"aurora-bus-{name}", daemon=True)
        self._thread.start()

    def put(self, data: bytes) -> None:
        with self._cond:
            if self._closed:
                return
            if len(self._queue) >= self.limit:
                self._queue.popleft()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 10_000 == 0:
                    log.warning(
                        "bus consumer %s is behind: %d messages dropped", self.name, self.dropped
                    )
            self._queue.append(data)
            self._cond.notify()

    def remove(self, handler: Handler) -> bool:
        """Detach ``handler``; True when no handler is left."""
        with self._cond:
            if handler in self.handlers:
                self.handlers.remove(handler)
            return not self.handlers

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)

    def drain(self, timeout: float) -> bool:
        """Wait until every queued message has been handled (tests, orderly shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._idle, timeout)

    def _take(self) -> tuple[bytes, Handler] | None:
        with self._cond:
            self._idle = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._closed or (self._queue and self.handlers))
            if self._closed:
                return None
            self._idle = False
            # Shared by several subscriptions: each message goes to the next one in turn.
            handler = self.handlers[self._next % len(self.handlers)]
            self._next += 1
            return self._queue.popleft(), handler

    def _run(self) -> None:
        while (item := self._take()) is not None:
            data, handler = item
            for attempt in range(1, self.max_deliver + 1):
                try:
                    handler(decode(data))
                    break
                except Exception:
                    log.exception(
                        "bus consumer %s: handler failed (delivery %d of %d)",
                        self.name,
                        attempt,
                        self.max_deliver,
                    )
            else:
                self.failed += 1


class _MemorySubscription:
    def __init__(self, bus: MemoryBus, consumer: _Consumer, handler: Handler) -> None:
        self._bus = bus
        self._consumer = consumer
        self._handler = handler

    def close(self) -> None:
        self._bus._unsubscribe(self._consumer, self._handler)


class MemoryBus:
    """:class:`~aurora.collector.bus.base.Bus` within one process."""

    def __init__(self, queue_limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        self.queue_limit = queue_limit
        self._lock = threading.Lock()
        self._consumers: list[_Consumer] = []
        self._durable: dict[str, _Consumer] = {}
        self._anonymous = 0
        self._closed = False
        self.published = 0

    def publish(self, message: Message) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the bus is closed")
            targets = [c for c in self._consumers if message.topic in c.topics]
            self.published += 1
        if targets:
            data = encode(message)
            for consumer in targets:
                consumer.put(data)

    def publish_many(self, messages: Sequence[Message]) -> None:
        for message in messages:
            self.publish(message)

    def subscribe(
        self,
        topics: Iterable[type[Message]],
        handler: Handler,
        *,
        durable: str | None = None,
        max_deliver: int = 3,
    ) -> _MemorySubscription:
        names = frozenset(t.topic for t in topics)
        if not names:
            raise ValueError("subscribe to at least one message type")
        if max_deliver < 1:
            raise ValueError("max_deliver must be at least 1")
        with self._lock:
            if self._closed:
                raise RuntimeError("the bus is closed")
            consumer = self._durable.get(durable) if durable else None
            if consumer is not None and consumer.topics != names:
                raise ValueError(f"durable consumer {durable!r} already takes other topics")
            if consumer is None:
                self._anonymous += 1
                name = durable or f"sub{self._anonymous}"
                consumer = _Consumer(name, names, self.queue_limit, max_deliver)
                self._consumers.append(consumer)
                if durable:
                    self._durable[durable] = consumer
            with consumer._cond:
                consumer.handlers.append(handler)
                consumer._cond.notify_all()
        return _MemorySubscription(self, consumer, handler)

    def _unsubscribe(self, consumer: _Consumer, handler: Handler) -> None:
        with self._lock:
            if not consumer.remove(handler):
                return
            # The last handler of an anonymous consumer is gone, and with it the consumer. A
            # durable one keeps collecting, as a persisted consumer would, until the bus closes.
            if consumer.name in self._durable:
                return
            self._consumers.remove(consumer)
        consumer.close()

    def drain(self, timeout: float = 10.0) -> bool:
        """True once every consumer has handled everything published so far."""
        with self._lock:
            consumers = list(self._consumers)
        return all(c.drain(timeout) for c in consumers)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            consumers, self._consumers = self._consumers, []
            self._durable.clear()
        for consumer in consumers:
            consumer.close()
