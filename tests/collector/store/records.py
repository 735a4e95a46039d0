"""Records the store suites build: event batches and a sensor's heartbeat."""

from __future__ import annotations

from client import make_event

from aurora.collector.store import HostStatus, IncomingBatch


def batch(sensor: str, first: int, n: int, **kw: object) -> IncomingBatch:
    """``n`` events of ``sensor`` numbered from ``first`` (event time 1_700_000_000_000 + seq)."""
    events = [make_event(first + i) for i in range(n)]
    return IncomingBatch(sensor, first, events, received_ms=1000, **kw)  # type: ignore[arg-type]


def heartbeat(sensor: str) -> HostStatus:
    """A heartbeat carrying every status field, with cumulative loss counters."""
    return HostStatus(
        sensor,
        seen_ms=50,
        health="degraded",
        capabilities=[{"name": "process", "loaded": True, "reason": ""}],
        spool_bytes=10,
        spool_max_bytes=100,
        queue_depth=3,
        isolation="isolated",
        counters={"lost_kernel": 4, "events_sent": 9},
        connected=True,
    )
