"""The collector's own certificate authority: creates it once, issues server and sensor certs.

Sensors pin the CA by the SHA-256 of its certificate (DER, lowercase hex), so the CA is created once
and never silently replaced. Sensor certificates carry the sensor id as subject CN and are
short-lived (``cert_lifetime_hours``); sensors renew them over their authenticated stream.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from aurora.atomicfile import write_atomic
from aurora.errors import AuroraError

CA_LIFETIME = dt.timedelta(days=3650)
SERVER_LIFETIME = dt.timedelta(days=365)
# Certificates are valid from slightly in the past so a sensor whose clock lags still accepts them.
CLOCK_SKEW = dt.timedelta(minutes=5)


class PKIError(AuroraError):
    """CA material is missing, unreadable or inconsistent, or a CSR is unacceptable."""


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lowercase hex: what sensors pin."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and force mode 0700 on it."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise PKIError(f"cannot use {path} as a state directory: {exc.strerror}") from None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class IssuedCert:
    pem: bytes
    not_after: dt.datetime

    @property
    def not_after_ms(self) -> int:
        return int(self.not_after.timestamp() * 1000)


class CertificateAuthority:
    """The CA in ``<state>/pki``: ca.key/ca.crt plus the server's own server.key/server.crt."""

    def __init__(self, pki_dir: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate):
        self.pki_dir = pki_dir
        self.key = key
        self.cert = cert
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        self.fingerprint = fingerprint(cert)

    # --- creation and loading ------------------------------------------------------------------

    @classmethod
    def load_or_create(cls, pki_dir: Path) -> CertificateAuthority:
        """Load the CA, creating it on first use. A half-present CA (key without cert) is an error
        rather than being regenerated, because sensors pin the old one."""
        ensure_private_dir(pki_dir.parent)
        ensure_private_dir(pki_dir)
        key_path, cert_path = pki_dir / "ca.key", pki_dir / "ca.crt"
        if key_path.exists() != cert_path.exists():
            missing = cert_path if key_path.exists() else key_path
            raise PKIError(f"CA is incomplete: {missing} is missing; restore it from a backup")
        if not key_path.exists():
            return cls._create(pki_dir)
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise PKIError(f"cannot read the CA in {pki_dir}: {exc}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PKIError(f"{key_path} is not an EC private key")
        if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
            raise PKIError(f"{key_path} does not match {cert_path}")
        return cls(pki_dir, key, cert)

    @classmethod
    def _create(cls, pki_dir: Path) -> CertificateAuthority:
        key = _new_key()
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Aurora EDR"),
                x509.NameAttribute(
                    NameOID.COMMON_NAME, f"Aurora collector CA {socket.gethostname()}"
                ),
            ]
        )
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        # Key first: a crash between the two writes leaves "key without cert", which
        # load_or_create reports instead of silently minting a second CA.
        write_atomic(pki_dir / "ca.key", _key_pem(key))
        write_atomic(pki_dir / "ca.crt", cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
        return cls(pki_dir, key, cert)

    # --- issuing -------------------------------------------------------------------------------

    def _leaf(
        self,
        subject_cn: str,
        public_key: ec.EllipticCurvePublicKey,
        lifetime: dt.timedelta,
        usage: x509.ObjectIdentifier,
        sans: list[x509.GeneralName] | None = None,
    ) -> IssuedCert:
        now = _now()
        not_after = min(now + lifetime, self.cert.not_valid_after_utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return IssuedCert(cert.public_bytes(serialization.Encoding.PEM), not_after)

    def issue_sensor_cert(
        self, csr_pem: bytes, sensor_id: str, lifetime: dt.timedelta
    ) -> IssuedCert:
        """Sign a sensor's CSR. The CSR's own subject is ignored: the collector chooses the CN."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError:
            raise PKIError("CSR is not a PEM PKCS#10 request") from None
        if not csr.is_signature_valid:
            raise PKIError("CSR signature does not verify")
        pub = csr.public_key()
        if not isinstance(pub, ec.EllipticCurvePublicKey) or pub.curve.key_size < 256:
            raise PKIError("CSR key must be an EC key of at least 256 bits")
        san: list[x509.GeneralName] = [x509.DNSName(sensor_id)]
        return self._leaf(sensor_id, pub, lifetime, ExtendedKeyUsageOID.CLIENT_AUTH, san)

    def ensure_server_cert(self, names: Iterable[str] = ()) -> tuple[bytes, bytes]:
        """(key PEM, cert PEM) for the gRPC port; reissued when missing, expiring or lacking a
        requested name."""
        wanted = {"localhost", "127.0.0.1", "::1", socket.gethostname(), *names}
        wanted.discard("")
        key_path, cert_path = self.pki_dir / "server.key", self.pki_dir / "server.crt"
        if key_path.exists() and cert_path.exists():
            try:
                cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
                have = _san_strings(cert)
                fresh = cert.not_valid_after_utc - _now() > dt.timedelta(days=7)
                if wanted <= have and fresh and self.verify_issued(cert):
                    return key_path.read_bytes(), cert_path.read_bytes()
            except ValueError:
                pass
        key = _new_key()
        sans: list[x509.GeneralName] = []
        for n in sorted(wanted):
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        issued = self._leaf(
            "aurora-collector",
            key.public_key(),
            SERVER_LIFETIME,
            ExtendedKeyUsageOID.SERVER_AUTH,
            sans,
        )
        write_atomic(key_path, _key_pem(key))
        # The CA goes in the served chain: a sensor about to enrol has no trust anchor yet and
        # picks the CA out of the presented chain by its pinned fingerprint.
        chain = issued.pem + self.cert_pem
        write_atomic(cert_path, chain, mode=0o644)
        return key_path.read_bytes(), chain

    def verify_issued(self, cert: x509.Certificate) -> bool:
        """True when ``cert`` was signed by this CA (used to re-check peer certificates)."""
        if cert.issuer != self.cert.subject:
            return False
        try:
            cert.verify_directly_issued_by(self.cert)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True


def _san_strings(cert: x509.Certificate) -> set[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    out: set[str] = set(ext.get_values_for_type(x509.DNSName))
    out.update(str(ip) for ip in ext.get_values_for_type(x509.IPAddress))
    return out
