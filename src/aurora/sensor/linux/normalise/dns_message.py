"""DNS wire-format parsing for the sensor's DNS records: the question, the response code and the
answer records, from a UDP payload or a TCP one (2-byte length prefix first, RFC 1035 4.2.2).

Payloads come from the kernel cut at 512 bytes and from peers the sensor does not trust, so every
read is bounds-checked and a malformed message yields None or the answers that were complete.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

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
RCODES = {0: "NoError", 1: "FormError", 2: "ServError", 3: "NXDomain", 4: "NotImp", 5: "Refused"}
_NAME_TYPES = {2, 5, 12}  # NS, CNAME, PTR: the rdata is a (possibly compressed) name
_MAX_ANSWERS = 32
_MAX_POINTERS = 16  # a compression loop cannot make the parser spin


class Malformed(ValueError):
    """The message ends early or points outside itself."""


@dataclass
class DnsMessage:
    txid: int
    flags: int
    hostname: str
    qtype: int
    answers: list[dict[str, object]] = field(default_factory=list)
    truncated: bool = False  # answers were cut off (kernel copy limit or a malformed record)

    @property
    def rcode(self) -> int:
        return self.flags & 0xF

    @property
    def is_response(self) -> bool:
        return bool(self.flags & 0x8000)


def strip_tcp_prefix(payload: bytes) -> bytes:
    """The DNS message in a TCP payload: without its length prefix when it carries one (a
    message sent or read apart from its prefix has none)."""
    if len(payload) >= 14:
        (length,) = struct.unpack_from("!H", payload)
        # the prefix announces the rest; the kernel copy may have cut that rest short
        if length == len(payload) - 2 or (len(payload) == 512 and length > 510):
            return payload[2:]
    return payload


def _name(msg: bytes, pos: int) -> tuple[str, int]:
    """(name, position after it) at ``pos``, following compression pointers."""
    labels: list[str] = []
    end = -1
    for _ in range(_MAX_POINTERS):
        while True:
            if pos >= len(msg):
                raise Malformed("name runs past the message")
            n = msg[pos]
            if n & 0xC0 == 0xC0:
                if pos + 1 >= len(msg):
                    raise Malformed("cut compression pointer")
                if end < 0:
                    end = pos + 2
                pos = ((n & 0x3F) << 8) | msg[pos + 1]
                break
            if n & 0xC0:
                raise Malformed("unknown label type")
            if n == 0:
                return ".".join(labels), (end if end >= 0 else pos + 1)
            if pos + 1 + n > len(msg):
                raise Malformed("label runs past the message")
            labels.append(msg[pos + 1 : pos + 1 + n].decode("ascii", errors="replace"))
            pos += 1 + n
    raise Malformed("too many compression pointers")


def _rdata(msg: bytes, rtype: int, start: int, length: int) -> str:
    raw = msg[start : start + length]
    if rtype == 1 and length == 4:
        return str(ipaddress.IPv4Address(raw))
    if rtype == 28 and length == 16:
        return str(ipaddress.IPv6Address(raw))
    if rtype in _NAME_TYPES:
        return _name(msg, start)[0]
    if rtype == 15 and length > 2:
        return f"{struct.unpack_from('!H', raw)[0]} {_name(msg, start + 2)[0]}"
    if rtype == 16:
        parts, i = [], 0
        while i < len(raw):
            parts.append(raw[i + 1 : i + 1 + raw[i]].decode(errors="replace"))
            i += 1 + raw[i]
        return "".join(parts)
    return raw.hex()


def parse_message(msg: bytes) -> DnsMessage | None:
    """The question and answers of one DNS message, or None when not even the question parses."""
    if len(msg) < 12:
        return None
    txid, flags, qdcount, ancount = struct.unpack_from("!HHHH", msg)
    if qdcount < 1:
        return None
    try:
        hostname, pos = _name(msg, 12)
    except Malformed:
        return None
    if pos + 4 > len(msg):
        return None
    (qtype,) = struct.unpack_from("!H", msg, pos)
    out = DnsMessage(txid, flags, hostname, qtype)
    pos += 4
    try:
        for _ in range(1, qdcount):  # rare extra questions: skip them
            pos = _name(msg, pos)[1] + 4
        for _ in range(min(ancount, _MAX_ANSWERS)):
            _owner, pos = _name(msg, pos)
            if pos + 10 > len(msg):
                raise Malformed("record header cut")
            rtype, rclass, ttl, rdlen = struct.unpack_from("!HHIH", msg, pos)
            pos += 10
            if pos + rdlen > len(msg):
                raise Malformed("rdata cut")
            out.answers.append(
                {
                    "type": DNS_TYPES.get(rtype, str(rtype)),
                    "class": "IN" if rclass == 1 else str(rclass),
                    "ttl": ttl,
                    "rdata": _rdata(msg, rtype, pos, rdlen),
                }
            )
            pos += rdlen
    except Malformed:
        out.truncated = True
    out.truncated = out.truncated or ancount > len(out.answers)
    return out
