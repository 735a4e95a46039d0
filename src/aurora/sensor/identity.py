"""The sensor's identity on disk: key, client certificate, pinned CA, sensor id and endpoints.

Everything lives in a 0700 state directory as 0600 files (seed: enrollment). A renewed certificate
comes with a new key, and the pair must never be half-replaced: both are written as ``.new`` files
first, and loading finishes an interrupted swap instead of failing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from aurora.atomicfile import write_atomic
from aurora.errors import AuroraError

KEY_FILE = "sensor.key"
CERT_FILE = "sensor.crt"
CA_FILE = "ca.crt"
IDENTITY_FILE = "identity.json"


class NotEnrolledError(AuroraError):
    """No usable identity in the state directory."""


@dataclass(frozen=True)
class Identity:
    sensor_id: str
    # Collector endpoints in order of preference; the transport fails over along them.
    endpoints: tuple[str, ...]
    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes
    ca_fingerprint: str
    enrolled_at: str = ""

    @property
    def endpoint(self) -> str:
        return self.endpoints[0]

    @property
    def cert_not_before(self) -> dt.datetime:
        return x509.load_pem_x509_certificate(self.cert_pem).not_valid_before_utc

    @property
    def cert_not_after(self) -> dt.datetime:
        return x509.load_pem_x509_certificate(self.cert_pem).not_valid_after_utc


def ensure_private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def save_identity(state_dir: Path, ident: Identity) -> None:
    ensure_private_dir(state_dir)
    write_atomic(state_dir / KEY_FILE, ident.key_pem)
    write_atomic(state_dir / CERT_FILE, ident.cert_pem)
    write_atomic(state_dir / CA_FILE, ident.ca_pem)
    meta = {
        "sensor_id": ident.sensor_id,
        "endpoints": list(ident.endpoints),
        # Kept so an older Aurora started on this state directory still finds its collector.
        "endpoint": ident.endpoint,
        "ca_fingerprint": ident.ca_fingerprint,
        "enrolled_at": ident.enrolled_at,
    }
    write_atomic(state_dir / IDENTITY_FILE, json.dumps(meta, indent=2).encode() + b"\n")


def save_renewed(state_dir: Path, key_pem: bytes, cert_pem: bytes) -> None:
    """Swap in a renewed key and certificate; an interrupted swap is completed by load. If the
    new pair cannot be written whole (a full disk), the current pair stays and OSError says why."""
    staged = [state_dir / (KEY_FILE + ".new"), state_dir / (CERT_FILE + ".new")]
    try:
        write_atomic(staged[0], key_pem)
        write_atomic(staged[1], cert_pem)
    except OSError:
        for path in staged:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    os.replace(state_dir / (KEY_FILE + ".new"), state_dir / KEY_FILE)
    os.replace(state_dir / (CERT_FILE + ".new"), state_dir / CERT_FILE)


def _matches(key_pem: bytes, cert_pem: bytes) -> bool:
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
        cert = x509.load_pem_x509_certificate(cert_pem)
    except (ValueError, TypeError):
        return False
    return bool(cert.public_key() == key.public_key())


def _finish_swap(state_dir: Path) -> None:
    for name in (KEY_FILE, CERT_FILE):
        new = state_dir / (name + ".new")
        if new.exists():
            os.replace(new, state_dir / name)


def load_identity(state_dir: Path) -> Identity:
    """The stored identity, or NotEnrolledError telling the operator to run `aurora enroll`."""
    hint = f"run `aurora enroll --state-dir {state_dir} ...` first"
    meta_path = state_dir / IDENTITY_FILE
    try:
        meta = json.loads(meta_path.read_text())
        key_pem = (state_dir / KEY_FILE).read_bytes()
        cert_pem = (state_dir / CERT_FILE).read_bytes()
        if not _matches(key_pem, cert_pem) and (state_dir / (CERT_FILE + ".new")).exists():
            _finish_swap(state_dir)
            key_pem = (state_dir / KEY_FILE).read_bytes()
            cert_pem = (state_dir / CERT_FILE).read_bytes()
        ca_pem = (state_dir / CA_FILE).read_bytes()
    except FileNotFoundError:
        raise NotEnrolledError(
            f"this sensor is not enrolled (nothing in {state_dir}): {hint}"
        ) from None
    except PermissionError:
        raise NotEnrolledError(
            f"cannot read the sensor identity in {state_dir}: permission denied"
        ) from None
    except (OSError, ValueError) as exc:
        raise NotEnrolledError(
            f"sensor identity in {state_dir} is unreadable ({exc}): {hint}"
        ) from None
    if not isinstance(meta, dict) or not meta.get("sensor_id"):
        raise NotEnrolledError(f"{meta_path} lacks sensor_id: {hint}")
    # Identities written before fail-over hold a single "endpoint".
    endpoints = meta.get("endpoints") or [meta.get("endpoint")]
    if not all(isinstance(e, str) and e for e in endpoints):
        raise NotEnrolledError(f"{meta_path} lacks a collector endpoint: {hint}")
    if not _matches(key_pem, cert_pem):
        raise NotEnrolledError(f"{state_dir / KEY_FILE} does not match {CERT_FILE}: {hint}")
    return Identity(
        sensor_id=str(meta["sensor_id"]),
        endpoints=tuple(endpoints),
        key_pem=key_pem,
        cert_pem=cert_pem,
        ca_pem=ca_pem,
        ca_fingerprint=str(meta.get("ca_fingerprint", "")),
        enrolled_at=str(meta.get("enrolled_at", "")),
    )
