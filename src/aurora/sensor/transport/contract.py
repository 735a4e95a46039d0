"""What a stream session and its owning ``Transport`` agree on: settings, counters, and the
``SessionOwner`` protocol a session calls back into (so session.py never imports client.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aurora.config.sensor import SensorConfig
from aurora.sensor.spool import Spool
from aurora.sensor.transport.commands import CommandRunner
from aurora.v1 import common_pb2, stream_pb2


@dataclass(frozen=True)
class TransportSettings:
    endpoint: str = ""  # overrides the endpoint stored at enrolment
    batch_max_events: int = 1000
    max_inflight: int = 8
    heartbeat_interval_s: float = 10.0
    keepalive_s: float = 30.0
    compression: str = "zstd"
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    cert_renew_fraction: float = 0.67

    @classmethod
    def from_config(cls, cfg: SensorConfig) -> TransportSettings:
        return cls(
            endpoint=cfg.collector_endpoint,
            batch_max_events=cfg.batch_max_events,
            max_inflight=cfg.max_inflight_batches,
            heartbeat_interval_s=cfg.heartbeat_interval_s,
            keepalive_s=cfg.keepalive_s,
            compression=cfg.transport_compression,
            reconnect_min_s=cfg.reconnect_min_s,
            reconnect_max_s=cfg.reconnect_max_s,
            cert_renew_fraction=cfg.cert_renew_fraction,
        )

    def endpoints(self, enrolled: tuple[str, ...]) -> tuple[str, ...]:
        """The collector endpoints to use, in order: the configured one alone, else the ones
        stored at enrolment."""
        return (self.endpoint,) if self.endpoint else enrolled


class Counters:
    """Cumulative counters for heartbeats; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = {}

    def add(self, name: str, n: int) -> None:
        with self._lock:
            self._values[name] = self._values.get(name, 0) + n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)


class SessionOwner(Protocol):
    """The transport as one session sees it (``client.Transport`` implements it)."""

    settings: TransportSettings
    spool: Spool
    host: common_pb2.HostInfo
    heartbeat: Callable[[], stream_pb2.Heartbeat]
    counters: Counters
    wake: threading.Event
    runner: CommandRunner

    def next_outgoing(self) -> stream_pb2.SensorMessage | None: ...

    def check_renewal(self) -> None: ...

    def on_welcome(self, welcome: stream_pb2.Welcome) -> int: ...

    def on_renewed(self, msg: stream_pb2.RenewResponse) -> None: ...
