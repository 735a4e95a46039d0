"""`aurora sensor --stdout`: run an event source without a collector, one OCSF JSON per line.

Logs ``sensor ready`` once every probe is attached; SIGINT/SIGTERM flush what the rings hold,
detach and exit 0. Drop counters and capabilities go to the log, never to stdout.

Every batch goes out through ``write_all``: with ``python -u`` or PYTHONUNBUFFERED, stdout's binary
layer is a raw FileIO, whose ``write`` may take only part of a batch (a signal interrupting a
write(2) blocked on a full pipe returns what was written so far). Ignoring that count used to cut
an event mid-JSON and lose the rest of the batch without any drop counter noticing.
"""

from __future__ import annotations

import gc
import logging
import select
import signal
import sys
from types import FrameType
from typing import BinaryIO

import orjson

from aurora.sensor.source import EventSource

log = logging.getLogger("aurora.sensor")
POLL_MS = 100
GC_GEN0_THRESHOLD = 50_000


def run_standalone(source: EventSource, out: BinaryIO | None = None) -> int:
    out = out or sys.stdout.buffer
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    gc_threshold = gc.get_threshold()
    try:
        source.start()
        # Everything loaded so far (modules, the seeded process table) lives as long as we do:
        # keep it out of the cyclic collector's scans, which otherwise dominate at high rates.
        gc.freeze()
        # Events are acyclic dicts freed by reference counting: at the default threshold (700
        # allocations) the collector would scan the young generation every few events for nothing.
        gc.set_threshold(GC_GEN0_THRESHOLD, *gc_threshold[1:])
        for cap in source.capabilities():
            if cap.loaded:
                log.info("capability %s: loaded", cap.name)
            else:
                log.warning("capability %s: not loaded: %s", cap.name, cap.reason)
        log.info("sensor ready")
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        while not stopping:
            events = source.poll(POLL_MS)
            if events:
                write_all(out, b"".join(dumps(ev, option=newline) for ev in events))
                out.flush()
        # Flush: whatever the kernel already handed over is written before we detach (a poll
        # takes a bounded batch, so until one comes back empty).
        while events := source.poll(0):
            write_all(out, b"".join(dumps(ev, option=newline) for ev in events))
        out.flush()
        log.info("sensor stopped; kernel drops per family: %s", source.drop_counts())
    except BrokenPipeError:
        pass
    finally:
        source.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
        gc.set_threshold(*gc_threshold)
    return 0


def write_all(out: BinaryIO, data: bytes) -> None:
    """Write every byte of ``data`` to ``out``, buffered or raw, blocking or not.

    A raw stream reports partial writes through its return value (None: a non-blocking one is
    full); a buffered one on a non-blocking descriptor raises BlockingIOError saying how much it
    took. Either way the rest is written once the reader makes room, never dropped.
    """
    view = memoryview(data)
    while view:
        try:
            n: int | None = out.write(view)
        except BlockingIOError as exc:
            n = exc.characters_written
            select.select([], [out], [])
        if n is None:
            select.select([], [out], [])
            continue
        view = view[n:]
