"""Enrolment over real gRPC/TLS on loopback: the happy path and every refusal."""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, str(Path(__file__).parent))

from client import (
    Identity,
    PinMismatch,
    Stream,
    enroll,
    fetch_ca_pinned,
    new_key_and_csr,
)

from aurora.collector.pki import CertificateAuthority, PKIError, fingerprint
from aurora.collector.server import Collector
from aurora.collector.store import TokenRecord
from aurora.collector.tokens import create_token, hash_token
from aurora.v1 import enrollment_pb2, enrollment_pb2_grpc
from conftest import addr


def test_happy_path_issues_a_short_lived_cert_for_a_collector_chosen_id(
    collector: Collector, enrolled: Callable[..., Identity]
) -> None:
    ident = enrolled("web-01")
    cert = x509.load_pem_x509_certificate(ident.cert_pem)
    cn = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
    assert cn == ident.sensor_id and len(ident.sensor_id) == 36
    assert collector.ca is not None and collector.ca.verify_issued(cert)
    life = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=23) < life <= dt.timedelta(hours=24)
    assert (
        hashlib.sha256(
            x509.load_pem_x509_certificate(ident.ca_pem).public_bytes(serialization.Encoding.DER)
        ).hexdigest()
        == collector.ca_fingerprint
    )
    assert collector.store is not None
    host = collector.store.get_host(ident.sensor_id)
    assert host is not None and host.hostname == "web-01" and not host.revoked
    s = Stream(addr(collector), ident)
    try:
        assert s.hello().acked_through_seq == 0
    finally:
        s.close()


def test_state_dir_and_key_permissions(collector: Collector) -> None:
    pki = collector.state_dir / "pki"
    assert collector.state_dir.stat().st_mode & 0o777 == 0o700
    assert pki.stat().st_mode & 0o777 == 0o700
    for key in ("ca.key", "server.key"):
        assert (pki / key).stat().st_mode & 0o777 == 0o600


