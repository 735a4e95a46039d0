"""The ingest writer: one thread that decodes batches, runs detection and commits them in groups.

Every stream hands its batches to this single writer and gets a future back. The writer takes
whatever has queued up (from all sensors), decodes it, runs detection on the events that are new,
and stores everything in ONE transaction: one fsync acknowledges many batches (group commit),
which is what makes durable-before-ack affordable. The queue is FIFO, so one sensor's batches are
applied in the order they arrived.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from aurora.collector.store.base import DropDelta, IncomingBatch, IngestResult, NewAlert, Store
from aurora.v1 import stream_pb2
from aurora.wire.codec import BatchDecodeError, decode_events

log = logging.getLogger("aurora.collector.ingest")

#: Called with (sensor_id, new events) before the commit; returns the alerts to store with them.
Evaluator = Callable[[str, Sequence[dict[str, Any]]], list[NewAlert]]

_MAX_GROUP_EVENTS = 200_000


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


_STOP = object()


class IngestWriter:
    """Owns all event writes of one collector process."""

    def __init__(
        self,
        store: Store,
        *,
        max_uncompressed: int,
        evaluate: Evaluator | None = None,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.max_uncompressed = max_uncompressed
        self.evaluate = evaluate
        self.after_commit = after_commit
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._hwm: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, name="aurora-ingest", daemon=True)
        self.stored_events = 0
        self.commits = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=60)

    def submit(self, sensor_id: str, batch: stream_pb2.EventBatch) -> Future[Outcome]:
        fut: Future[Outcome] = Future()
        self._queue.put(_Job(sensor_id, batch, int(time.time() * 1000), fut))
        return fut

    # --- the writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, _Job)
            jobs = [first]
            events = first.batch.count
            while events < _MAX_GROUP_EVENTS:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                assert isinstance(nxt, _Job)
                jobs.append(nxt)
                events += nxt.batch.count
            try:
                self._process(jobs)
            except Exception as exc:  # the writer must survive anything a batch can cause
                log.exception("storing %d batches failed", len(jobs))
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def _process(self, jobs: list[_Job]) -> None:
        accepted: list[tuple[_Job, IncomingBatch]] = []
        alerts: list[NewAlert] = []
        for job in jobs:
            try:
                events = decode_events(job.batch, max_uncompressed=self.max_uncompressed)
            except BatchDecodeError as exc:
                job.future.set_result(Outcome(False, exc.message))
                continue
            b = job.batch
            incoming = IncomingBatch(
                sensor_id=job.sensor_id,
                first_seq=b.first_seq,
                events=events,
                drops=DropDelta(b.drops.kernel, b.drops.spool_evicted, b.drops.spool_corrupt),
                received_ms=job.received_ms,
            )
            accepted.append((job, incoming))
            if self.evaluate is not None:
                new = self._new_events(incoming)
                if new:
                    alerts.extend(self._safe_evaluate(job.sensor_id, new))
        if not accepted:
            return
        try:
            results = self.store.ingest([inc for _, inc in accepted], alerts)
        except Exception:
            # The cached marks may now be ahead of what was committed.
            self._hwm.clear()
            raise
        self.commits += 1
        for (job, _), res in zip(accepted, results, strict=True):
            self._hwm[res.sensor_id] = res.high_water
            self.stored_events += res.stored
            job.future.set_result(Outcome(True, "", res))
        if self.after_commit is not None:
            try:
                self.after_commit()
            except Exception:
                log.exception("post-commit hook failed")

    def _new_events(self, b: IncomingBatch) -> Sequence[dict[str, Any]]:
        """Events above the high-water mark (duplicates are not evaluated twice)."""
        hwm = self._hwm.get(b.sensor_id)
        if hwm is None:
            hwm = self.store.high_water(b.sensor_id)
        skip = max(0, hwm - b.first_seq + 1)
        self._hwm[b.sensor_id] = max(hwm, b.first_seq + len(b.events) - 1)
        return b.events[skip:]

    def _safe_evaluate(self, sensor_id: str, events: Sequence[dict[str, Any]]) -> list[NewAlert]:
        assert self.evaluate is not None
        try:
            return self.evaluate(sensor_id, events)
        except Exception:
            # A detection bug must not stop ingest: the events are still stored and acked.
            log.exception(
                "detection failed on a batch from %s; events stored without it", sensor_id
            )
            return []
