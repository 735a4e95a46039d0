"""TLS in front of the gRPC server, so one port serves enrolment (no client certificate) and the
sensor stream (client certificate required).

Why not gRPC's own TLS: grpcio's ``ssl_server_credentials(require_client_auth=False)`` maps to
"don't request a client certificate" (verified with grpcio 1.85), so a sensor's certificate never
reaches the server and ``auth_context()`` is empty. Python's ``ssl`` module can *request but not
require* one (``CERT_OPTIONAL``), and OpenSSL still verifies a certificate that is presented
(chain to our CA, validity dates), failing the handshake otherwise.

So this front terminates TLS with ``CERT_OPTIONAL`` and relays the HTTP/2 bytes unchanged to the
gRPC server listening on loopback without TLS. Each relayed connection comes from its own local
port; the front records port -> verified peer before relaying a byte, and the handlers look the
peer up from ``context.peer()``. The backend only trusts connections whose source port is in that
map, which only the front's own open sockets can hold.

Hostile peers are bounded here, before they cost the gRPC server anything: a TLS handshake must
finish within ``handshake_timeout_s`` and the HTTP/2 client preface must follow within
``preface_timeout_s``; a connection that opens with anything else is closed at once.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from asyncio import sslproto
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

log = logging.getLogger("aurora.collector.tls")

_HIGH_WATER = 4 * 1024 * 1024
_READ_BUFFER = 64 * 1024
# RFC 9113 section 3.4: every HTTP/2 client connection starts with exactly these bytes.
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


@dataclass(frozen=True)
class Peer:
    """Who is at the other end of one TLS connection. ``sensor_id`` is empty without a cert."""

    address: str
    sensor_id: str = ""
    cert_der: bytes = b""


def _cn(der: bytes) -> str:
    cert = x509.load_der_x509_certificate(der)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else value.decode()


def server_ssl_context(pki_dir: Path, ca_pem: bytes) -> ssl.SSLContext:
    """TLS 1.2+, HTTP/2 ALPN, client certificates requested and verified against our CA only."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pki_dir / "server.crt", pki_dir / "server.key")
    ctx.load_verify_locations(cadata=ca_pem.decode())
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["h2"])
    return ctx


class _Relay(asyncio.Protocol):
    """One direction-agnostic end of a relayed connection."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.other: _Relay | None = None
        self.pending: list[bytes] = []
        self.on_lost: list[object] = []
        self.on_made: list[object] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=_HIGH_WATER)
        for cb in self.on_made:
            cb(self)  # type: ignore[operator]

    def data_received(self, data: bytes) -> None:
        if self.other is not None and self.other.transport is not None:
            self.other.transport.write(data)
        else:
            self.pending.append(data)

    def pause_writing(self) -> None:
        if self.other is not None and self.other.transport is not None:
            self.other.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.other is not None and self.other.transport is not None:
            self.other.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        for cb in self.on_lost:
            cb()  # type: ignore[operator]
        if self.other is not None and self.other.transport is not None:
            self.other.transport.close()


class _ClientSide(_Relay):
    """The sensor's end: relays only after the HTTP/2 preface, which must arrive in time."""

    def __init__(self, preface_timeout_s: float) -> None:
        super().__init__()
        self.preface_timeout_s = preface_timeout_s
        self.seen = b""
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(self.preface_timeout_s, self._refuse, "sent no HTTP/2 preface")

    def data_received(self, data: bytes) -> None:
        if len(self.seen) < len(HTTP2_PREFACE):
            self.seen += data[: len(HTTP2_PREFACE) - len(self.seen)]
            if not HTTP2_PREFACE.startswith(self.seen):
                self._refuse("opened with bytes that are not HTTP/2")
                return
            if len(self.seen) == len(HTTP2_PREFACE) and self.timer is not None:
                self.timer.cancel()
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        super().connection_lost(exc)

    def _refuse(self, why: str) -> None:
        tr = self.transport
        if tr is None or tr.is_closing():
            return
        peer = tr.get_extra_info("peername")
        log.warning("closing sensor-port connection from %s: %s", peer[0] if peer else "?", why)
        tr.abort()


