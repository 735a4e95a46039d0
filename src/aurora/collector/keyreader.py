"""Read the index keys of incoming batches in a worker process.

Reading a batch's keys (decompress, check, walk the JSON with msgspec; see
:mod:`aurora.collector.store.eventpack`) is a few C calls that hold the GIL for milliseconds per
1,000-event batch. Inside the collector process that stalls every other thread at each of its
GIL hand-offs: the ingest writer takes the GIL back after every SQLite statement, and next to a
busy reader it was measured four times slower (138,000 -> 33,000 events/s). So the reading runs
in one worker process, and the collector process only unpickles the keys, in one short call.

The worker is started lazily (``spawn``: forking a process that runs gRPC threads is unsafe) and
restarted if it dies. A batch is read again in the new worker (the first one may have died of
something else, such as the OOM killer); a batch that kills two workers is rejected, never read
in the collector process, where it would take everything down with it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from aurora.collector.store import eventpack
from aurora.v1 import stream_pb2
from aurora.wire.codec import BatchDecodeError, decode_payload

log = logging.getLogger("aurora.collector.ingest")

#: (uncompressed size, the zstd bytes to store, keys per event)
Read = tuple[int, bytes, list[eventpack.EventKeys]]


def stored_form(batch: stream_pb2.EventBatch, payload: bytes) -> bytes:
    """The zstd bytes the store keeps for a checked batch: the sensor's own frame when it sent
    one (just checked to decompress to exactly ``payload``), else ``payload`` compressed."""
    if batch.compression == stream_pb2.COMPRESSION_ZSTD:
        return batch.events
    return eventpack.compress(payload)


def read_batch(batch: stream_pb2.EventBatch, max_uncompressed: int, received_ms: int) -> Read:
    """Check one batch and return what the store keeps of it (runs in the worker process).
    Raises BatchDecodeError or eventpack.PackError for a batch that cannot be stored."""
    payload = decode_payload(batch, max_uncompressed=max_uncompressed)
    keys = eventpack.scan_keys(payload, batch.count, received_ms)
    return len(payload), stored_form(batch, payload), keys


def _exit_with_parent(parent: int) -> None:
    """Worker initialiser: leave when the collector process is gone (even SIGKILLed), which
    the pool's pipes alone do not tell the worker."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="aurora-reader-watch", daemon=True).start()


class KeyReader:
    """One worker process that reads batches for the collector's decoder thread. ``read`` is the
    function the worker runs (a module-level function, as the worker imports it by name)."""

    def __init__(
        self, read: Callable[[stream_pb2.EventBatch, int, int], Read] = read_batch
    ) -> None:
        self._read = read
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def read(self, batch: stream_pb2.EventBatch, max_uncompressed: int, received_ms: int) -> Read:
        for _attempt in range(2):
            pool = self._ensure()
            try:
                return pool.submit(self._read, batch, max_uncompressed, received_ms).result()
            except BrokenProcessPool:
                with self._lock:
                    if self._pool is pool:
                        self._pool = None
                log.error("the batch reader process died; starting a new one")
        raise BatchDecodeError("reading this batch killed the batch reader process twice")

    def _ensure(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the batch reader is closed")
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_exit_with_parent,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
