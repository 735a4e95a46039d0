"""A minimal sensor-side client built from the proto and cryptography, for the collector tests.

It is deliberately independent of aurora.sensor: it checks the wire contract from the outside,
including the CA pinning a real sensor does (SHA-256 of the CA certificate DER).
"""

from __future__ import annotations

import hashlib
import queue
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aurora.v1 import common_pb2, enrollment_pb2, enrollment_pb2_grpc, stream_pb2, stream_pb2_grpc
from aurora.wire.codec import encode_batch


class PinMismatch(Exception):
    pass


def fetch_ca_pinned(host: str, port: int, fingerprint: str) -> bytes:
    """Fetch the server chain's root over TLS without trusting it, then check the pin."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    import socket

    with (
        socket.create_connection((host, port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        # Python 3.11 has no public accessor for the unverified chain (3.13 adds one).
        chain = tls._sslobj.get_unverified_chain()  # type: ignore[union-attr]
    for cert in chain or []:
        der = cert.public_bytes(ssl._ssl.ENCODING_DER)  # type: ignore[attr-defined]
        if hashlib.sha256(der).hexdigest() == fingerprint:
            return ssl.DER_cert_to_PEM_cert(der).encode()
    raise PinMismatch("the collector's CA does not match the pinned fingerprint")


def new_key_and_csr(cn: str = "ignored") -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM)


@dataclass
class Identity:
    sensor_id: str
    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes


def enroll(addr: str, token: str, ca_pem: bytes, hostname: str = "test-host") -> Identity:
    key_pem, csr = new_key_and_csr()
    with grpc.secure_channel(addr, grpc.ssl_channel_credentials(ca_pem)) as ch:
        resp = enrollment_pb2_grpc.EnrollmentStub(ch).Enroll(
            enrollment_pb2.EnrollRequest(
                token=token,
                csr_pem=csr,
                host=common_pb2.HostInfo(hostname=hostname, os_name="linux", sensor_version="t"),
            ),
            timeout=10,
        )
    return Identity(resp.sensor_id, key_pem, resp.client_cert_pem, resp.ca_chain_pem[-1])


class Stream:
    """One SensorStream.Connect call driven from a thread: send() and recv() by message."""

    def __init__(self, addr: str, ident: Identity, *, cert_pem: bytes | None = None) -> None:
        creds = grpc.ssl_channel_credentials(
            ident.ca_pem, ident.key_pem, cert_pem if cert_pem is not None else ident.cert_pem
        )
        self.channel = grpc.secure_channel(addr, creds)
        self.ident = ident
        self._out: queue.Queue[stream_pb2.SensorMessage | None] = queue.Queue()
        self._in: queue.Queue[Any] = queue.Queue()
        self.call = stream_pb2_grpc.SensorStreamStub(self.channel).Connect(self._requests())
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _requests(self) -> Iterator[stream_pb2.SensorMessage]:
        while (msg := self._out.get()) is not None:
            yield msg

    def _pump(self) -> None:
        try:
            for msg in self.call:
                self._in.put(msg)
        except grpc.RpcError as exc:
            self._in.put(exc)
        self._in.put(None)

    def send(self, **body: Any) -> None:
        self._out.put(stream_pb2.SensorMessage(**body))

    def hello(self, sensor_id: str | None = None, hostname: str = "h1") -> stream_pb2.Welcome:
        sid = self.ident.sensor_id if sensor_id is None else sensor_id
        host = common_pb2.HostInfo(hostname=hostname)
        self.send(hello=stream_pb2.Hello(sensor_id=sid, host=host))
        msg = self.recv()
        assert msg.WhichOneof("body") == "welcome", msg
        return msg.welcome  # type: ignore[no-any-return]

    def batch(self, first_seq: int, events: list[dict[str, Any]], **kw: Any) -> None:
        self.send(batch=encode_batch(self.ident.sensor_id, first_seq, events, **kw))

    def recv(self, timeout: float = 10.0) -> Any:
        """Next CollectorMessage; raises the RpcError the stream ended with; None at end."""
        item = self._in.get(timeout=timeout)
        if isinstance(item, grpc.RpcError):
            raise item
        return item

    def recv_kind(self, kind: str, timeout: float = 10.0) -> Any:
        while True:
            msg = self.recv(timeout)
            if msg is None:
                raise AssertionError(f"stream ended while waiting for {kind}")
            if msg.WhichOneof("body") == kind:
                return getattr(msg, kind)

    def close(self) -> None:
        self._out.put(None)
        self.channel.close()
        self._thread.join(timeout=5)


def make_event(
    seq: int, *, hostname: str = "h1", class_uid: int = 1007, **extra: Any
) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "class_uid": class_uid,
        "activity_id": 1,
        "category_uid": 1,
        "type_uid": class_uid * 100 + 1,
        "time": 1_700_000_000_000 + seq,
        "severity_id": 1,
        "metadata": {
            "version": "1.8.0",
            "product": {"name": "Aurora EDR", "vendor_name": "Aurora"},
        },
        "device": {"hostname": hostname, "os": {"name": "Linux", "type_id": 200}},
        "process": {
            "pid": 1000 + seq,
            "name": "bash",
            "cmd_line": f"bash -c 'echo {seq}'",
            "file": {"path": "/usr/bin/bash", "name": "bash"},
        },
    }
    ev.update(extra)
    return ev