def test_server_cert_names(collector: Collector) -> None:
    assert collector.ca is not None
    cert = x509.load_pem_x509_certificate((collector.state_dir / "pki" / "server.crt").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = set(san.get_values_for_type(x509.DNSName)) | {
        str(i) for i in san.get_values_for_type(x509.IPAddress)
    }
    assert {"localhost", "127.0.0.1", "::1"} <= names


def _enroll_error(collector: Collector, token: str, csr: bytes | None = None) -> grpc.RpcError:
    assert collector.ca is not None
    with (
        grpc.secure_channel(
            addr(collector), grpc.ssl_channel_credentials(collector.ca.cert_pem)
        ) as ch,
        pytest.raises(grpc.RpcError) as info,
    ):
        enrollment_pb2_grpc.EnrollmentStub(ch).Enroll(
            enrollment_pb2.EnrollRequest(
                token=token, csr_pem=csr if csr is not None else new_key_and_csr()[1]
            ),
            timeout=10,
        )
    return info.value


def test_expired_token_is_refused(collector: Collector) -> None:
    assert collector.store is not None
    collector.store.add_token(TokenRecord(hash_token("aet_old"), 0, 1000, 5))
    err = _enroll_error(collector, "aet_old")
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in (err.details() or "")


def test_single_use_token_cannot_be_reused(collector: Collector) -> None:
    assert collector.store is not None and collector.ca is not None
    tok = create_token(collector.store, 3600, 1)
    enroll(addr(collector), tok.token, collector.ca.cert_pem)
    err = _enroll_error(collector, tok.token)
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "already used 1 of 1" in (err.details() or "")


def test_unknown_token_is_refused(collector: Collector) -> None:
    err = _enroll_error(collector, "aet_made_up")
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


def test_bad_csr_is_refused_without_burning_the_token(collector: Collector) -> None:
    assert collector.store is not None
    tok = create_token(collector.store, 3600, 1)
    err = _enroll_error(collector, tok.token, csr=b"-----BEGIN nonsense")
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert collector.store.list_tokens()[0].uses == 0


def test_ca_pinning_by_fingerprint(collector: Collector) -> None:
    """What a sensor does before enrolling: fetch the chain untrusted, compare the pin."""
    pem = fetch_ca_pinned("127.0.0.1", collector.port, collector.ca_fingerprint)
    assert fingerprint(x509.load_pem_x509_certificate(pem)) == collector.ca_fingerprint
    with pytest.raises(PinMismatch):
        fetch_ca_pinned("127.0.0.1", collector.port, "0" * 64)


def test_enrolment_with_a_different_ca_trusted_fails_tls(
    collector: Collector, tmp_path: Path
) -> None:
    other = CertificateAuthority.load_or_create(tmp_path / "other" / "pki")
    creds = grpc.ssl_channel_credentials(other.cert_pem)
    with grpc.secure_channel(addr(collector), creds) as ch, pytest.raises(grpc.RpcError) as info:
        enrollment_pb2_grpc.EnrollmentStub(ch).Enroll(
            enrollment_pb2.EnrollRequest(token="x", csr_pem=new_key_and_csr()[1]), timeout=5
        )
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_client_cert_from_another_ca_is_refused(
    collector: Collector, enrolled: Callable[..., Identity], tmp_path: Path
) -> None:
    ident = enrolled()
    other = CertificateAuthority.load_or_create(tmp_path / "other" / "pki")
    key_pem, csr = new_key_and_csr()
    # Same sensor id, same key type: only the issuer differs.
    forged = other.issue_sensor_cert(csr, ident.sensor_id, dt.timedelta(hours=1))
    s = Stream(addr(collector), Identity(ident.sensor_id, key_pem, forged.pem, ident.ca_pem))
    try:
        with pytest.raises(grpc.RpcError) as info:
            s.hello()
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        s.close()


def test_stream_without_client_cert_is_unauthenticated(collector: Collector) -> None:
    assert collector.ca is not None
    ident = Identity("nobody", b"", b"", collector.ca.cert_pem)
    from aurora.v1 import stream_pb2, stream_pb2_grpc

    with grpc.secure_channel(
        addr(collector), grpc.ssl_channel_credentials(collector.ca.cert_pem)
    ) as ch:
        call = stream_pb2_grpc.SensorStreamStub(ch).Connect(
            iter([stream_pb2.SensorMessage(hello=stream_pb2.Hello(sensor_id=ident.sensor_id))])
        )
        with pytest.raises(grpc.RpcError) as info:
            list(call)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_revoked_sensor_is_refused_at_connection(
    collector: Collector, enrolled: Callable[..., Identity]
) -> None:
    ident = enrolled()
    assert collector.store is not None
    collector.store.revoke_host(ident.sensor_id, 1)
    s = Stream(addr(collector), ident)
    try:
        with pytest.raises(grpc.RpcError) as info:
            s.hello()
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "revoked" in (info.value.details() or "")
    finally:
        s.close()


def test_hello_for_another_sensor_is_refused(
    collector: Collector, enrolled: Callable[..., Identity]
) -> None:
    a, b = enrolled("a"), enrolled("b")
    s = Stream(addr(collector), a)
    try:
        with pytest.raises(grpc.RpcError) as info:
            s.hello(sensor_id=b.sensor_id)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        s.close()


def test_ca_survives_restart_and_half_ca_is_an_error(tmp_path: Path) -> None:
    ca = CertificateAuthority.load_or_create(tmp_path / "pki")
    again = CertificateAuthority.load_or_create(tmp_path / "pki")
    assert again.fingerprint == ca.fingerprint
    (tmp_path / "pki" / "ca.crt").unlink()
    with pytest.raises(PKIError, match="incomplete"):
        CertificateAuthority.load_or_create(tmp_path / "pki")


def test_csr_with_weak_or_wrong_key_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    ca = CertificateAuthority.load_or_create(tmp_path / "pki")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    with pytest.raises(PKIError, match="EC key"):
        ca.issue_sensor_cert(csr, "s", dt.timedelta(hours=1))


def test_bypassing_the_tls_front_gets_no_identity(collector: Collector) -> None:
    """The gRPC backend listens on loopback without TLS; a direct caller has no verified peer."""
    from aurora.v1 import stream_pb2, stream_pb2_grpc

    assert collector.front is not None
    with grpc.insecure_channel(f"127.0.0.1:{collector.front.backend_port}") as ch:
        call = stream_pb2_grpc.SensorStreamStub(ch).Connect(
            iter([stream_pb2.SensorMessage(hello=stream_pb2.Hello(sensor_id="forged"))])
        )
        with pytest.raises(grpc.RpcError) as info:
            list(call)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_port_in_use_is_a_config_error(collector: Collector, tmp_path: Path) -> None:
    from aurora.errors import ConfigError
    from conftest import make_config

    other = Collector(make_config(tmp_path / "other", listen=f"127.0.0.1:{collector.port}"))
    with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1"):
        other.start()
