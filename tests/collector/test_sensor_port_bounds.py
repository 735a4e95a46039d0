"""The sensor port against hostile peers, over a real collector and real sockets: TLS older than
1.2 is refused, partial TLS handshakes and TLS connections that never speak HTTP/2 are closed
after the configured bounds, and a legitimate sensor connects and delivers while 300 of them
hang open."""

from __future__ import annotations

import socket
import ssl
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from client import Stream, enroll, make_event

from api.apienv import old_tls_refused
from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from conftest import addr, make_config

BOUND_S = 2
HOSTILE = 300


@pytest.fixture
def bounded(tmp_path: Path) -> Iterator[Collector]:
    config = make_config(
        tmp_path / "collector",
        tls_handshake_timeout_s=BOUND_S,
        http2_preface_timeout_s=BOUND_S,
    )
    c = Collector(config)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def test_tls_older_than_1_2_is_refused(collector: Collector) -> None:
    assert old_tls_refused(collector.port)


def _partial_handshake(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello record header, then silence
    return s


def _tls_without_http2(port: int) -> ssl.SSLSocket:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def _closed_by_server(s: socket.socket, deadline: float) -> bool:
    s.settimeout(max(0.05, deadline - time.monotonic()))
    try:
        while True:
            if not s.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError, ssl.SSLEOFError):
        return True
    except TimeoutError:
        return False


def test_hostile_connections_are_bounded_and_a_sensor_still_delivers(
    bounded: Collector,
) -> None:
    port = bounded.port
    hostile: list[socket.socket] = []
    try:
        for i in range(HOSTILE):
            hostile.append(_partial_handshake(port) if i % 2 else _tls_without_http2(port))
        opened = time.monotonic()

        # A legitimate sensor enrols, connects and has a batch acknowledged meanwhile.
        assert bounded.store is not None and bounded.ca is not None
        token = create_token(bounded.store, 3600, 1)
        ident = enroll(addr(bounded), token.token, bounded.ca.cert_pem, "good-1")
        stream = Stream(addr(bounded), ident)
        try:
            stream.hello()
            stream.batch(1, [make_event(1, hostname="good-1")])
            ack = stream.recv_kind("ack", timeout=10)
            assert ack.accepted and ack.first_seq == 1
        finally:
            stream.close()
        assert time.monotonic() - opened < BOUND_S * 5

        deadline = opened + BOUND_S + 5
        still_open = [s for s in hostile if not _closed_by_server(s, deadline)]
        assert not still_open, f"{len(still_open)} of {HOSTILE} hostile connections still open"
    finally:
        for s in hostile:
            s.close()


def test_bytes_that_are_not_http2_are_refused_at_once(bounded: Collector) -> None:
    s = _tls_without_http2(bounded.port)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _closed_by_server(s, time.monotonic() + BOUND_S / 2)
    finally:
        s.close()
