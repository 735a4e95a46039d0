"""[sensor] section: the Linux/Windows sensor's state, spool and telemetry settings."""

from pathlib import Path

from pydantic import Field

from aurora.config.base import Section


class SensorConfig(Section):
    state_dir: Path = Path("/var/lib/aurora-sensor")
    spool_max_bytes: int = Field(default=500 * 1024**2, ge=1024**2)
    batch_max_events: int = Field(default=1000, ge=1, le=100_000)
    batch_max_delay_ms: int = Field(default=200, ge=1, le=60_000)
    heartbeat_interval_s: float = Field(default=10.0, gt=0, le=3600)
