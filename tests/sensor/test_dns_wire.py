"""DNS questions over TCP and DNS answers on the real kernel, against local servers on port 53
(the test's own, on loopback): every way a client writes a TCP question (one send, writev of
prefix and message, two writes), answers read with recvfrom, recv and read over UDP and TCP, and
what must stay out (other ports, the server side of port 53). Plus the wire parser against
malformed and hostile messages."""

from __future__ import annotations

import os
import random
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest
from tests.sensor.conftest import Event, LiveSensor
from tests.sensor.test_network_dns import dns_query

from aurora.sensor.linux.normalise.dns_message import parse_message, strip_tcp_prefix

ME = os.getpid()
SERVER = "127.0.0.4"


def answer(query: bytes, rcode: int = 0) -> bytes:
    """A response to ``query``: A 10.1.2.3, AAAA 2001:db8::1 and a CNAME, names compressed."""
    records = (
        b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([10, 1, 2, 3])
        + b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, 60, 16)
        + bytes.fromhex("20010db8000000000000000000000001")
        + b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 300, 6) + b"\x03www\xc0\x0c"
    )  # fmt: skip
    count = 0 if rcode else 3
    header = query[:2] + struct.pack("!HHHHH", 0x8180 | rcode, 1, count, 0, 0)
    return header + query[12:] + (b"" if rcode else records)


class Servers:
    """A UDP and a TCP 'resolver' on SERVER:53 answering every question with ``answer``."""

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((SERVER, 53))
        self.tcp = socket.create_server((SERVER, 53))
        self.rcode = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=f, daemon=True) for f in (self._u, self._t)]
        for t in self._threads:
            t.start()

    def _u(self) -> None:
        self.udp.settimeout(0.1)
        while not self._stop.is_set():
            try:
                data, peer = self.udp.recvfrom(512)
            except TimeoutError:
                continue
            except OSError:
                return
            self.udp.sendto(answer(data, self.rcode), peer)

    def _t(self) -> None:
        self.tcp.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                buf = b""
                while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                    chunk = conn.recv(2048)
                    if not chunk:
                        break
                    buf += chunk
                reply = answer(buf[2:], self.rcode)
                conn.sendall(struct.pack("!H", len(reply)) + reply)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def servers() -> Iterator[Servers]:
    s = Servers()
    try:
        yield s
    finally:
        s.close()


def dns_of(activity: int, proto: str, host: str) -> Callable[[Event], bool]:
    def match(ev: Event) -> bool:
        return (
            ev["class_uid"] == 4003
            and ev["activity_id"] == activity
            and ev["actor"]["process"]["pid"] == ME
            and ev["connection_info"]["protocol_name"] == proto
            and ev["query"]["hostname"] == host
        )

    return match


def tcp_ask(send: Callable[[socket.socket, bytes], None], host: str) -> bytes:
    q = dns_query(0x4242, host, 16)
    with socket.create_connection((SERVER, 53)) as c:
        send(c, q)
        size = struct.unpack("!H", c.recv(2))[0]
        return os.read(c.fileno(), size)  # the answer read with read(2)


@pytest.mark.root
@pytest.mark.kernel
@pytest.mark.parametrize(
    ("how", "send"),
    [
        ("one send", lambda c, q: c.sendall(struct.pack("!H", len(q)) + q)),
        ("writev", lambda c, q: os.writev(c.fileno(), [struct.pack("!H", len(q)), q])),
        ("two writes", lambda c, q: (os.write(c.fileno(), struct.pack("!H", len(q))), c.send(q))),
    ],
)
def test_tcp_question_and_answer(
    sensor: LiveSensor, servers: Servers, how: str, send: Callable[[socket.socket, bytes], None]
) -> None:
    host = f"{how.replace(' ', '-')}.tcp.example.org"
    reply = tcp_ask(send, host)
    assert parse_message(reply) is not None
    (q,) = sensor.wait_for(dns_of(1, "tcp", host))
    assert q["type_uid"] == 400301
    assert q["query"] == {"hostname": host, "type": "TXT", "class": "IN", "packet_uid": 0x4242}
    assert q["dst_endpoint"] == {"ip": SERVER, "port": 53}
    assert q["connection_info"]["protocol_num"] == 6
    assert q["connection_info"]["direction"] == "Outbound"
    (a,) = sensor.wait_for(dns_of(2, "tcp", host))
    assert a["type_uid"] == 400302
    assert a["rcode_id"] == 0 and a["rcode"] == "NoError"
    assert [x["rdata"] for x in a["answers"]] == ["10.1.2.3", "2001:db8::1", f"www.{host}"]
    assert a["src_endpoint"] == {"ip": SERVER, "port": 53}
    assert a["connection_info"]["direction"] == "Inbound"


