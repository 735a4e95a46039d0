"""Built-in network scan detection over Network Activity (4001) events.

A source address that touches more distinct destination ports (vertical scan) or distinct
destination hosts (horizontal scan) than the configured thresholds within the window raises one
finding. Inbound-connection capture on a sensor feeds it; outbound events catch a host scanning
others. State is bounded: per source at most ``scan_max_entries`` recent contacts, and at most
``scan_max_sources`` sources (least recently seen dropped first).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from aurora.config.detection import DetectionConfig
from aurora.detection.findings import Finding


@dataclass
class BuiltinRule:
    """Rule-like description of a detector implemented in code."""

    id: str
    title: str
    level: str
    tags: list[str]
    description: str
    enabled: bool = True
    logsource: dict[str, str | None] = field(default_factory=dict)


NETWORK_SCAN = BuiltinRule(
    id="aurora-builtin-network-scan",
    title="Network scan: one source touched many ports or hosts",
    level="high",
    tags=["attack.discovery", "attack.t1046"],
    description="A single source address connected to many distinct ports or hosts in a short "
    "window (thresholds in [detection] scan_*).",
)


class _Source:
    __slots__ = ("contacts",)

    def __init__(self) -> None:
        self.contacts: deque[tuple[float, str, int]] = deque()


def _endpoint(event: dict[str, Any], key: str) -> dict[str, Any]:
    ep = event.get(key)
    return ep if isinstance(ep, dict) else {}


class ScanDetector:
    def __init__(self, config: DetectionConfig) -> None:
        self.window = float(config.scan_window_s)
        self.max_ports = config.scan_distinct_ports
        self.max_hosts = config.scan_distinct_hosts
        self.max_entries = config.scan_max_entries
        self.max_sources = config.scan_max_sources
        self.rule = NETWORK_SCAN
        self._sources: OrderedDict[str, _Source] = OrderedDict()

    def observe(self, event: dict[str, Any], now: float) -> Finding | None:
        src = _endpoint(event, "src_endpoint").get("ip")
        dst = _endpoint(event, "dst_endpoint")
        host, port = dst.get("ip"), dst.get("port")
        if not src or not host or port is None or not self.rule.enabled:
            return None
        state = self._sources.get(src)
        if state is None:
            state = self._sources[src] = _Source()
            if len(self._sources) > self.max_sources:
                self._sources.popitem(last=False)
        else:
            self._sources.move_to_end(src)
        contacts = state.contacts
        contacts.append((now, str(host), int(port)))
        while contacts and contacts[0][0] < now - self.window:
            contacts.popleft()
        while len(contacts) > self.max_entries:
            contacts.popleft()
        ports = {(h, p) for _, h, p in contacts}
        per_host: dict[str, set[int]] = {}
        for h, p in ports:
            per_host.setdefault(h, set()).add(p)
        widest = max(len(v) for v in per_host.values())
        if widest < self.max_ports and len(per_host) < self.max_hosts:
            return None
        kind = "vertical" if widest >= self.max_ports else "horizontal"
        del self._sources[src]
        return Finding(
            self.rule,
            [event],
            "builtin",
            f"src_endpoint.ip={src}",
            {
                "scan_type": kind,
                "scan_source": src,
                "scan_distinct_hosts": len(per_host),
                "scan_distinct_ports": widest,
                "scan_window_s": self.window,
            },
        )
