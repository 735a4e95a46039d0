"""[collector] section: where the collector keeps its state and where it listens for sensors."""

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from aurora.config.base import Section

_ENDPOINT = re.compile(r"^\[?[0-9A-Za-z.:_-]+\]?:\d{1,5}$")


class CollectorConfig(Section):
    state_dir: Path = Path("/var/lib/aurora")
    listen: str = Field(default="0.0.0.0:9443", pattern=r"^\[?[0-9A-Za-z.:_-]*\]?:\d{1,5}$")
    # HOST:PORT, or a list of them, handed to sensors at enrolment; a sensor fails over along it.
    advertised_endpoint: list[str] = []
    # "sqlite" (embedded, in state_dir) or "postgresql://user:password@host:port/database".
    store: str = Field(default="sqlite", pattern=r"^(sqlite|postgres(ql)?://\S+)$")
    # The bus between this node's parts and the other nodes: "memory" (in-process, one node) or
    # "nats://HOST:PORT[,nats://HOST:PORT...]" (NATS JetStream, several nodes).
    bus: str = Field(default="memory", pattern=r"^(memory|nats://[^\s,]+(,nats://[^\s,]+)*)$")
    # What this node does: "all" (everything), "frontend" (holds the sensors' streams and
    # publishes their batches) or "worker" (detects and stores them). Only "all" runs alone.
    role: Literal["all", "frontend", "worker"] = "all"
    # In a cluster each front-end records, this often, that it is alive; the sensors it holds
    # show as connected on every console for three times as long after its last record.
    node_heartbeat_s: float = Field(default=5.0, gt=0, le=3600)
    retention_days: int = Field(default=30, ge=1)
    retention_max_bytes: int = Field(default=10 * 1024**3, ge=1024**2)
    max_batch_bytes: int = Field(default=16 * 1024**2, ge=1024)
    cert_lifetime_hours: int = Field(default=24, ge=1)
    server_names: list[str] = []
    max_upload_bytes: int = Field(default=1024**3, ge=1024)
    retention_interval_s: int = Field(default=600, ge=1)
    # Bounds on the sensor port (seconds): a TLS handshake must finish, and the HTTP/2 preface
    # follow it, within these, so idle or slow peers cannot pile up connections.
    tls_handshake_timeout_s: float = Field(default=10.0, gt=0, le=300)
    http2_preface_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # Tamper findings only the collector can raise (aurora.collector.tamper): a sensor silent for
    # this many of its heartbeat intervals, or losing events faster than this per minute.
    sensor_silence_heartbeats: int = Field(default=3, ge=2, le=1000)
    # ... and never sooner than this: a busy host can delay a short-interval heartbeat.
    sensor_silence_min_s: float = Field(default=5.0, ge=0.1, le=86_400)
    sensor_drop_alert_per_min: int = Field(default=10_000, ge=1)
    # Ed25519 public key (PEM, from `aurora release keygen`) that sensors pin at enrolment.
    release_public_key: Path | None = None

    @field_validator("advertised_endpoint", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        if isinstance(value, str):
            return [value] if value else []
        return value

    @field_validator("advertised_endpoint")
    @classmethod
    def _endpoints(cls, value: list[str]) -> list[str]:
        for endpoint in value:
            if not _ENDPOINT.match(endpoint):
                raise ValueError(f"{endpoint!r} is not HOST:PORT")
        if len(set(value)) != len(value):
            raise ValueError("lists an endpoint twice")
        return value
