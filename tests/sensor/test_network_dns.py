"""Network and DNS families on the real kernel: TCP connect/accept/listen over IPv4 and IPv6, a
refused connect, and DNS questions sent to a local UDP stub."""

from __future__ import annotations

import os
import socket
import struct

import pytest
from tests.sensor.conftest import LiveSensor, by_pid

pytestmark = [pytest.mark.root, pytest.mark.kernel]
ME = os.getpid()


@pytest.mark.parametrize(
    ("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
)
def test_listen_connect_accept(sensor: LiveSensor, family: int, host: str) -> None:
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.bind((host, 0))
    srv.listen()
    port = srv.getsockname()[1]
    cli = socket.create_connection((host, port))
    conn, _ = srv.accept()
    cport = cli.getsockname()[1]
    for s in (conn, cli, srv):
        s.close()

    (listen,) = sensor.wait_for(
        lambda e: by_pid(ME, 4001, 7)(e) and e["dst_endpoint"]["port"] == port
    )
    assert listen["type_uid"] == 400107
    assert listen["dst_endpoint"] == {"ip": host, "port": port}

    (out,) = sensor.wait_for(
        lambda e: (
            by_pid(ME, 4001, 1)(e)
            and e["connection_info"]["direction_id"] == 2
            and e["dst_endpoint"]["port"] == port
        )
    )
    assert out["src_endpoint"] == {"ip": host, "port": cport}
    assert out["dst_endpoint"] == {"ip": host, "port": port}
    assert out["connection_info"]["protocol_name"] == "tcp"
    assert out["connection_info"]["protocol_num"] == 6
    assert out["connection_info"]["protocol_ver_id"] == (4 if family == socket.AF_INET else 6)
    assert out["actor"]["process"]["pid"] == ME

    (inb,) = sensor.wait_for(
        lambda e: (
            by_pid(ME, 4001, 1)(e)
            and e["connection_info"]["direction_id"] == 1
            and e["dst_endpoint"]["port"] == port
        )
    )
    assert inb["src_endpoint"] == {"ip": host, "port": cport}
    assert inb["dst_endpoint"] == {"ip": host, "port": port}
    assert inb["connection_info"]["direction"] == "Inbound"


def test_refused_connect_is_a_failed_open(sensor: LiveSensor) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port))
    (ev,) = sensor.wait_for(lambda e: by_pid(ME, 4001, 4)(e) and e["dst_endpoint"]["port"] == port)
    assert ev["type_uid"] == 400104
    assert ev["status_id"] == 2
    assert ev["connection_info"]["direction_id"] == 2


def dns_query(txid: int, name: str, qtype: int) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return (
        struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0)
        + labels
        + b"\0"
        + struct.pack("!HH", qtype, 1)
    )


class Stub:
    """A UDP 'resolver' bound to port 53; the questions queue in its socket, unanswered."""

    def __init__(self, family: int, host: str) -> None:
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, 53))

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize(
    ("family", "host"), [(socket.AF_INET, "127.0.0.2"), (socket.AF_INET6, "::1")]
)
def test_dns_query_via_sendto(sensor: LiveSensor, family: int, host: str) -> None:
    stub = Stub(family, host)
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.sendto(dns_query(0x1234, "evil.example.com", 1), (host, 53))
        (ev,) = sensor.wait_for(by_pid(ME, 4003, 1))
    finally:
        stub.close()
    assert ev["type_uid"] == 400301
    assert ev["query"] == {
        "hostname": "evil.example.com",
        "type": "A",
        "class": "IN",
        "packet_uid": 0x1234,
    }
    assert ev["dst_endpoint"] == {"ip": host, "port": 53}
    assert ev["connection_info"]["protocol_name"] == "udp"
    assert ev["actor"]["process"]["pid"] == ME


def test_dns_query_on_connected_socket_and_sendmsg(sensor: LiveSensor) -> None:
    stub = Stub(socket.AF_INET, "127.0.0.2")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("127.0.0.2", 53))
            s.send(dns_query(1, "a.example.org", 28))
            s.sendmsg([dns_query(2, "b.example.org", 16)])
        evs = sensor.wait_for(by_pid(ME, 4003, 1), count=2)
    finally:
        stub.close()
    got = sorted(
        (e["query"]["packet_uid"], e["query"]["hostname"], e["query"]["type"]) for e in evs
    )
    assert got == [(1, "a.example.org", "AAAA"), (2, "b.example.org", "TXT")]


def test_udp_to_other_ports_is_not_dns(sensor: LiveSensor) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(dns_query(3, "not.dns.example", 1), ("127.0.0.1", 5353))
    assert not [e for e in sensor.drain(0.5) if by_pid(ME, 4003, 1)(e)]
