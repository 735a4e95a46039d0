"""The batch reader process: checks each incoming batch, reads its index keys and, with detection
on, runs the Sigma matchers over its events, returning only the events some rule matched.

Reading a batch's keys (decompress, check, walk the JSON with msgspec; see
:mod:`aurora.collector.store.packed_batch`) is a few C calls that hold the GIL for milliseconds per
1,000-event batch. Inside the collector process that stalls every other thread at each of its
GIL hand-offs: the ingest writer takes the GIL back after every SQLite statement, and next to a
busy reader it was measured four times slower (138,000 -> 33,000 events/s). So the reading runs
in one worker process, and the collector process only unpickles the keys, in one short call.

The worker is started with the ingest writer (``spawn``: forking a process that runs gRPC threads
is unsafe) and restarted if it dies. A batch is read again in the new worker (the first one may
have died of something else, such as the OOM killer); a batch that kills two workers is
rejected, never read in the collector process, where it would take everything down with it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING

from aurora.collector.store import packed_batch
from aurora.gcpolicy import settle_after_startup
from aurora.v1 import stream_pb2
from aurora.wire.codec import BatchDecodeError, decode_payload, parse_event, split_events

if TYPE_CHECKING:
    from aurora.config.detection import DetectionConfig
    from aurora.detection import DetectionEngine

log = logging.getLogger("aurora.collector.detect")

#: One event the collector process must see: (position in the batch, its JSON exactly as the
#: sensor sent it, matched rule ids). Never serialised again: the collector parses it once.
Hit = tuple[int, bytes, tuple[str, ...]]
#: (uncompressed size, the zstd bytes to store, keys per event, hits; no hits without detection)
Read = tuple[int, bytes, list[packed_batch.EventKeys], list[Hit]]
#: What a worker loads its rules from: (rule directories, detection configuration).
RuleSource = tuple[list[str], "DetectionConfig"]


class RuleIds(tuple[str, ...]):
    """The ids of the rules one event matched, tagged with the :class:`RuleSet` generation they
    were matched with (a tuple, so code that only wants the ids need not know)."""

    generation: int

    def __new__(cls, ids: Iterable[str], generation: int) -> RuleIds:
        tagged = super().__new__(cls, ids)
        tagged.generation = generation
        return tagged


class RuleSet:
    """The rules the batch reader loads, replaced as a whole on reload. Shared by the detection
    stage (which replaces it) and the reader (which restarts its worker when it moved on)."""

    def __init__(self, source: RuleSource) -> None:
        self._lock = threading.Lock()
        self._current: tuple[int, RuleSource] = (0, source)

    @property
    def current(self) -> tuple[int, RuleSource]:
        """(generation, source), read together."""
        with self._lock:
            return self._current

    def replace(self, source: RuleSource) -> int:
        """Make ``source`` the rules of the next read; returns its generation."""
        with self._lock:
            generation = self._current[0] + 1
            self._current = (generation, source)
            return generation


# The worker process's own engine (None: detection off), loaded by the initialiser.
_ENGINE: DetectionEngine | None = None


def stored_form(batch: stream_pb2.EventBatch, payload: bytes) -> bytes:
    """The zstd bytes the store keeps for a checked batch: the sensor's own frame when it sent
    one (just checked to decompress to exactly ``payload``), else ``payload`` compressed."""
    if batch.compression == stream_pb2.COMPRESSION_ZSTD:
        return batch.events
    return packed_batch.compress(payload)


def read_batch(batch: stream_pb2.EventBatch, max_uncompressed: int, received_ms: int) -> Read:
    """Check one batch and return what the store keeps of it (runs in the worker process).
    Raises BatchDecodeError for a batch that cannot be stored."""
    payload = decode_payload(batch, max_uncompressed=max_uncompressed)
    engine = _ENGINE
    if engine is None:
        scanned = packed_batch.scan_keys(payload, batch.count, received_ms)
        return len(payload), stored_form(batch, payload), scanned, []
    raws = split_events(payload, batch.count)
    keys: list[packed_batch.EventKeys] = []
    match = engine.match_rules
    scans = engine.scan_detector is not None
    hits: list[Hit] = []
    for i, raw in enumerate(raws):
        ev = parse_event(raw)
        keys.append(packed_batch.keys_of(ev, received_ms))
        rules = match(ev)
        if rules or (scans and ev.get("class_uid") == 4001):
            hits.append((i, bytes(raw), tuple(r.id for r in rules)))
    return len(payload), stored_form(batch, payload), keys, hits


def _ready() -> bool:
    return True


def _start_worker(parent: int, rules: RuleSource | None) -> None:
    """Worker initialiser: load the rules (with detection on), then watch the parent."""
    global _ENGINE
    if rules is not None:
        from aurora.detection import DetectionEngine

        dirs, config = rules
        _ENGINE = DetectionEngine.load([Path(d) for d in dirs], config=config)
    settle_after_startup()
    _exit_with_parent(parent)


def _exit_with_parent(parent: int) -> None:
    """Leave when the collector process is gone (even SIGKILLed), which the pool's pipes alone
    do not tell the worker."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="aurora-reader-watch", daemon=True).start()


class BatchReader:
    """One worker process that reads batches for the collector's decoder thread. ``read`` is the
    function the worker runs (a module-level function, as the worker imports it by name);
    ``rules`` turns detection on in the worker (a :class:`RuleSet` to have them reloaded)."""

    def __init__(
        self,
        read: Callable[[stream_pb2.EventBatch, int, int], Read] = read_batch,
        rules: RuleSource | RuleSet | None = None,
    ) -> None:
        self._read = read
        self._rules = RuleSet(rules) if isinstance(rules, tuple) else rules
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0  # of the rules the current worker loaded
        self._lock = threading.Lock()
        self._closed = False

    def start(self) -> None:
        """Start the worker now rather than on the first batch. With rules, wait until it has
        loaded them, so the first batch is matched as fast as the rest."""
        ready = self._ensure().submit(_ready)
        if self._rules is not None:
            ready.result()

    def read(self, batch: stream_pb2.EventBatch, max_uncompressed: int, received_ms: int) -> Read:
        if self._rules is not None and self._rules.current[0] != self._generation:
            self._reload()
        for _attempt in range(2):
            pool = self._ensure()
            generation = self._generation
            try:
                read = pool.submit(self._read, batch, max_uncompressed, received_ms).result()
            except BrokenProcessPool:
                with self._lock:
                    if self._pool is pool:
                        self._pool = None
                log.error("the batch reader process died; starting a new one")
            else:
                size, data, keys, hits = read
                return (
                    size,
                    data,
                    keys,
                    [(i, raw, RuleIds(ids, generation)) for i, raw, ids in hits],
                )
        raise BatchDecodeError("reading this batch killed the batch reader process twice")

    def _reload(self) -> None:
        """Replace the worker by one on the rule set's new generation. Reads are synchronous,
        so nothing is in flight in the old worker: each batch is matched by one generation."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        log.info("batch reader: loading the reloaded rules")
        self.start()

    def _ensure(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the batch reader is closed")
            if self._pool is None:
                source: RuleSource | None = None
                if self._rules is not None:
                    self._generation, source = self._rules.current
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(os.getpid(), source),
                )
            return self._pool

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
