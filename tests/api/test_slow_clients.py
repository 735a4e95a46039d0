"""Idle and slow clients on the console's real HTTPS port: a connection that sends no request,
or drips its request head, is closed after ``[api] request_head_timeout_s`` while ordinary
requests, keep-alive included, are served meanwhile."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.apienv import Env, make_env
from aurora.config import AuroraConfig

BOUND_S = 2.0


@pytest.fixture
def bounded(tmp_path: Path) -> Iterator[Env]:
    config = AuroraConfig.model_validate({"api": {"request_head_timeout_s": BOUND_S}})
    e = make_env(tmp_path, config)
    yield e
    e.close()


def _tls(port: int) -> ssl.SSLSocket:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="x")


def _closed(s: ssl.SSLSocket, drip: bytes = b"") -> bool:
    """Whether the server closes ``s`` within the bound (plus slack), sending ``drip`` meanwhile."""
    s.settimeout(0.25)
    deadline = time.monotonic() + BOUND_S + 3
    while time.monotonic() < deadline:
        try:
            if drip:
                s.sendall(drip)
            if not s.recv(100):
                return True
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
    return False


def test_idle_and_dripping_connections_are_closed(bounded: Env) -> None:
    idle = _tls(bounded.server.port)
    dripping = _tls(bounded.server.port)
    dripping.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n")
    try:
        client = bounded.client("viewer")
        assert client.get("/api/v1/hosts").status_code == 200
        assert _closed(dripping, drip=b"X-Slow: 1\r\n"), "a dripped request head was waited for"
        assert _closed(idle), "an idle connection was kept"
        # Keep-alive still works: the next request on the same connection is on time.
        time.sleep(BOUND_S / 2)
        assert client.get("/api/v1/hosts").status_code == 200
    finally:
        idle.close()
        dripping.close()
