"""The heartbeat's health report: capabilities, health verdict, spool fill, counters, isolation.

Health is derived, not configured: FAILING when nothing could load, DEGRADED when something is
missing, events are being lost, the spool's disk is failing or the spool is nearly full, OK
otherwise. The reason travels as a pseudo-capability so the console can show *why* without a
schema change.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aurora.sensor.source import Capability
from aurora.sensor.spool import SpoolStatus
from aurora.v1 import common_pb2, stream_pb2

SPOOL_WARN_FRACTION = 0.9

_ISOLATION = {
    "isolated": common_pb2.ISOLATION_STATE_ISOLATED,
    "isolated_unverified": common_pb2.ISOLATION_STATE_ISOLATED,
    "not_isolated": common_pb2.ISOLATION_STATE_NONE,
    "none": common_pb2.ISOLATION_STATE_NONE,
    "isolation_lost": common_pb2.ISOLATION_STATE_FAILED,
    "failed": common_pb2.ISOLATION_STATE_FAILED,
}


def isolation_enum(state: str) -> common_pb2.IsolationState:
    """Map the response executor's state name; anything unknown is UNSPECIFIED, not a guess."""
    return _ISOLATION.get(state, common_pb2.ISOLATION_STATE_UNSPECIFIED)


@dataclass(frozen=True)
class HealthVerdict:
    health: stream_pb2.Health
    reasons: tuple[str, ...]


def assess(
    caps: Sequence[Capability], spool: SpoolStatus, new_losses: int, isolation: str
) -> HealthVerdict:
    reasons: list[str] = []
    if caps and not any(c.loaded for c in caps):
        return HealthVerdict(stream_pb2.HEALTH_FAILING, ("no telemetry source could load",))
    missing = [c.name for c in caps if not c.loaded]
    if missing:
        reasons.append("not loaded: " + ", ".join(missing))
    if new_losses:
        reasons.append(f"{new_losses} events lost since the last heartbeat")
    if spool.disk_error:
        reasons.append(f"spool disk failing: {spool.disk_error}")
    if spool.bytes_max and spool.bytes_used >= SPOOL_WARN_FRACTION * spool.bytes_max:
        reasons.append(f"spool {100 * spool.bytes_used // spool.bytes_max}% full")
    if isolation == "isolation_lost":
        reasons.append("isolation rules vanished")
    health = stream_pb2.HEALTH_DEGRADED if reasons else stream_pb2.HEALTH_OK
    return HealthVerdict(health, tuple(reasons))


def build_heartbeat(
    sensor_id: str,
    caps: Sequence[Capability],
    spool: SpoolStatus,
    counters: Mapping[str, int],
    isolation: str,
    new_losses: int,
) -> stream_pb2.Heartbeat:
    verdict = assess(caps, spool, new_losses, isolation)
    wire_caps = [common_pb2.Capability(name=c.name, loaded=c.loaded, reason=c.reason) for c in caps]
    if verdict.reasons:
        wire_caps.append(
            common_pb2.Capability(name="health", loaded=False, reason="; ".join(verdict.reasons))
        )
    return stream_pb2.Heartbeat(
        sensor_id=sensor_id,
        sent_at_unix_ms=int(time.time() * 1000),
        health=verdict.health,
        capabilities=wire_caps,
        spool=stream_pb2.SpoolStatus(
            bytes_used=spool.bytes_used,
            bytes_max=spool.bytes_max,
            events_queued=spool.events_queued,
        ),
        counters={k: max(0, int(v)) for k, v in counters.items()},
        isolation=isolation_enum(isolation),
    )
