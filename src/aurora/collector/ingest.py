"""The ingest pipeline: a decoder thread that hands batches to the batch reader process, and one
writer thread that commits them in groups.

Every stream hands its batches to :meth:`IngestWriter.submit` and gets a future back. The decoder
has the batch reader process (:mod:`aurora.collector.detect.batch_reader`) check each batch and read
the index keys of its events (see :mod:`aurora.collector.store.packed_batch`); with detection on,
the reader also runs the rules' matchers and returns the events they matched. The writer takes
whatever has been decoded (from all sensors), has the detection stage turn the matches of new events
into alerts, and stores everything in ONE transaction: one fsync acknowledges many batches (group
commit), which is what makes durable-before-ack affordable. Each stage is one thread, so one
sensor's batches are applied in the order they arrived; the decoder serves the sensors in turn, so
no sensor's flood holds up another's batches. Reading and matching run in another process and
SQLite's work releases the GIL, so the stages overlap on two cores. After each commit the writer
publishes :class:`~aurora.collector.bus.BatchCommitted` per batch, and the detection stage the
alerts it raised.

A batch's integers are checked at decode (:func:`~aurora.wire.codec.decode_payload`, the index keys
in :mod:`~aurora.collector.store.packed_batch`, the drop counters here), so the store never sees
one it cannot hold. Should a batch still fail to store, the group is retried one batch at a time:
the batch at fault is refused alone, once, and the others are stored.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from aurora.collector.bus import BatchCommitted, Bus
from aurora.collector.detect import BatchReader, DetectionStage, Hit
from aurora.collector.fair_queue import FairQueue
from aurora.collector.store import packed_batch
from aurora.collector.store.base import (
    AlertRepeat,
    DropDelta,
    HighWaterMoved,
    IncomingBatch,
    IngestResult,
    NewAlert,
    Store,
)
from aurora.v1 import stream_pb2
from aurora.wire.codec import BatchDecodeError, saturate

log = logging.getLogger("aurora.collector.ingest")

# Bounds one transaction, so a busy writer never holds the store lock for long.
_MAX_GROUP_EVENTS = 20_000

# What a store raises for a value it cannot keep (sqlite3 raises OverflowError for an integer past
# 64 bits): the batch's fault, so it is refused. Anything else (a full disk, a locked database)
# is the store's, and the batch is left for the sensor to resend.
_BATCH_FAULTS = (OverflowError, ValueError, TypeError)
# How long a sensor's later batches are held back after one of its batches failed to store:
# its resend comes at once (a new stream, or the worker's consumer started afresh).
_HOLD_BACK_S = 30.0
_CLAMP_LOG_EVERY_S = 60.0


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


class BatchIntake(Protocol):
    """Where a stream hands its batches: the ingest writer, or a front-end's JetStream publisher
    (:class:`aurora.collector.roles.PublishedIngest`); the future settles when the batch may
    be acknowledged to the sensor."""

    def submit(self, sensor_id: str, batch: stream_pb2.EventBatch) -> Future[Outcome]: ...


#: A batch ready for the writer: its job, what the store keeps, and the events rules matched.
_Decoded = tuple[_Job, IncomingBatch, list[Hit]]

_STOP = object()
_STOP_KEY = "\0stop"  # no sensor id: those are UUIDs


class StoreBehind(Exception):
    """A batch not stored because an earlier one of its sensor was not: send both again."""


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
        # Sensors take turns at the decoder: a flood from one delays the others by one batch.
        self._decode_q: FairQueue[_Job | object] = FairQueue()
        self._write_q: queue.SimpleQueue[_Decoded | object] = queue.SimpleQueue()
        self._hwm: dict[str, int] = {}
        # Per sensor, the first sequence number of a batch the store failed to take and when:
        # its later batches are failed too until that one comes again (see _held_back).
        self._failed_from: dict[str, tuple[int, float]] = {}
        self._clamp_logged: dict[str, float] = {}  # sensor -> when a clamp was last logged
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
            self._decode_q.put(_STOP_KEY, _STOP)
            self._decoder.join(timeout=60)
            self._thread.join(timeout=60)
        self._reader.close()

    def submit(
        self, sensor_id: str, batch: stream_pb2.EventBatch, *, received_ms: int | None = None
    ) -> Future[Outcome]:
        """Queue a batch; ``received_ms`` is when a front-end received it (a worker's batch
        comes from JetStream), else now."""
        fut: Future[Outcome] = Future()
        when = int(time.time() * 1000) if received_ms is None else received_ms
        self._decode_q.put(sensor_id, _Job(sensor_id, batch, when, fut))
        return fut

    # --- the decoder thread ----------------------------------------------------------------------

    def _decode_loop(self) -> None:
        while True:
            job = self._decode_q.get()
            if job is _STOP and len(self._decode_q):
                self._decode_q.put(_STOP_KEY, _STOP)  # other sensors' batches are still queued
                continue
            if job is _STOP:
                self._write_q.put(_STOP)
                return
            assert isinstance(job, _Job)
            # A stream that ended cancels its pending batches: none is read (the sensor resends
            # them), and the others can no longer be cancelled, so settling them cannot fail.
            if not job.future.set_running_or_notify_cancel():
                continue
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
            drops=self._drops(job),
            received_ms=job.received_ms,
        )
        return job, incoming, hits

    def _drops(self, job: _Job) -> DropDelta:
        """The batch's drop counters, clamped to what a store holds (they are uint64 on the
        wire); a clamp is logged, as no honest sensor loses 2^63 events, but at most once a
        minute per sensor, so a sensor sending nothing else cannot flood the log."""
        d = job.batch.drops
        sent = (d.kernel, d.spool_evicted, d.spool_corrupt, d.plugin)
        kept = DropDelta(*(saturate(v) for v in sent))
        if (kept.kernel, kept.spool_evicted, kept.spool_corrupt, kept.plugin) == sent:
            return kept
        now = time.monotonic()
        if now - self._clamp_logged.get(job.sensor_id, -_CLAMP_LOG_EVERY_S) >= _CLAMP_LOG_EVERY_S:
            self._clamp_logged[job.sensor_id] = now
            log.warning(
                "sensor %s: drop counters %s of batch %d clamped to 2^63-1 (logged once a minute)",
                job.sensor_id,
                "/".join(str(v) for v in sent),
                job.batch.first_seq,
            )
        return kept

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
            self._store_group(items)

    def _store_group(self, items: list[_Decoded]) -> None:
        """Store a group in one commit; if that fails, store each batch alone, so one bad batch
        never fails the others (nor, as they would be resent, the next groups)."""
        items = [item for item in items if not self._held_back(item)]
        if not items:
            return
        try:
            self._process(items)
            return
        except Exception as exc:  # the writer must survive anything a batch can cause
            if len(items) == 1:
                self._settle_failure(items[0], exc)
                return
            log.warning(
                "storing %d batches in one commit failed (%s); storing them one by one",
                len(items),
                exc,
            )
        for item in items:
            if self._held_back(item):
                continue
            try:
                self._process([item])
            except Exception as exc:
                self._settle_failure(item, exc)

    def _held_back(self, item: _Decoded) -> bool:
        """Whether ``item`` follows a batch of its sensor the store failed to take, and is failed
        in turn. Stored ahead of that batch, it would raise the high-water mark past it, and the
        failed batch, sent again, would be discarded as a duplicate: lost. The resend (a batch
        starting at or before the failed one) lifts the hold, and so does time: a sensor whose
        spool evicted the failed batch can never send it again."""
        job = item[0]
        held = self._failed_from.get(job.sensor_id)
        if held is None:
            return False
        failed, since = held
        if job.batch.first_seq <= failed or time.monotonic() - since > _HOLD_BACK_S:
            del self._failed_from[job.sensor_id]
            return False
        if not job.future.done():
            job.future.set_exception(
                StoreBehind(f"an earlier batch ({failed}) of this sensor was not stored")
            )
        return True

    def _settle_failure(self, item: _Decoded, exc: Exception) -> None:
        job = item[0]
        if job.future.done():
            return
        if isinstance(exc, _BATCH_FAULTS):
            # Refused once, with the reason in the ack: the sensor drops it and never resends.
            reason = f"batch cannot be stored: {exc}"
            log.error("sensor %s: batch %d refused: %s", job.sensor_id, job.batch.first_seq, reason)
            job.future.set_result(Outcome(False, reason))
        else:
            log.exception("storing a batch from %s failed", job.sensor_id)
            failed, _ = self._failed_from.get(job.sensor_id, (job.batch.first_seq, 0.0))
            self._failed_from[job.sensor_id] = (min(failed, job.batch.first_seq), time.monotonic())
            job.future.set_exception(exc)

    def _process(self, accepted: list[_Decoded]) -> None:
        try:
            self._commit(accepted)
        except HighWaterMoved as exc:
            # Another worker stored some of these events since this one cached the marks (it
            # held the sensor's partition before): evaluate again from the store's marks.
            log.info("%s; evaluating the group again", exc)
            self._commit(accepted)

    def _commit(self, accepted: list[_Decoded]) -> None:
        batches = [inc for _, inc, _ in accepted]
        alerts: list[NewAlert | AlertRepeat] = []
        if self.detection is not None:
            for n, (job, incoming, hits) in enumerate(accepted):
                batches[n], new = self._new_hits(incoming, hits)
                if new:
                    self._safe_evaluate(job.sensor_id, new)
            # Alerts, and repeats folded into alerts stored before, go in with their events.
            alerts = self.detection.group_alerts()
        try:
            results = self.store.ingest(batches, alerts)
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
            self.detection.committed(self.store, self.bus, stored=True)
        if self.bus is not None:
            self.bus.publish_many(
                [
                    BatchCommitted(
                        res.sensor_id, res.first_seq, res.count, res.stored, res.high_water
                    )
                    for res in results
                ]
            )

    def _new_hits(
        self, b: IncomingBatch, hits: list[Hit]
    ) -> tuple[IncomingBatch, list[tuple[dict[str, Any], tuple[str, ...]]]]:
        """The matched events above the high-water mark (duplicates are not evaluated twice),
        parsed: the one parse of a matched event in this process. The batch comes back saying
        how many of its events were taken for duplicates, which the store checks."""
        hwm = self._hwm.get(b.sensor_id)
        if hwm is None:
            hwm = self.store.high_water(b.sensor_id)
        skip = min(b.count, max(0, hwm - b.first_seq + 1))
        self._hwm[b.sensor_id] = max(hwm, b.first_seq + b.count - 1)
        new = [(orjson.loads(raw), rule_ids) for i, raw, rule_ids in hits if i >= skip]
        return replace(b, evaluated_skip=skip), new

    def _safe_evaluate(
        self, sensor_id: str, events: Sequence[tuple[dict[str, Any], Sequence[str]]]
    ) -> None:
        assert self.detection is not None
        try:
            self.detection.evaluate(sensor_id, events, self.store)
        except Exception:
            # A detection bug must not stop ingest: the events are still stored and acked.
            log.exception(
                "detection failed on a batch from %s; events stored without it", sensor_id
            )