@pytest.mark.root
@pytest.mark.kernel
def test_udp_answers_unconnected_and_connected(sensor: LiveSensor, servers: Servers) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(dns_query(7, "free.udp.example.org", 1), (SERVER, 53))
        s.recvfrom(512)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.connect((SERVER, 53))
        s.send(dns_query(8, "bound.udp.example.org", 1))
        s.recv(512)
        servers.rcode = 3
        s.sendmsg([dns_query(9, "gone.udp.example.org", 1)])
        s.recvmsg(512)
    (free,) = sensor.wait_for(dns_of(2, "udp", "free.udp.example.org"))
    assert free["answers"][0] == {"type": "A", "class": "IN", "ttl": 60, "rdata": "10.1.2.3"}
    assert free["unmapped"]["dns_answers_truncated"] is False
    (bound,) = sensor.wait_for(dns_of(2, "udp", "bound.udp.example.org"))
    assert bound["query"]["packet_uid"] == 8 and len(bound["answers"]) == 3
    (gone,) = sensor.wait_for(dns_of(2, "udp", "gone.udp.example.org"))
    assert (gone["rcode_id"], gone["rcode"], gone["answers"]) == (3, "NXDomain", [])


@pytest.mark.root
@pytest.mark.kernel
def test_other_ports_and_the_server_side_stay_in_the_kernel(sensor: LiveSensor) -> None:
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    q = dns_query(5, "not.dns.example.org", 1)
    with socket.create_connection(("127.0.0.1", port)) as c:
        c.sendall(struct.pack("!H", len(q)) + q)
        conn, _ = srv.accept()
        conn.recv(512)  # a TCP server reading a question is not an answer
        conn.sendall(answer(q))
        c.recv(512)
        conn.close()
    srv.close()
    evs = sensor.drain(0.6)
    assert not [e for e in evs if e["class_uid"] == 4003 and e["actor"]["process"]["pid"] == ME]


# --- the parser, on its own ---------------------------------------------------------------------


def test_parser_reads_names_types_and_prefixes() -> None:
    q = dns_query(1, "x.example.com", 15)
    r = answer(q)
    m = parse_message(r)
    assert m is not None and m.is_response and m.rcode == 0 and not m.truncated
    assert [a["type"] for a in m.answers] == ["A", "AAAA", "CNAME"]
    assert strip_tcp_prefix(struct.pack("!H", len(r)) + r) == r
    assert strip_tcp_prefix(r) == r  # a bare message keeps its first bytes
    cut = parse_message(r[:-5])  # the kernel copy stopped inside the last record
    assert cut is not None and cut.truncated and len(cut.answers) == 2


def test_parser_survives_hostile_messages() -> None:
    q = dns_query(1, "loop.example", 1)
    loop = (
        q[:6] + b"\x00\x01" + q[8:] + b"\xc0\x1e" + struct.pack("!HHIH", 5, 1, 1, 2) + b"\xc0\x2a"
    )
    m = parse_message(loop)
    assert m is not None and m.truncated  # a pointer loop is cut, not followed forever
    assert parse_message(b"\x00" * 11) is None
    assert parse_message(q[:12] + b"\xc0\xff") is None  # question pointing outside the message
    rng = random.Random(1616)
    for _ in range(3000):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
        parse_message(q[:12] + blob)  # never raises
