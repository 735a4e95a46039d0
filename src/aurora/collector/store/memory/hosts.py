"""The hosts area in memory: the fleet table as a dict of host records by sensor id."""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import replace

from aurora.collector.store.base import HostRecord, HostStatus
from aurora.collector.store.base.hosts import shown_connected


class MemoryHosts:
    """:class:`~aurora.collector.store.base.HostStore` in a dict.

    With no events area beside it, every host's ``high_water`` reads 0 and the drop totals only
    change when a host is registered again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, HostRecord] = {}
        self._nodes: dict[str, int] = {}

    def register_host(self, host: HostRecord) -> None:
        with self._lock:
            self._hosts[host.sensor_id] = replace(copy.deepcopy(host), high_water=0)

    def get_host(self, sensor_id: str) -> HostRecord | None:
        with self._lock:
            host = self._hosts.get(sensor_id)
            return None if host is None else self._shown([host])[0]

    def resolve_host(self, id_or_hostname: str) -> list[str]:
        with self._lock:
            return sorted(
                h.sensor_id
                for h in self._hosts.values()
                if id_or_hostname in (h.sensor_id, h.hostname)
            )

    def list_hosts(self) -> list[HostRecord]:
        with self._lock:
            hosts = sorted(self._hosts.values(), key=lambda h: (h.hostname, h.sensor_id))
            return self._shown(hosts)

    def update_host_status(self, status: HostStatus) -> None:
        changes = copy.deepcopy(status.changes())
        with self._lock:
            host = self._hosts.get(status.sensor_id)
            if host is not None:
                seen = max(host.last_seen_ms, status.seen_ms)
                self._hosts[status.sensor_id] = replace(host, last_seen_ms=seen, **changes)

    def set_cert_not_after(self, sensor_id: str, not_after_ms: int) -> None:
        with self._lock:
            host = self._hosts.get(sensor_id)
            if host is not None:
                self._hosts[sensor_id] = replace(host, cert_not_after_ms=not_after_ms)

    def revoke_host(self, sensor_id: str, now_ms: int) -> bool:
        with self._lock:
            host = self._hosts.get(sensor_id)
            if host is None:
                return False
            self._hosts[sensor_id] = replace(host, revoked=True, revoked_ms=now_ms)
            return True

    def is_revoked(self, sensor_id: str) -> bool:
        with self._lock:
            host = self._hosts.get(sensor_id)
            return host is None or host.revoked

    def mark_all_disconnected(self, holder: str | None = None) -> None:
        with self._lock:
            for sensor_id, host in self._hosts.items():
                if host.connected and holder in (None, host.holder):
                    self._hosts[sensor_id] = replace(host, connected=False)

    def release_host(self, sensor_id: str, holder: str, seen_ms: int) -> None:
        with self._lock:
            host = self._hosts.get(sensor_id)
            if host is not None and host.holder == holder:
                seen = max(host.last_seen_ms, seen_ms)
                self._hosts[sensor_id] = replace(host, connected=False, last_seen_ms=seen)

    def beat_node(self, node: str, alive_until_ms: int) -> None:
        with self._lock:
            self._nodes[node] = alive_until_ms

    def _shown(self, hosts: list[HostRecord]) -> list[HostRecord]:
        """Under the lock: copies, as every console must show them."""
        now_ms = int(time.time() * 1000)
        live = {node for node, until in self._nodes.items() if until >= now_ms}
        return shown_connected(copy.deepcopy(hosts), live)
