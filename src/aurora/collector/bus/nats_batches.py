"""Sensor batches on JetStream, from the front-ends that hold the sensors' streams to the workers
that detect and store.

The stream ``AURORA_BATCHES`` is a work queue under ``aurora.batch.<partition>.<sensor>``; the
partition is a stable hash of the sensor id, so one sensor's batches always land in one
partition, and each partition is consumed by one worker at a time (:mod:`.nats_leases`), which
is what lets per-host state (correlation, suppression, process trees) see all of a host's
events. The stream refuses new messages when full (``discard new``): a front-end then does not
acknowledge the batch, and the sensor keeps it in its spool. Each message carries an id made
of sensor and sequence numbers, so a batch a sensor resends within two minutes is stored in
JetStream once.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from concurrent.futures import Future

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from aurora.collector.bus.nats_bus import subject_token
from aurora.collector.bus.nats_link import REQUEST_TIMEOUT_S, BusUnavailable, NatsLink
from aurora.v1 import stream_pb2

STREAM = "AURORA_BATCHES"
SUBJECT_PREFIX = "aurora.batch"
#: How many partitions the sensors are hashed onto: the most workers that can share the work.
PARTITIONS = 16
SENSOR_HEADER = "Aurora-Sensor"
RECEIVED_HEADER = "Aurora-Received-Ms"
#: Batches waiting for a worker, at most (then front-ends stop acknowledging: sensors spool).
MAX_BYTES = 8 * 1024**3
DUPLICATE_WINDOW_S = 120.0


def partition_of(sensor_id: str, partitions: int = PARTITIONS) -> int:
    """The partition of a sensor: the same in every process (not Python's salted ``hash``)."""
    return zlib.crc32(sensor_id.encode()) % partitions


def batch_subject(sensor_id: str, partitions: int = PARTITIONS) -> str:
    return f"{SUBJECT_PREFIX}.{partition_of(sensor_id, partitions)}.{subject_token(sensor_id)}"


def partition_filter(partition: int) -> str:
    return f"{SUBJECT_PREFIX}.{partition}.*"


async def ensure_batch_stream(link: NatsLink, max_bytes: int = MAX_BYTES) -> None:
    await link.ensure_stream(
        StreamConfig(
            name=STREAM,
            subjects=[f"{SUBJECT_PREFIX}.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            discard=DiscardPolicy.NEW,
            storage=StorageType.FILE,
            max_bytes=max_bytes,
            duplicate_window=DUPLICATE_WINDOW_S,
        )
    )


class BatchPublisher:
    """A front-end's side: publish a sensor's batch, and learn when JetStream holds it.

    One sensor's batches are published one after the other, each once the one before it was
    acknowledged, and after a failure the later ones fail too until the sensor resends from
    the failed one. Otherwise a batch lost in an outage could be overtaken by the next one,
    which a worker would store first, and the resent batch, now below the sensor's high-water
    mark, would be discarded as a duplicate. Sensors are published concurrently.
    """

    def __init__(self, link: NatsLink, partitions: int = PARTITIONS) -> None:
        self.link = link
        self.partitions = partitions
        self.published = 0
        self._tails: dict[str, asyncio.Future[None]] = {}
        self._blocked: dict[str, int] = {}

    @classmethod
    def open(cls, link: NatsLink) -> BatchPublisher:
        try:
            link.call(ensure_batch_stream(link))
        except Exception as exc:
            raise BusUnavailable(
                f"NATS at {link.url}: cannot set up stream {STREAM}: {exc}"
            ) from None
        return cls(link)

    def submit(self, sensor_id: str, batch: stream_pb2.EventBatch) -> Future[None]:
        """Thread-safe; the future completes once JetStream acknowledged the batch, or fails
        with :class:`BusUnavailable` (the batch must not be acknowledged to the sensor)."""
        received_ms = int(time.time() * 1000)
        return self.link.submit(self._publish(sensor_id, batch, received_ms))

    async def _publish(
        self, sensor_id: str, batch: stream_pb2.EventBatch, received_ms: int
    ) -> None:
        previous = self._tails.get(sensor_id)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[sensor_id] = mine
        try:
            if previous is not None:
                await asyncio.wait([previous])
            await self._publish_in_turn(sensor_id, batch, received_ms)
        finally:
            mine.set_result(None)
            if self._tails.get(sensor_id) is mine:
                del self._tails[sensor_id]

    async def _publish_in_turn(
        self, sensor_id: str, batch: stream_pb2.EventBatch, received_ms: int
    ) -> None:
        failed_at = self._blocked.get(sensor_id)
        if failed_at is not None:
            if batch.first_seq > failed_at:
                raise BusUnavailable(
                    f"batch {failed_at} of this sensor was not published; resend from it"
                )
            del self._blocked[sensor_id]  # the sensor resends from the failed batch
        headers = {
            SENSOR_HEADER: sensor_id,
            RECEIVED_HEADER: str(received_ms),
            # JetStream drops a message whose id it saw within the duplicate window.
            "Nats-Msg-Id": f"{sensor_id}:{batch.first_seq}:{batch.count}",
        }
        try:
            await self.link.js.publish(
                batch_subject(sensor_id, self.partitions),
                batch.SerializeToString(),
                timeout=REQUEST_TIMEOUT_S,
                headers=headers,
            )
        except Exception as exc:
            self._blocked[sensor_id] = batch.first_seq
            reason = "no acknowledgement in time" if isinstance(exc, TimeoutError) else str(exc)
            raise BusUnavailable(f"JetStream did not take the batch: {reason}") from None
        self.published += 1
