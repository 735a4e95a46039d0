"""TCP connection records (connect, accept, listen, failed connect) -> OCSF Network Activity."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from aurora.ocsf.builders import NETWORK_ACTIVITY, endpoint
from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode import Net, decode
from aurora.sensor.linux.normalise.context import NormaliseContext
from aurora.sensor.linux.normalise.registry import register

_ACTIVITY = {R.NET_OP_LISTEN: 7, R.NET_OP_CONNECT_FAILED: 4}
_DIRECTION = {R.NET_OP_ACCEPT: (1, "Inbound"), R.NET_OP_LISTEN: (0, "Unknown")}


def ip_text(family: int, raw: bytes) -> str:
    """An address from the kernel's 16-byte field (IPv4 in the first four bytes). IPv4-mapped
    IPv6 addresses (dual-stack sockets) are written as IPv4 so rules match one spelling."""
    if family == socket.AF_INET:
        return str(ipaddress.IPv4Address(raw[:4]))
    addr = ipaddress.IPv6Address(raw[:16])
    return str(addr.ipv4_mapped) if addr.ipv4_mapped else str(addr)


@register(R.EV_NET)
def connection(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Net):
        return None
    h = e.hdr
    ev = ctx.base(NETWORK_ACTIVITY, _ACTIVITY.get(e.op, 1), h.ts_ns)
    ev["actor"] = ctx.actor(h)
    local = endpoint(ip_text(e.family, e.saddr), e.sport)
    remote = endpoint(ip_text(e.family, e.daddr), e.dport)
    if e.op == R.NET_OP_LISTEN:  # the endpoint others will connect to
        ev["dst_endpoint"] = local
    elif e.op == R.NET_OP_ACCEPT:
        ev["src_endpoint"], ev["dst_endpoint"] = remote, local
    else:
        ev["src_endpoint"], ev["dst_endpoint"] = local, remote
    direction = _DIRECTION.get(e.op, (2, "Outbound"))
    ev["connection_info"] = {
        "protocol_num": 6,
        "protocol_name": "tcp",
        "protocol_ver_id": 4 if e.family == 2 else 6,
        "direction_id": direction[0],
        "direction": direction[1],
    }
    if e.op == R.NET_OP_CONNECT_FAILED:
        ev["status_id"] = 2
    return ev
