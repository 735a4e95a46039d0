"""Check a downloaded package against the pinned key and unpack its payload, or refuse it typed.

Order matters: the signature is checked before any payload byte is trusted, every payload file is
hashed while it is written out (so what is checked is what is installed), and the version rule
(no downgrade without a signed rollback manifest) comes last, once the manifest is known genuine.
"""

from __future__ import annotations

import hashlib
import tarfile
from dataclasses import dataclass
from pathlib import Path

from aurora.wire.release import keys
from aurora.wire.release.errors import (
    BadSignature,
    DowngradeRefused,
    ForeignKey,
    HashMismatch,
    ReleaseError,
    TruncatedPackage,
    WrongPlatform,
)
from aurora.wire.release.manifest import (
    MANIFEST,
    PAYLOAD,
    ROTATION,
    SIGNATURE,
    Manifest,
    decode,
    parse_version,
    safe_payload_name,
)
from aurora.wire.release.package import member_bytes, open_package

_COPY = 256 * 1024


@dataclass(frozen=True)
class Verified:
    manifest: Manifest
    # The PEM to pin from now on when the package carried a valid key rotation.
    rotated_key_pem: bytes | None


def check_signed(tar: tarfile.TarFile, pinned_pem: bytes) -> Verified:
    """The package's manifest, once its signature verifies with the pinned (or rotated) key."""
    pinned = keys.parse_public(pinned_pem, "pinned release key")
    names = tar.getnames()
    signer, rotated = pinned, None
    if ROTATION in names:
        signer = keys.follow_rotation(pinned, member_bytes(tar, ROTATION))
        rotated = keys.public_pem(signer)
    if SIGNATURE not in names:
        raise BadSignature("the package is not signed (no manifest.sig)")
    body = member_bytes(tar, MANIFEST)
    manifest = decode(body)
    if manifest.key_id != keys.key_id(signer):
        raise ForeignKey(
            f"the package is signed by key {manifest.key_id or '?'}, "
            f"this host trusts {keys.key_id(signer)}"
        )
    keys.verify(signer, member_bytes(tar, SIGNATURE), body, "package manifest")
    return Verified(manifest, rotated)


def check_version(manifest: Manifest, running: str, platform: str) -> None:
    if manifest.platform != platform:
        raise WrongPlatform(f"the package is for {manifest.platform}, this host is {platform}")
    new, now = parse_version(manifest.version), parse_version(running, "the running version")
    if new == now:
        raise DowngradeRefused(f"version {running} is already running")
    if new < now and not manifest.rollback:
        raise DowngradeRefused(
            f"{manifest.version} is older than the running {running} and the package is not a "
            "signed rollback"
        )


def verify_and_extract(
    path: Path, dest: Path, *, pinned_pem: bytes, running: str, platform: str
) -> Verified:
    """Verify the package at ``path``; write its payload under ``dest`` (which must not exist)."""
    with open_package(path) as tar:
        try:
            verified = check_signed(tar, pinned_pem)
            check_version(verified.manifest, running, platform)
            dest.mkdir(mode=0o700)
            _extract(tar, verified.manifest, dest)
        except (tarfile.TarError, EOFError) as exc:
            raise TruncatedPackage(f"the package is cut short ({exc})") from None
    return verified


def _extract(tar: tarfile.TarFile, manifest: Manifest, dest: Path) -> None:
    seen: set[str] = set()
    for member in tar:
        if member.name in (MANIFEST, SIGNATURE, ROTATION):
            continue
        name = member.name
        if not member.isfile() or not safe_payload_name(name):
            raise ReleaseError(f"the package holds an unexpected entry {name!r}")
        entry = manifest.files.get(name)
        if entry is None:
            raise HashMismatch(f"{name} is in the package but not in its signed manifest")
        target = dest / name.removeprefix(PAYLOAD)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        source = tar.extractfile(member)
        assert source is not None
        digest, size = hashlib.sha256(), 0
        with target.open("wb") as out:
            while block := source.read(_COPY):
                digest.update(block)
                size += len(block)
                out.write(block)
        if size != member.size:
            raise TruncatedPackage(f"the package is cut short inside {name}")
        if size != entry.size or digest.hexdigest() != entry.sha256:
            raise HashMismatch(f"{name} does not match the SHA-256 in the signed manifest")
        seen.add(name)
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise TruncatedPackage(f"the package lacks {missing[0]}, listed in its manifest")