class TLSFront:
    """Listens on the public address and relays each TLS connection to ``backend_port``."""

    def __init__(
        self,
        host: str,
        port: int,
        backend_port: int,
        ctx: ssl.SSLContext,
        *,
        handshake_timeout_s: float = 10.0,
        preface_timeout_s: float = 10.0,
    ) -> None:
        self.host, self.port, self.backend_port, self.ctx = host, port, backend_port, ctx
        self.handshake_timeout_s = handshake_timeout_s
        self.preface_timeout_s = preface_timeout_s
        self._peers: dict[int, Peer] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self.connections = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._open: set[_Relay] = set()

    def lookup(self, grpc_peer: str) -> Peer | None:
        """The TLS peer behind a backend connection, from gRPC's ``ipv4:127.0.0.1:PORT``."""
        if not grpc_peer.startswith("ipv4:127.0.0.1:"):
            return None
        try:
            return self._peers.get(int(grpc_peer.rsplit(":", 1)[1]))
        except ValueError:
            return None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> int:
        """Bind and serve in a thread of its own; return the bound port (useful with port 0)."""
        # asyncio's TLS transport pre-allocates a 256 KiB read buffer per connection, which is
        # most of an idle sensor's cost (measured: ~350 KB RSS each with 1,000 sensors). 64 KiB
        # reads still move a 1,000-event batch in a handful of calls.
        sslproto.SSLProtocol.max_size = _READ_BUFFER  # type: ignore[attr-defined]
        ready: Future[int] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="aurora-tls", daemon=True
        )
        self._thread.start()
        self.port = ready.result(timeout=30)
        return self.port

    def _run(self, ready: Future[int]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            sock = socket.create_server(
                (self.host, self.port),
                family=socket.AF_INET6 if ":" in self.host else socket.AF_INET,
                backlog=4096,
                reuse_port=False,
            )
            self._server = loop.run_until_complete(
                loop.create_server(
                    self._accept,
                    sock=sock,
                    ssl=self.ctx,
                    ssl_handshake_timeout=self.handshake_timeout_s,
                )
            )
        except OSError as exc:
            ready.set_exception(exc)
            loop.close()
            return
        ready.set_result(int(sock.getsockname()[1]))
        try:
            loop.run_forever()
        finally:
            loop.close()

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def _close() -> None:
            if self._server is not None:
                self._server.close()
            for relay in list(self._open):
                if relay.transport is not None:
                    relay.transport.abort()
            await asyncio.sleep(0)
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        if loop.is_running():
            asyncio.run_coroutine_threadsafe(_close(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        self._loop = None

    # --- per connection --------------------------------------------------------------------------

    def _accept(self) -> _Relay:
        front = _ClientSide(self.preface_timeout_s)
        # With TLS, connection_made runs only once the handshake is done.
        front.on_made.append(self._handshake_done)
        return front

    def _handshake_done(self, front: _Relay) -> None:
        self.connections += 1
        self._open.add(front)
        front.on_lost.append(lambda: self._open.discard(front))
        front.on_lost.append(self._closed)
        task = asyncio.get_running_loop().create_task(self._connect_backend(front))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("relaying a connection failed: %r", task.exception())

    def _closed(self) -> None:
        self.connections -= 1

    async def _connect_backend(self, front: _Relay) -> None:
        tr = front.transport
        if tr is None or tr.is_closing():
            return
        tr.pause_reading()
        sslobj = tr.get_extra_info("ssl_object")
        peername = tr.get_extra_info("peername")
        address = f"{peername[0]}:{peername[1]}" if peername else "?"
        der = sslobj.getpeercert(binary_form=True) if sslobj is not None else None
        try:
            peer = Peer(address, _cn(der), der) if der else Peer(address)
        except ValueError:
            tr.close()
            return
        loop = asyncio.get_running_loop()
        back = _Relay()
        self._open.add(back)
        back.on_lost.append(lambda: self._open.discard(back))
        try:
            await loop.create_connection(lambda: back, "127.0.0.1", self.backend_port)
        except OSError as exc:
            log.error("cannot reach the gRPC backend on port %d: %s", self.backend_port, exc)
            tr.close()
            return
        assert back.transport is not None
        local_port = int(back.transport.get_extra_info("sockname")[1])
        # Registered before any byte is relayed: the backend sees the peer only after that.
        self._peers[local_port] = peer
        back.on_lost.append(lambda: self._peers.pop(local_port, None))
        front.other, back.other = back, front
        for chunk in front.pending:
            back.transport.write(chunk)
        front.pending.clear()
        if tr.is_closing():
            back.transport.close()
            return
        tr.resume_reading()
