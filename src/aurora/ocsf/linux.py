"""OCSF 1.8.0 building blocks for Linux telemetry: class ids, the event skeleton, endpoints and the
DNS question parser. Plain dicts (not models) because this runs once per kernel event.
"""

from __future__ import annotations

import ipaddress
import platform
import socket
import struct
from typing import Any

OCSF_VERSION = "1.8.0"
PRODUCT = {"name": "Aurora EDR", "vendor_name": "Aurora"}

FILE_ACTIVITY = 1001
KERNEL_EXTENSION_ACTIVITY = 1002
KERNEL_ACTIVITY = 1003
PROCESS_ACTIVITY = 1007
NETWORK_ACTIVITY = 4001
DNS_ACTIVITY = 4003

CLASS_NAMES = {
    FILE_ACTIVITY: "File System Activity",
    KERNEL_EXTENSION_ACTIVITY: "Kernel Extension Activity",
    KERNEL_ACTIVITY: "Kernel Activity",
    PROCESS_ACTIVITY: "Process Activity",
    NETWORK_ACTIVITY: "Network Activity",
    DNS_ACTIVITY: "DNS Activity",
}

OS_TYPE_LINUX = 200
SEVERITY_INFORMATIONAL = 1
SHA256_ALGORITHM_ID = 3

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


def device_info() -> dict[str, Any]:
    """The ``device`` object of this host, computed once per sensor."""
    return {
        "hostname": socket.gethostname(),
        "type_id": 0,
        "os": {"name": "Linux", "type_id": OS_TYPE_LINUX, "kernel_release": platform.release()},
    }


def skeleton(
    class_uid: int, activity_id: int, time_ms: int, uid: str, device: dict[str, Any]
) -> dict[str, Any]:
    """Fields every event carries; the caller adds the class-specific ones."""
    return {
        "class_uid": class_uid,
        "class_name": CLASS_NAMES[class_uid],
        "category_uid": class_uid // 1000,
        "activity_id": activity_id,
        "type_uid": class_uid * 100 + activity_id,
        "time": time_ms,
        "severity_id": SEVERITY_INFORMATIONAL,
        "metadata": {"version": OCSF_VERSION, "product": PRODUCT, "uid": uid},
        "device": device,
    }


def ip_text(family: int, raw: bytes) -> str:
    """An address from the kernel's 16-byte field (IPv4 in the first four bytes). IPv4-mapped
    IPv6 addresses (dual-stack sockets) are written as IPv4 so rules match one spelling."""
    if family == socket.AF_INET:
        return str(ipaddress.IPv4Address(raw[:4]))
    addr = ipaddress.IPv6Address(raw[:16])
    return str(addr.ipv4_mapped) if addr.ipv4_mapped else str(addr)


def endpoint(ip: str, port: int) -> dict[str, Any]:
    return {"ip": ip, "port": port}


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
