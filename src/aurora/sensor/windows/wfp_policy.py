"""The WFP isolation filter set, built as plain data from an isolation plan.

One sublayer of our own holds everything. At ALE_AUTH_CONNECT (outbound) and ALE_AUTH_RECV_ACCEPT
(inbound), v4 and v6, a weight-0 filter blocks all traffic; weight-15 permits let through
loopback, the collector (address and port), DNS, DHCP and the operator's allow list. Within a
sublayer the highest weight decides, so a permit always wins over the block. :mod:`.wfp_engine`
installs the set in one transaction; tests check the data here.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from typing import Literal

from aurora.sensor.response.isolation import IsolationPlan

SUBLAYER_KEY = uuid.UUID("6f1d0b64-8a4c-4c55-9a0e-3d2a7a1e5b10")
SUBLAYER_WEIGHT = 0x8000
PERMIT_WEIGHT, BLOCK_WEIGHT = 15, 0
_KEY_NAMESPACE = uuid.UUID("0c7d6a9e-41f2-4e0b-b3f5-5b7a4c1f2e99")

# fwpmu.h layer and condition keys.
LAYERS = {
    "ALE_AUTH_CONNECT_V4": uuid.UUID("c38d57d1-05a7-4c33-904f-7fbceee60e82"),
    "ALE_AUTH_CONNECT_V6": uuid.UUID("4a72393b-319f-44bc-84c3-ba54dcb3b6b4"),
    "ALE_AUTH_RECV_ACCEPT_V4": uuid.UUID("e1cd9fe7-f4b5-4273-96c0-592e487b8650"),
    "ALE_AUTH_RECV_ACCEPT_V6": uuid.UUID("a3b42c97-9f04-4672-b87e-cee9c483257f"),
}
CONDITIONS = {
    "IP_REMOTE_ADDRESS": uuid.UUID("b235ae9a-1d64-49b8-a44c-5ff3d9095045"),
    "IP_REMOTE_PORT": uuid.UUID("c35a604d-d22b-4e1a-91b4-68f674ee674b"),
    "IP_LOCAL_PORT": uuid.UUID("0c1ba1af-5765-453f-af22-a8f791ac775b"),
    "IP_PROTOCOL": uuid.UUID("3971ef2b-623e-4f9a-8cb1-6e79b806b9a7"),
    "FLAGS": uuid.UUID("632ce23b-5167-435c-86d7-e903684aa80c"),
}
TCP, UDP = 6, 17

Action = Literal["permit", "block"]
Value = int | ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Condition:
    field: str  # a CONDITIONS key
    match: Literal["equal", "flags_all_set"]
    value: Value


@dataclass(frozen=True)
class Filter:
    name: str
    layer: str  # a LAYERS key
    action: Action
    weight: int
    conditions: tuple[Condition, ...] = ()

    @property
    def key(self) -> uuid.UUID:
        """Stable per (layer, name): re-applying a plan replaces filters rather than piling up."""
        return uuid.uuid5(_KEY_NAMESPACE, f"{self.layer}/{self.name}")


@dataclass(frozen=True)
class FilterSet:
    sublayer: uuid.UUID
    sublayer_weight: int
    filters: tuple[Filter, ...]
    persistent: bool


def _layers(direction: str, version: int | None = None) -> list[str]:
    names = [f"ALE_AUTH_{direction}_V4", f"ALE_AUTH_{direction}_V6"]
    return [n for n in names if version is None or n.endswith(f"V{version}")]


def _net(addr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(addr, strict=False)


def build_filter_set(plan: IsolationPlan, persistent: bool = False) -> FilterSet:
    """Every filter isolation installs for ``plan``; dynamic (gone with our session) by default."""
    out: list[Filter] = []

    def permit(name: str, layers: list[str], *conds: Condition) -> None:
        out.extend(Filter(name, layer, "permit", PERMIT_WEIGHT, conds) for layer in layers)

    loop = Condition("FLAGS", "flags_all_set", 1)  # FWP_CONDITION_FLAG_IS_LOOPBACK
    permit("loopback", _layers("CONNECT") + _layers("RECV_ACCEPT"), loop)
    for addr in plan.collector_addrs:
        net = _net(addr)
        # Every collector address on every collector port: the sensor's fail-over endpoints.
        for port in plan.ports:
            permit(
                f"collector {addr}" + ("" if port == plan.collector_port else f":{port}"),
                _layers("CONNECT", net.version),
                Condition("IP_REMOTE_ADDRESS", "equal", net),
                Condition("IP_REMOTE_PORT", "equal", port),
                Condition("IP_PROTOCOL", "equal", TCP),
            )
    if plan.allow_dns:
        for proto in (UDP, TCP):
            permit(
                f"dns/{proto}",
                _layers("CONNECT"),
                Condition("IP_REMOTE_PORT", "equal", 53),
                Condition("IP_PROTOCOL", "equal", proto),
            )
    if plan.allow_dhcp:
        for version, local, remote in ((4, 68, 67), (6, 546, 547)):
            for direction in ("CONNECT", "RECV_ACCEPT"):
                permit(
                    f"dhcp v{version}",
                    _layers(direction, version),
                    Condition("IP_LOCAL_PORT", "equal", local),
                    Condition("IP_REMOTE_PORT", "equal", remote),
                    Condition("IP_PROTOCOL", "equal", UDP),
                )
    for addr in plan.allow:
        net = _net(addr)
        for direction in ("CONNECT", "RECV_ACCEPT"):
            permit(
                f"allow {net}",
                _layers(direction, net.version),
                Condition("IP_REMOTE_ADDRESS", "equal", net),
            )
    out.extend(
        Filter("block all", layer, "block", BLOCK_WEIGHT)
        for layer in _layers("CONNECT") + _layers("RECV_ACCEPT")
    )
    return FilterSet(SUBLAYER_KEY, SUBLAYER_WEIGHT, tuple(out), persistent)
