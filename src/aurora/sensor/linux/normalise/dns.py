"""DNS query records (the question of an outgoing UDP/53 datagram) -> OCSF DNS Activity."""

from __future__ import annotations

import struct
from typing import Any

from aurora.ocsf.builders import DNS_ACTIVITY, endpoint
from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode import Dns, decode
from aurora.sensor.linux.normalise.context import NormaliseContext
from aurora.sensor.linux.normalise.network import ip_text
from aurora.sensor.linux.normalise.registry import register

DNS_TYPES = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    65: "HTTPS",
    255: "ANY",
}


def parse_dns_question(payload: bytes) -> tuple[int, str, int] | None:
    """(transaction id, query name, query type) from a DNS message, or None when malformed."""
    if len(payload) < 12:
        return None
    txid, _flags, qdcount = struct.unpack_from("!HHH", payload, 0)
    if qdcount < 1:
        return None
    labels: list[str] = []
    pos = 12
    while pos < len(payload):
        n = payload[pos]
        if n == 0:
            pos += 1
            break
        if n & 0xC0 or pos + 1 + n > len(payload):  # compression is not valid in a question
            return None
        labels.append(payload[pos + 1 : pos + 1 + n].decode("ascii", errors="replace"))
        pos += 1 + n
    else:
        return None
    if pos + 4 > len(payload):
        return None
    qtype = struct.unpack_from("!H", payload, pos)[0]
    return txid, ".".join(labels), qtype


@register(R.EV_DNS)
def query(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Dns):
        return None
    q = parse_dns_question(e.payload)
    if q is None:
        return None
    txid, name, qtype = q
    h = e.hdr
    ev = ctx.base(DNS_ACTIVITY, 1, h.ts_ns)
    ev["actor"] = ctx.actor(h)
    ev["query"] = {
        "hostname": name,
        "type": DNS_TYPES.get(qtype, str(qtype)),
        "class": "IN",
        "packet_uid": txid,
    }
    ev["dst_endpoint"] = endpoint(ip_text(e.family, e.daddr), e.dport)
    ev["connection_info"] = {
        "protocol_num": 17,
        "protocol_name": "udp",
        "direction_id": 2,
        "direction": "Outbound",
    }
    return ev
