"""[collector] section: where the collector keeps its state and where it listens for sensors."""

from pathlib import Path

from pydantic import Field

from aurora.config.base import Section


class CollectorConfig(Section):
    state_dir: Path = Path("/var/lib/aurora")
    listen: str = Field(default="0.0.0.0:9443", pattern=r"^\[?[0-9A-Za-z.:_-]*\]?:\d{1,5}$")
    advertised_endpoint: str = ""
    store: str = Field(default="sqlite", pattern=r"^(sqlite)$")
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
