"""The bus on NATS JetStream: the same contract as the in-process bus, across collector nodes.

Messages are stored in one stream (``AURORA_BUS``) under ``aurora.bus.<topic>.<sensor>``; publish
returns once JetStream acknowledged the message. Every subscription is a pull consumer filtered
on its topics (several filter subjects need nats-server 2.10): an anonymous one is its own
consumer, deleted on close and expired by the server if its process dies; a ``durable`` one is
shared by every subscription of that name on every node, so each message reaches one of them.
A handler runs on a worker thread, messages one after the other, so per-subject order holds; a
handler that raises is retried at once up to ``max_deliver`` deliveries (counting JetStream's
redeliveries after a crash), then the message is terminated and counted.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from aurora.collector.bus.base import Handler
from aurora.collector.bus.messages import Message, MessageDecodeError, decode, encode
from aurora.collector.bus.nats_link import REQUEST_TIMEOUT_S, BusUnavailable, NatsLink

log = logging.getLogger("aurora.collector.bus")

STREAM = "AURORA_BUS"
SUBJECT_PREFIX = "aurora.bus"
#: Bus messages say what changed; the store keeps it. A day covers any node's restart.
MAX_AGE_S = 86_400.0
MAX_BYTES = 1024**3
#: An anonymous consumer whose process died is removed by the server after this long.
INACTIVE_S = 120.0
_SAFE_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")


def subject_token(sensor_id: str) -> str:
    """A sensor id as one subject token (ids are UUIDs; anything else is escaped)."""
    if not sensor_id:
        return "_"
    if _SAFE_TOKEN.fullmatch(sensor_id):
        return sensor_id
    return "x" + sensor_id.encode().hex()[:120]


def bus_subject(message: Message) -> str:
    return f"{SUBJECT_PREFIX}.{message.topic}.{subject_token(message.sensor_id)}"


class _Subscription:
    """One pull consumer and the task that fetches from it and calls the handler."""

    def __init__(
        self,
        bus: JetStreamBus,
        topics: frozenset[str],
        handler: Handler,
        durable: str | None,
        max_deliver: int,
    ) -> None:
        self._bus = bus
        self._topics = topics
        self._handler = handler
        self.durable = durable
        self.max_deliver = max_deliver
        self.consumer = ""
        self.failed = 0
        self.busy = False
        self._task: asyncio.Task[None] | None = None
        self._psub: nats.js.JetStreamContext.PullSubscription | None = None
        self._closed = False

    async def start(self) -> None:
        js = self._bus.link.js
        config = ConsumerConfig(
            durable_name=self.durable,
            # A consumer created now starts with what is published from now on; a durable one
            # that already exists resumes where its members stopped.
            deliver_policy=DeliverPolicy.NEW,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._bus.ack_wait_s,
            max_deliver=self.max_deliver,
            filter_subjects=sorted(f"{SUBJECT_PREFIX}.{t}.*" for t in self._topics),
            inactive_threshold=None if self.durable else INACTIVE_S,
        )
        info = None
        if self.durable:
            try:
                info = await js.consumer_info(STREAM, self.durable)
            except NotFoundError:
                info = None
            if info is not None:
                # The server may keep a single filter as filter_subject: compare both forms.
                held = {*(info.config.filter_subjects or []), info.config.filter_subject}
                if held - {None} != set(config.filter_subjects or []):
                    raise ValueError(
                        f"durable consumer {self.durable!r} already takes other topics"
                    )
        if info is None:
            info = await js.add_consumer(STREAM, config)
        self.consumer = info.name
        self._psub = await js.pull_subscribe_bind(self.consumer, stream=STREAM)
        self._task = asyncio.get_running_loop().create_task(self._run(self._psub))

    async def _run(self, psub: nats.js.JetStreamContext.PullSubscription) -> None:
        # A shared consumer takes one message per request, so its members take turns.
        batch = 1 if self.durable else 64
        while not self._closed:
            try:
                msgs = await psub.fetch(batch, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # disconnected: the client reconnects, we wait for it
                log.debug("bus consumer %s: fetch failed: %s", self.consumer, exc)
                await asyncio.sleep(0.25)
                continue
            for msg in msgs:
                self.busy = True
                try:
                    await self._deliver(msg)
                finally:
                    self.busy = False

    async def _deliver(self, msg: Msg) -> None:
        try:
            message = decode(msg.data)
        except MessageDecodeError as exc:
            log.error("bus consumer %s: %s; dropped", self.consumer, exc)
            await msg.term()
            return
        if message.topic not in self._topics:
            await msg.ack()
            return
        attempt = msg.metadata.num_delivered or 1
        while True:
            try:
                await asyncio.to_thread(self._handler, message)
                break
            except Exception:
                log.exception(
                    "bus consumer %s: handler failed (delivery %d of %d)",
                    self.consumer,
                    attempt,
                    self.max_deliver,
                )
            if attempt >= self.max_deliver:
                self.failed += 1
                await msg.term()
                return
            attempt += 1
            await msg.in_progress()  # retried here and now: keep JetStream from resending it
        await msg.ack()

    async def stop(self, delete: bool) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._psub is not None:
            # No inbox left for the pull request still waiting at the server: it moves on.
            await asyncio.gather(self._psub.unsubscribe(), return_exceptions=True)
        if delete and self.consumer:
            try:
                await self._bus.link.js.delete_consumer(STREAM, self.consumer)
            except Exception as exc:  # gone already, or the server is: it expires on its own
                log.debug("deleting bus consumer %s: %s", self.consumer, exc)

    async def settled(self) -> bool:
        """Nothing waits in the consumer, nothing is unacknowledged, nothing is in hand."""
        info = await self._bus.link.js.consumer_info(STREAM, self.consumer)
        return not self.busy and info.num_pending == 0 and info.num_ack_pending == 0

    def close(self) -> None:
        self._bus._unsubscribe(self)


class JetStreamBus:
    """:class:`~aurora.collector.bus.base.Bus` on a NATS JetStream stream."""

    def __init__(self, link: NatsLink, ack_wait_s: float = 30.0) -> None:
        self.link = link
        self.ack_wait_s = ack_wait_s
        self._lock = threading.Lock()
        self._subs: list[_Subscription] = []
        self._closed = False
        self.published = 0

    @classmethod
    def connect(cls, url: str, name: str = "collector", ack_wait_s: float = 30.0) -> JetStreamBus:
        """Connect and make sure the bus stream exists; :class:`BusUnavailable` otherwise."""
        link = NatsLink.open(url, name)
        config = StreamConfig(
            name=STREAM,
            subjects=[f"{SUBJECT_PREFIX}.>"],
            storage=StorageType.FILE,
            max_age=MAX_AGE_S,
            max_bytes=MAX_BYTES,
        )
        try:
            link.call(link.ensure_stream(config))
        except Exception as exc:
            link.close()
            raise BusUnavailable(f"NATS at {url}: cannot set up stream {STREAM}: {exc}") from None
        return cls(link, ack_wait_s)

    def publish(self, message: Message) -> None:
        if self._closed:
            raise RuntimeError("the bus is closed")
        data = encode(message)
        try:
            self.link.call(self.link.js.publish(bus_subject(message), data), REQUEST_TIMEOUT_S + 1)
        except Exception as exc:
            raise BusUnavailable(
                f"JetStream did not take a {message.topic} message: {exc}"
            ) from None
        self.published += 1

    def publish_many(self, messages: Sequence[Message]) -> None:
        """Every message sent at once, in order (so per subject order holds), then one wait for
        all of JetStream's acknowledgements: a group commit's matches cost one round trip, not
        one each."""
        if len(messages) <= 1:
            for message in messages:
                self.publish(message)
            return
        if self._closed:
            raise RuntimeError("the bus is closed")
        items = [(bus_subject(m), encode(m)) for m in messages]
        try:
            self.link.call(self._publish_all(items), REQUEST_TIMEOUT_S + 1)
        except Exception as exc:
            raise BusUnavailable(
                f"JetStream did not take {len(items)} messages: {type(exc).__name__} {exc}"
            ) from None
        self.published += len(items)

    async def _publish_all(self, items: list[tuple[str, bytes]]) -> None:
        js = self.link.js
        acks: list[asyncio.Future[Any]] = []
        try:
            for subject, data in items:
                acks.append(await js.publish_async(subject, data, wait_stall=REQUEST_TIMEOUT_S))
            await asyncio.wait_for(asyncio.gather(*acks), REQUEST_TIMEOUT_S)
        finally:
            for ack in acks:  # on failure: no future left waiting in the client
                ack.cancel()

    def subscribe(
        self,
        topics: Iterable[type[Message]],
        handler: Handler,
        *,
        durable: str | None = None,
        max_deliver: int = 3,
    ) -> _Subscription:
        names = frozenset(t.topic for t in topics)
        if not names:
            raise ValueError("subscribe to at least one message type")
        if max_deliver < 1:
            raise ValueError("max_deliver must be at least 1")
        if durable is not None and not _SAFE_TOKEN.fullmatch(durable):
            raise ValueError(f"durable name {durable!r}: use letters, digits, '-' and '_'")
        with self._lock:
            if self._closed:
                raise RuntimeError("the bus is closed")
        sub = _Subscription(self, names, handler, durable, max_deliver)
        self.link.call(sub.start())
        with self._lock:
            self._subs.append(sub)
        return sub

    def _unsubscribe(self, sub: _Subscription) -> None:
        with self._lock:
            if sub not in self._subs:
                return
            self._subs.remove(sub)
        # A durable consumer outlives its members, as it must for the next node to resume.
        self.link.call(sub.stop(delete=sub.durable is None), 10)

    def drain(self, timeout: float = 10.0) -> bool:
        """True once every consumer of this process's subscriptions is settled."""
        deadline = time.monotonic() + timeout
        with self._lock:
            subs = list(self._subs)
        if subs and not self.link.connected.is_set():
            return False  # the server is gone: nothing can settle before it is back
        for sub in subs:
            while True:
                try:
                    if self.link.call(sub.settled()):
                        break
                except Exception as exc:
                    log.debug("drain: %s", exc)
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
        return True

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            subs, self._subs = self._subs, []
        if not self.link.connected.is_set():
            # The server is gone: its consumers stay as they are (an ephemeral one is removed by
            # the server once idle), and waiting on each would hold the shutdown for nothing.
            subs = []
        for sub in subs:
            try:
                self.link.call(sub.stop(delete=sub.durable is None), 10)
            except Exception as exc:
                log.debug("closing bus consumer %s: %s", sub.consumer, exc)
        self.link.close()
