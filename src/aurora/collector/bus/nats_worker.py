"""A worker's side of the batch stream: hold a fair share of the partitions, consume each with
a durable pull consumer, hand the batches to the ingest writer, and acknowledge each to
JetStream only once the writer has committed it.

Order matters more than speed here: the store discards a sequence number at or below a sensor's
high-water mark, so a batch stored ahead of an earlier one that is still unacknowledged would
have that earlier one discarded when it comes back. So a worker that takes a partition (or
whose store failed) starts the partition's consumer afresh: on a work-queue stream only the
unacknowledged batches remain, and a new consumer delivers them from the oldest, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import Future
from typing import Any, Protocol

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from aurora.collector.bus.nats_batches import (
    PARTITIONS,
    RECEIVED_HEADER,
    SENSOR_HEADER,
    STREAM,
    ensure_batch_stream,
    partition_filter,
)
from aurora.collector.bus.nats_leases import BUCKET, PartitionLeases
from aurora.collector.bus.nats_link import NatsLink
from aurora.v1 import stream_pb2

log = logging.getLogger("aurora.collector.bus")

_FETCH = 32
_REWIND_PAUSE_S = 1.0


class BatchSink(Protocol):
    """What consumes the batches (the ingest writer); the future's result has ``accepted`` and
    ``reason``; an exception means nothing was stored."""

    def submit(
        self, sensor_id: str, batch: stream_pb2.EventBatch, *, received_ms: int | None = None
    ) -> Future[Any]: ...


class _Rewind(Exception):
    """A batch was not stored: deliver the partition again from its oldest unacknowledged."""


class PartitionWorker:
    def __init__(
        self,
        link: NatsLink,
        sink: BatchSink,
        *,
        partitions: int = PARTITIONS,
        lease_s: float = 10.0,
        ack_wait_s: float = 60.0,
    ) -> None:
        self.link = link
        self.sink = sink
        self.partitions = partitions
        self.lease_s = lease_s
        self.ack_wait_s = ack_wait_s
        self.leases: PartitionLeases | None = None
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._lease_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._leaving: set[int] = set()
        self._busy: set[int] = set()  # partitions with batches in hand
        self.acked = 0
        self.refused = 0

    def start(self) -> None:
        self.link.call(self._start(), 30)

    async def _start(self) -> None:
        await ensure_batch_stream(self.link)
        kv = await self._bucket()
        self.leases = PartitionLeases(kv, self.partitions)
        await self._balance()
        self._lease_task = asyncio.get_running_loop().create_task(self._lease_loop())

    async def _bucket(self) -> KeyValue:
        js = self.link.js
        try:
            return await js.key_value(BUCKET)
        except Exception:
            return await js.create_key_value(bucket=BUCKET, ttl=self.lease_s, history=1)

    @property
    def held(self) -> list[int]:
        return sorted(self.leases.book.held) if self.leases is not None else []

    # --- leases ----------------------------------------------------------------------------------

    async def _lease_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self._balance()
            except Exception as exc:  # NATS away for a moment: the next round tries again
                log.warning("partition leases not renewed: %s", exc)

    async def _balance(self) -> None:
        leases = self.leases
        assert leases is not None
        lost = await leases.renew()
        for p in lost:
            log.warning("partition %d: lease lost; another worker takes it", p)
        await asyncio.gather(*(self._stop_partition(p) for p in lost))
        share = await leases.fair_share()
        surplus = leases.surplus(share)
        await asyncio.gather(*(self._stop_partition(p) for p in surplus))
        for p in surplus:
            await leases.release(p)
            log.info("partition %d released to another worker", p)
        for p in await leases.claim(share):
            log.info("partition %d taken", p)
            self._tasks[p] = asyncio.get_running_loop().create_task(self._consume(p))

    async def _stop_partition(self, p: int) -> None:
        """Stop consuming ``p``. A consumer waiting for batches stops at once (whatever it was
        being sent is delivered again to the next holder); one with batches in hand finishes
        them (stored and acknowledged) first, so the next holder does not store them beside it.
        Quick either way, as the lease loop waits for it and other leases must be renewed."""
        task = self._tasks.pop(p, None)
        if task is None:
            return
        self._leaving.add(p)
        try:
            if p not in self._busy:
                task.cancel()
            await asyncio.wait_for(asyncio.shield(task), self.lease_s / 3)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        finally:
            self._leaving.discard(p)

    # --- consuming -------------------------------------------------------------------------------

    async def _fresh_consumer(self, p: int) -> JetStreamContext.PullSubscription:
        js = self.link.js
        name = f"batches-p{p}"
        with contextlib.suppress(NotFoundError):  # a first start: nothing to start afresh
            await js.delete_consumer(STREAM, name)
        await js.add_consumer(
            STREAM,
            ConsumerConfig(
                durable_name=name,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait_s,
                max_deliver=-1,  # acknowledged to a sensor: never given up on
                max_ack_pending=4 * _FETCH,
                filter_subject=partition_filter(p),
            ),
        )
        return await js.pull_subscribe_bind(name, stream=STREAM)

    async def _consume(self, p: int) -> None:
        psub: JetStreamContext.PullSubscription | None = None
        while not self._stopping and p not in self._leaving:
            try:
                if psub is None:
                    psub = await self._fresh_consumer(p)
                msgs = await psub.fetch(_FETCH, timeout=1.0)
                self._busy.add(p)
                try:
                    await self._handle(msgs)
                finally:
                    self._busy.discard(p)
            except (nats.errors.TimeoutError, TimeoutError):
                continue  # nothing to fetch for now
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # _Rewind, or NATS away: start again from the oldest
                log.warning(
                    "partition %d: %s %s; delivering again from the oldest batch",
                    p,
                    type(exc).__name__,
                    exc,
                )
                if psub is not None:
                    await asyncio.gather(psub.unsubscribe(), return_exceptions=True)
                psub = None
                await asyncio.sleep(_REWIND_PAUSE_S)
        if psub is not None:
            await asyncio.gather(psub.unsubscribe(), return_exceptions=True)

    async def _handle(self, msgs: list[Msg]) -> None:
        pending: list[tuple[Msg, Future[Any]]] = []
        for msg in msgs:
            parsed = self._parse(msg)
            if parsed is None:
                await msg.term()
                continue
            sensor_id, batch, received_ms = parsed
            pending.append((msg, self.sink.submit(sensor_id, batch, received_ms=received_ms)))
        for msg, fut in pending:
            try:
                outcome = await asyncio.wrap_future(fut)
            except Exception as exc:
                raise _Rewind(f"a batch was not stored ({exc})") from None
            if not outcome.accepted:
                self.refused += 1
            await msg.ack()
            self.acked += 1

    @staticmethod
    def _parse(msg: Msg) -> tuple[str, stream_pb2.EventBatch, int | None] | None:
        headers = msg.headers or {}
        sensor_id = headers.get(SENSOR_HEADER, "")
        try:
            batch = stream_pb2.EventBatch.FromString(msg.data)
            received = headers.get(RECEIVED_HEADER)
            received_ms = int(received) if received else None
        except Exception as exc:
            log.error("batch message on %s is unreadable (%s); dropped", msg.subject, exc)
            return None
        if not sensor_id:
            log.error("batch message on %s names no sensor; dropped", msg.subject)
            return None
        return sensor_id, batch, received_ms

    # --- stopping --------------------------------------------------------------------------------

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batches in hand, then hand the partitions back for others to take now."""
        try:
            self.link.call(self._stop(timeout), timeout + 5)
        except Exception as exc:
            log.warning("partition worker did not stop cleanly: %s", exc)

    async def _stop(self, timeout: float) -> None:
        self._stopping = True
        if self._lease_task is not None:
            self._lease_task.cancel()
        tasks = list(self._tasks.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
        self._tasks.clear()
        if self.leases is not None:
            await self.leases.release_all()
