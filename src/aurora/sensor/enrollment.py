"""Enrolment client: pin the collector's CA, send a CSR for a key made here, store the identity.

The private key never leaves the host. Before anything is sent, the TLS handshake's certificate
chain must contain a CA whose SHA-256 (DER) equals the fingerprint the operator gave; only that CA
is then trusted for the gRPC call, so a man in the middle sees neither token nor CSR.
"""

from __future__ import annotations

import _ssl
import datetime as dt
import hashlib
import logging
import socket
import ssl
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aurora.errors import AuroraError, UsageError
from aurora.sensor.hostinfo import host_info
from aurora.sensor.identity import Identity, ensure_private_dir, save_identity
from aurora.sensor.update import trust
from aurora.v1 import common_pb2, enrollment_pb2, enrollment_pb2_grpc
from aurora.wire.release import ReleaseError

log = logging.getLogger(__name__)


class EnrollmentError(AuroraError):
    """The collector could not be reached, refused the enrolment, or answered nonsense."""


class CAFingerprintMismatch(EnrollmentError):
    """The collector presented a CA other than the pinned one."""


def parse_endpoint(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` into (host, port); a UsageError otherwise."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"collector address must be HOST:PORT, got {text!r}")
    return host, int(port)


def normalise_fingerprint(text: str) -> str:
    """Accept ``ab:cd:..`` or plain hex in any case; a UsageError unless it is 32 bytes."""
    fp = text.replace(":", "").strip().lower()
    if len(fp) != 64 or any(c not in "0123456789abcdef" for c in fp):
        raise UsageError("--ca-fingerprint must be the CA's SHA-256 as 64 hex digits")
    return fp


def _peer_chain_der(tls: ssl.SSLSocket) -> list[bytes]:
    """Every certificate the server presented, leaf first, as DER."""
    # Python 3.11 has no public accessor for the unverified peer chain (3.13 adds one); the
    # private one below is what that public API wraps.
    sslobj: Any = getattr(tls, "_sslobj", None)
    if sslobj is None or not hasattr(sslobj, "get_unverified_chain"):
        leaf = tls.getpeercert(binary_form=True)
        return [leaf] if leaf else []
    return [c.public_bytes(_ssl.ENCODING_DER) for c in sslobj.get_unverified_chain() or []]


def fetch_pinned_ca(host: str, port: int, fingerprint: str, timeout: float = 10.0) -> bytes:
    """Handshake without trusting anything yet, pick the pinned CA out of the presented chain
    and check that it really issued the server certificate. Returns the CA as PEM."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # verification is the fingerprint check below
    ctx.set_alpn_protocols(["h2"])
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            chain_der = _peer_chain_der(tls)
    except (OSError, ssl.SSLError) as exc:
        raise EnrollmentError(f"cannot reach collector at {host}:{port}: {exc}") from None
    if not chain_der:
        raise EnrollmentError(f"collector at {host}:{port} presented no certificate")
    certs = [x509.load_der_x509_certificate(d) for d in chain_der]
    presented = [hashlib.sha256(d).hexdigest() for d in chain_der]
    if fingerprint not in presented:
        raise CAFingerprintMismatch(
            f"collector at {host}:{port} presents CA fingerprint {presented[-1]}, expected "
            f"{fingerprint}: refusing to enrol (check --ca-fingerprint)"
        )
    ca = certs[presented.index(fingerprint)]
    try:
        certs[0].verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise CAFingerprintMismatch(
            f"collector at {host}:{port} presents the pinned CA but its server certificate "
            "was not issued by it: refusing to enrol"
        ) from None
    return ca.public_bytes(serialization.Encoding.PEM)


def new_key_and_csr(common_name: str) -> tuple[bytes, bytes]:
    """A fresh EC P-256 key (PEM, PKCS#8) and a CSR for it (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM)


def check_issued(cert_pem: bytes, key_pem: bytes, ca_pem: bytes) -> x509.Certificate:
    """The certificate must be for our key and signed by the pinned CA."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        ca = x509.load_pem_x509_certificate(ca_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise EnrollmentError(f"collector returned an unusable certificate: {exc}") from None
    if cert.public_key() != key.public_key():
        raise EnrollmentError("collector returned a certificate for a different key")
    return cert


def _grpc_failure(exc: grpc.RpcError, where: str) -> EnrollmentError:
    code = exc.code() if isinstance(exc, grpc.Call) else None
    details = (exc.details() if isinstance(exc, grpc.Call) else None) or str(exc)
    details = " ".join(details.split())
    if code == grpc.StatusCode.UNAVAILABLE:
        return EnrollmentError(f"cannot reach collector at {where}: {details}")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return EnrollmentError(f"collector at {where} did not answer in time")
    name = code.name if code is not None else "error"
    return EnrollmentError(f"collector at {where} refused the enrolment ({name}): {details}")


def enroll(
    collector: str,
    token: str,
    ca_fingerprint: str,
    state_dir: Path,
    *,
    host: common_pb2.HostInfo | None = None,
    timeout: float = 15.0,
) -> Identity:
    """Enrol with ``collector`` and store the identity under ``state_dir``."""
    hostname, port = parse_endpoint(collector)
    fingerprint = normalise_fingerprint(ca_fingerprint)
    if not token.strip():
        raise UsageError("--token must not be empty")
    try:
        # Before the token is spent: an unwritable state directory must not cost a token use.
        ensure_private_dir(state_dir)
    except OSError as exc:
        raise UsageError(f"cannot use state directory {state_dir}: {exc.strerror or exc}") from None
    ca_pem = fetch_pinned_ca(hostname, port, fingerprint, timeout)
    info = host or host_info()
    key_pem, csr_pem = new_key_and_csr(info.hostname or "aurora-sensor")
    target = f"[{hostname}]:{port}" if ":" in hostname else f"{hostname}:{port}"
    creds = grpc.ssl_channel_credentials(root_certificates=ca_pem)
    with grpc.secure_channel(target, creds) as channel:
        stub = enrollment_pb2_grpc.EnrollmentStub(channel)
        try:
            resp = stub.Enroll(
                enrollment_pb2.EnrollRequest(token=token.strip(), csr_pem=csr_pem, host=info),
                timeout=timeout,
            )
        except grpc.RpcError as exc:
            raise _grpc_failure(exc, target) from None
    if not resp.sensor_id:
        raise EnrollmentError("collector returned no sensor id")
    cert = check_issued(resp.client_cert_pem, key_pem, ca_pem)
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not cn or cn[0].value != resp.sensor_id:
        raise EnrollmentError("collector returned a certificate for another sensor id")
    identity = Identity(
        sensor_id=resp.sensor_id,
        endpoints=tuple(resp.collector_endpoints) or (resp.collector_endpoint or target,),
        key_pem=key_pem,
        cert_pem=resp.client_cert_pem,
        ca_pem=ca_pem,
        ca_fingerprint=fingerprint,
        enrolled_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    try:
        save_identity(state_dir, identity)
    except OSError as exc:
        raise EnrollmentError(
            f"enrolled as {identity.sensor_id} but cannot store the identity in {state_dir}: "
            f"{exc.strerror or exc}"
        ) from None
    if resp.release_public_key:
        try:
            key_id = trust.pin(state_dir, resp.release_public_key)
        except (ReleaseError, OSError) as exc:
            raise EnrollmentError(
                f"enrolled as {identity.sensor_id} but cannot pin the release key: {exc}"
            ) from None
        log.info("pinned release key %s: only packages it signs will install", key_id)
    log.info(
        "enrolled as sensor %s with collector %s",
        identity.sensor_id,
        ", ".join(identity.endpoints),
    )
    return identity
