"""Linux behind the platform seam: the eBPF event source, nftables isolation, pidfd kill,
the quarantine vault and /proc-based triage."""

from __future__ import annotations

from pathlib import Path

from aurora.config.response import ResponseConfig
from aurora.config.sensor import SensorConfig
from aurora.errors import AuroraError
from aurora.sensor.response.isolation import IsolationBackend
from aurora.sensor.response.isolation_linux import NftIsolation
from aurora.sensor.response.kill import kill_process
from aurora.sensor.response.quarantine import Vault
from aurora.sensor.response.triage import collect as collect_triage
from aurora.sensor.source import EventSource

__all__ = [
    "collect_triage",
    "event_source",
    "isolation_backend",
    "kill_process",
    "quarantine_vault",
]


def event_source(config: SensorConfig) -> EventSource:
    """The eBPF sensor, imported only when asked for (it loads libbpf through ctypes)."""
    try:
        from aurora.sensor.linux import LinuxSensor
    except ImportError as exc:
        raise AuroraError(f"the Linux sensor is not available in this build: {exc}") from None
    source: EventSource = LinuxSensor(config)
    return source


def isolation_backend(config: ResponseConfig) -> IsolationBackend:
    return NftIsolation(config.nft_path)


def quarantine_vault(root: Path, refused: list[Path]) -> Vault:
    return Vault(root, refused)
