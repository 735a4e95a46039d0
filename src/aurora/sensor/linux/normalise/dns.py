"""DNS records -> OCSF DNS Activity: questions sent to port 53 over UDP or TCP (Query), and the
answers read back from it (Response, with rcode and answer records)."""

from __future__ import annotations

from typing import Any

from aurora.ocsf.builders import DNS_ACTIVITY, endpoint
from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode import Dns, decode
from aurora.sensor.linux.normalise.context import NormaliseContext
from aurora.sensor.linux.normalise.dns_message import (
    DNS_TYPES,
    RCODES,
    DnsMessage,
    parse_message,
    strip_tcp_prefix,
)
from aurora.sensor.linux.normalise.network import ip_text
from aurora.sensor.linux.normalise.registry import register


def parse_dns_question(payload: bytes) -> tuple[int, str, int] | None:
    """(transaction id, query name, query type) from a DNS message, or None when malformed."""
    m = parse_message(payload)
    return None if m is None else (m.txid, m.hostname, m.qtype)


_TCP = {R.EV_DNS_TCP, R.EV_DNS_TCP_ANSWER}
_UDP_INFO = {"protocol_num": 17, "protocol_name": "udp"}
_TCP_INFO = {"protocol_num": 6, "protocol_name": "tcp"}


def _message(e: Dns) -> DnsMessage | None:
    if e.hdr.kind not in _TCP:
        return parse_message(e.payload)
    # a message written apart from its length prefix has none: try both readings
    return parse_message(strip_tcp_prefix(e.payload)) or parse_message(e.payload)


@register(R.EV_DNS)
@register(R.EV_DNS_TCP)
@register(R.EV_DNS_ANSWER)
@register(R.EV_DNS_TCP_ANSWER)
def dns_record(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Dns):
        return None
    m = _message(e)
    answer = e.hdr.kind in (R.EV_DNS_ANSWER, R.EV_DNS_TCP_ANSWER)
    if m is None or m.is_response != answer:
        return None
    h = e.hdr
    ev = ctx.base(DNS_ACTIVITY, 2 if answer else 1, h.ts_ns)
    ev["actor"] = ctx.actor(h)
    ev["query"] = {
        "hostname": m.hostname,
        "type": DNS_TYPES.get(m.qtype, str(m.qtype)),
        "class": "IN",
        "packet_uid": m.txid,
    }
    server = endpoint(ip_text(e.family, e.daddr), e.dport)
    ev["dst_endpoint"] = server
    direction = (1, "Inbound") if answer else (2, "Outbound")
    ev["connection_info"] = {
        **(_TCP_INFO if e.hdr.kind in _TCP else _UDP_INFO),
        "direction_id": direction[0],
        "direction": direction[1],
    }
    if answer:
        ev["src_endpoint"] = server  # the answer comes from the server
        ev["rcode_id"] = m.rcode if m.rcode in RCODES else 99
        ev["rcode"] = RCODES.get(m.rcode, str(m.rcode))
        ev["answers"] = m.answers
        ev["unmapped"] = {"dns_answers_truncated": m.truncated}
    return ev
