"""The ingest pipeline: a decoder thread that hands batches to the batch reader process, and one
writer thread that commits them in groups.

Every stream hands its batches to :meth:`IngestWriter.submit` and gets a future back. The decoder
has the batch reader process (:mod:`aurora.collector.detect.batch_reader`) check each batch and read
the index keys of its events (see :mod:`aurora.collector.store.packed_batch`); with detection on,
the reader also runs the rules' matchers and returns the events they matched. The writer takes
whatever has been decoded (from all sensors), has the detection stage turn the matches of new events
into alerts, and stores everything in ONE transaction: one fsync acknowledges many batches (group
commit), which is what makes durable-before-ack affordable. Both queues are FIFO and each stage is
one thread, so one sensor's batches are applied in the order they arrived. Reading and matching run
in another process and SQLite's work releases the GIL, so the stages overlap on two cores. After
each commit the writer publishes :class:`~aurora.collector.bus.BatchCommitted` per batch, and the
detection stage the alerts it raised.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import orjson

from aurora.collector.bus import BatchCommitted, Bus
from aurora.collector.detect import BatchReader, DetectionStage, Hit
from aurora.collector.store import packed_batch
from aurora.collector.store.base import DropDelta, IncomingBatch, IngestResult, NewAlert, Store
from aurora.v1 import stream_pb2
from aurora.wire.codec import BatchDecodeError

log = logging.getLogger("aurora.collector.ingest")

# Bounds one transaction, so a busy writer never holds the store lock for long.
_MAX_GROUP_EVENTS = 20_000


@dataclass(frozen=True)
class Outcome:
    """What happened to one submitted batch; ``result`` is None when it was rejected."""

    accepted: bool
    reason: str = ""
    result: IngestResult | None = None


@dataclass
class _Job:
    sensor_id: str
    batch: stream_pb2.EventBatch
    received_ms: int
    future: Future[Outcome]


#: A batch ready for the writer: its job, what the store keeps, and the events rules matched.
_Decoded = tuple[_Job, IncomingBatch, list[Hit]]

_STOP = object()


class IngestWriter:
    """Owns all event writes of one collector process."""

    def __init__(
        self,
        store: Store,
        *,
        max_uncompressed: int,
        detection: DetectionStage | None = None,
        bus: Bus | None = None,
    ) -> None:
        """With ``detection``, the batch reader process loads the stage's rules and matches
        every event; ``bus`` hears of every commit."""
        self.store = store
        self.max_uncompressed = max_uncompressed
        self.detection = detection
        self.bus = bus
        self._decode_q: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._write_q: queue.SimpleQueue[_Decoded | object] = queue.SimpleQueue()
        self._hwm: dict[str, int] = {}
        self._reader = BatchReader(rules=detection.rules if detection else None)
        # Two stages so that parsing (holds the GIL) overlaps with SQLite's own work (which
        # releases it); one thread each keeps every sensor's batches in order.
        self._decoder = threading.Thread(
            target=self._decode_loop, name="aurora-decode", daemon=True
        )
        self._thread = threading.Thread(target=self._run, name="aurora-ingest", daemon=True)
        self.stored_events = 0
        self.commits = 0

    def start(self) -> None:
        self._reader.start()
        self._decoder.start()
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._thread.is_alive():
            self._decode_q.put(_STOP)
            self._decoder.join(timeout=60)
            self._thread.join(timeout=60)
        self._reader.close()

    def submit(self, sensor_id: str, batch: stream_pb2.EventBatch) -> Future[Outcome]:
        fut: Future[Outcome] = Future()
        self._decode_q.put(_Job(sensor_id, batch, int(time.time() * 1000), fut))
        return fut

    # --- the decoder thread ----------------------------------------------------------------------

    def _decode_loop(self) -> None:
        while True:
            job = self._decode_q.get()
            if job is _STOP:
                self._write_q.put(_STOP)
                return
            assert isinstance(job, _Job)
            try:
                decoded = self._prepare(job)
            except BatchDecodeError as exc:
                job.future.set_result(Outcome(False, str(exc)))
                continue
            except Exception as exc:  # whatever a hostile batch triggers, the stream carries on
                log.exception("batch from %s could not be read", job.sensor_id)
                job.future.set_result(Outcome(False, f"unreadable batch: {exc}"))
                continue
            self._write_q.put(decoded)

    def _prepare(self, job: _Job) -> _Decoded:
        """Validate a batch and pack it for the store; the batch reader process does the
        reading (and, with detection on, the matching)."""
        b = job.batch
        size, data, keys, hits = self._reader.read(b, self.max_uncompressed, job.received_ms)
        incoming = IncomingBatch(
            sensor_id=job.sensor_id,
            first_seq=b.first_seq,
            events=[],
            packed=packed_batch.PackedBatch(packed_batch.CODEC_ZSTD, size, data, keys),
            drops=DropDelta(b.drops.kernel, b.drops.spool_evicted, b.drops.spool_corrupt),
            received_ms=job.received_ms,
        )
        return job, incoming, hits

    # --- the writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._write_q.get()
            if first is _STOP:
                return
            assert isinstance(first, tuple)
            items = [first]
            events = first[1].count
            while events < _MAX_GROUP_EVENTS:
                try:
                    nxt = self._write_q.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                assert isinstance(nxt, tuple)
                items.append(nxt)
                events += nxt[1].count
            try:
                self._process(items)
            except Exception as exc:  # the writer must survive anything a batch can cause
                log.exception("storing %d batches failed", len(items))
                for job, _, _ in items:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def _process(self, accepted: list[_Decoded]) -> None:
        alerts: list[NewAlert] = []
        if self.detection is not None:
            for job, incoming, hits in accepted:
                new = self._new_hits(incoming, hits)
                if new:
                    alerts.extend(self._safe_evaluate(job.sensor_id, new))
        try:
            results = self.store.ingest([inc for _, inc, _ in accepted], alerts)
        except Exception:
            # The cached marks may now be ahead of what was committed.
            self._hwm.clear()
            if self.detection is not None:
                self.detection.abandoned()
            raise
        self.commits += 1
        for (job, _, _), res in zip(accepted, results, strict=True):
            self._hwm[res.sensor_id] = res.high_water
            self.stored_events += res.stored
            job.future.set_result(Outcome(True, "", res))
        try:
            self._announce(results)
        except Exception:
            log.exception("post-commit work failed")

    def _announce(self, results: list[IngestResult]) -> None:
        if self.detection is not None:
            self.detection.committed(self.store, self.bus)
        if self.bus is not None:
            for res in results:
                self.bus.publish(
                    BatchCommitted(
                        res.sensor_id, res.first_seq, res.count, res.stored, res.high_water
                    )
                )

    def _new_hits(
        self, b: IncomingBatch, hits: list[Hit]
    ) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
        """The matched events above the high-water mark (duplicates are not evaluated twice),
        parsed: the one parse of a matched event in this process."""
        hwm = self._hwm.get(b.sensor_id)
        if hwm is None:
            hwm = self.store.high_water(b.sensor_id)
        skip = max(0, hwm - b.first_seq + 1)
        self._hwm[b.sensor_id] = max(hwm, b.first_seq + b.count - 1)
        return [(orjson.loads(raw), rule_ids) for i, raw, rule_ids in hits if i >= skip]

    def _safe_evaluate(
        self, sensor_id: str, events: Sequence[tuple[dict[str, Any], Sequence[str]]]
    ) -> list[NewAlert]:
        assert self.detection is not None
        try:
            return self.detection.evaluate(sensor_id, events)
        except Exception:
            # A detection bug must not stop ingest: the events are still stored and acked.
            log.exception(
                "detection failed on a batch from %s; events stored without it", sensor_id
            )
            return []
