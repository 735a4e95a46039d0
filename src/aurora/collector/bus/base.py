"""The collector's event bus: how its parts learn that something was committed, without calling
each other.

The ingest writer, the stream service and the action path publish :mod:`.messages`; the console's
live stream, the stream service (to push queued commands) and rule-driven response subscribe.
The contract is the one a replicating bus (NATS JetStream) can keep, so an in-process bus and a
distributed one are interchangeable (model: Velociraptor's journal service):

* ``publish`` returns once the bus has accepted the message (JetStream: once the stream has
  acknowledged it); it never waits for subscribers. ``publish_many`` does the same for several
  messages, in order, waiting for the bus once for all of them (JetStream: one wait for every
  acknowledgement, not a round trip each).
* Delivery is at least once. A handler that returns acknowledges the message; one that raises
  has it delivered again, up to ``max_deliver`` times, after which it is dropped and counted.
  Handlers must therefore be idempotent.
* A subscription with a ``durable`` name is a consumer that shares its messages among all
  subscriptions of that name (each message reaches one of them) and, on a bus that persists,
  resumes where it stopped. Without a name every subscription receives every message.
* Per subject (topic and host) messages arrive in the order they were published.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from aurora.collector.bus.messages import Message

Handler = Callable[[Message], None]


@runtime_checkable
class Subscription(Protocol):
    def close(self) -> None:
        """Stop delivery to this handler (messages in flight may still arrive once)."""
        ...


@runtime_checkable
class Bus(Protocol):
    def publish(self, message: Message) -> None: ...

    def publish_many(self, messages: Sequence[Message]) -> None:
        """Publish ``messages`` in order; returns once the bus has accepted every one (raises if
        it did not take them all: those before the one refused may have been)."""
        ...

    def subscribe(
        self,
        topics: Iterable[type[Message]],
        handler: Handler,
        *,
        durable: str | None = None,
        max_deliver: int = 3,
    ) -> Subscription: ...

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until this process's subscribers have handled what was published so far; False
        when ``timeout`` ran out first (orderly shutdown, tests)."""
        ...

    def close(self) -> None:
        """Stop every delivery thread; later publishes are refused."""
        ...
