"""The hosts area of the store: the fleet table, one row per enrolled sensor, with its health."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from aurora.errors import AuroraError


class UnknownHost(AuroraError):
    """No enrolled sensor has this id (or hostname)."""

    def __init__(self, host: str) -> None:
        super().__init__(f"no enrolled sensor matches {host!r}; see `aurora hosts`")
        self.host = host


@dataclass(frozen=True)
class HostRecord:
    sensor_id: str
    hostname: str = ""
    os_name: str = ""
    os_version: str = ""
    kernel_version: str = ""
    arch: str = ""
    sensor_version: str = ""
    machine_id: str = ""
    ip_addresses: tuple[str, ...] = ()
    enrolled_ms: int = 0
    last_seen_ms: int = 0
    cert_not_after_ms: int = 0
    revoked: bool = False
    revoked_ms: int = 0
    connected: bool = False
    health: str = "unknown"
    capabilities: tuple[dict[str, Any], ...] = ()
    spool_bytes: int = 0
    spool_max_bytes: int = 0
    queue_depth: int = 0
    drops_kernel: int = 0
    drops_spool_evicted: int = 0
    drops_spool_corrupt: int = 0
    drops_plugin: int = 0
    isolation: str = "unknown"
    counters: dict[str, int] = field(default_factory=dict)
    #: The collector node holding the sensor's stream ("" on a single node, which holds all).
    holder: str = ""
    high_water: int = 0


@dataclass(frozen=True)
class HostStatus:
    """What a heartbeat (or Hello) says about a sensor, for :meth:`HostStore.update_host_status`."""

    sensor_id: str
    seen_ms: int
    health: str | None = None
    capabilities: Sequence[dict[str, Any]] | None = None
    spool_bytes: int | None = None
    spool_max_bytes: int | None = None
    queue_depth: int | None = None
    isolation: str | None = None
    counters: dict[str, int] | None = None
    connected: bool | None = None
    #: The node that now holds the stream (set with connected=True in a cluster).
    holder: str | None = None
    # Host facts refreshed from Hello (None = unchanged).
    host: dict[str, Any] | None = None

    def changes(self) -> dict[str, Any]:
        """The host fields this status sets, as :class:`HostRecord` values: the ones it carries,
        and host facts only when they are non-empty text. ``last_seen_ms`` is not among them:
        it only moves forward, which each backend applies itself."""
        out: dict[str, Any] = {
            name: value
            for name, value in (
                ("health", self.health),
                ("spool_bytes", self.spool_bytes),
                ("spool_max_bytes", self.spool_max_bytes),
                ("queue_depth", self.queue_depth),
                ("isolation", self.isolation),
                ("connected", self.connected),
                ("holder", self.holder),
            )
            if value is not None
        }
        if self.capabilities is not None:
            out["capabilities"] = tuple(self.capabilities)
        if self.counters is not None:
            # Shown as the sensor reports them. The drop totals come from the per-batch deltas
            # alone: adding those AND raising to the heartbeat's cumulative figure counted twice.
            out["counters"] = self.counters
        if self.host:
            for key in _HOST_FACTS:
                if isinstance(self.host.get(key), str) and self.host[key]:
                    out[key] = self.host[key]
            if isinstance(self.host.get("ip_addresses"), list | tuple):
                out["ip_addresses"] = tuple(self.host["ip_addresses"])
        return out


#: Host facts a Hello may refresh when it carries a non-empty string for them.
_HOST_FACTS = (
    "hostname",
    "os_name",
    "os_version",
    "kernel_version",
    "arch",
    "sensor_version",
    "machine_id",
)


@runtime_checkable
class HostStore(Protocol):
    """The fleet table. Drop totals grow only with the deltas batches carry (see ingest);
    ``high_water`` is the sensor's event high-water mark."""

    def register_host(self, host: HostRecord) -> None:
        """Insert, or replace every field of an enrolled sensor."""
        ...

    def get_host(self, sensor_id: str) -> HostRecord | None: ...
    def resolve_host(self, id_or_hostname: str) -> list[str]:
        """Sensor ids whose id or hostname is ``id_or_hostname`` (empty when none)."""
        ...

    def list_hosts(self) -> list[HostRecord]:
        """Ordered by hostname, then sensor id."""
        ...

    def update_host_status(self, status: HostStatus) -> None:
        """Apply the fields that are not None; last seen only moves forward. The heartbeat's
        counters are shown as sent and never added to the drop totals."""
        ...

    def set_cert_not_after(self, sensor_id: str, not_after_ms: int) -> None: ...
    def revoke_host(self, sensor_id: str, now_ms: int) -> bool:
        """Mark revoked; False when no such sensor."""
        ...

    def is_revoked(self, sensor_id: str) -> bool:
        """True when revoked OR unknown: an unknown sensor must be refused just the same."""
        ...

    def mark_all_disconnected(self, holder: str | None = None) -> None:
        """Every host disconnected; with ``holder``, only the hosts that node holds (a node
        starting on a shared store must leave the other nodes' sensors as they are)."""
        ...

    def release_host(self, sensor_id: str, holder: str, seen_ms: int) -> None:
        """A stream held by ``holder`` ended: disconnected, unless another node took the
        sensor meanwhile (a fail-over overtaking the old stream's end)."""
        ...

    def beat_node(self, node: str, alive_until_ms: int) -> None:
        """``node`` is alive until then; the hosts it holds show as connected only that long."""
        ...


def shown_connected(hosts: list[HostRecord], live_nodes: set[str]) -> list[HostRecord]:
    """The hosts as every console must show them: a host held by a node that stopped beating
    (SIGKILLed, cut off) is disconnected, whatever its row says."""
    return [
        replace(h, connected=False)
        if h.connected and h.holder and h.holder not in live_nodes
        else h
        for h in hosts
    ]
