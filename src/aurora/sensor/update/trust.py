"""The release key this sensor trusts: pinned at enrolment, replaced only through a rotation
message signed by the key it replaces (checked in :mod:`aurora.wire.release.verify`)."""

from __future__ import annotations

from pathlib import Path

from aurora.atomicfile import write_atomic
from aurora.wire.release import ReleaseError
from aurora.wire.release.keys import key_id, parse_public

PINNED_KEY = "release.pub"


class NoReleaseKey(ReleaseError):
    code = "no_release_key"


def pin(state_dir: Path, pem: bytes) -> str:
    """Pin ``pem`` (checked to be an Ed25519 public key); its key id."""
    key = parse_public(pem, "release public key")
    write_atomic(state_dir / PINNED_KEY, pem, mode=0o600)
    return key_id(key)


def pinned(state_dir: Path) -> bytes:
    try:
        return (state_dir / PINNED_KEY).read_bytes()
    except FileNotFoundError:
        raise NoReleaseKey(
            "no release key is pinned on this sensor (its collector had none at enrolment); "
            "set [collector] release_public_key and re-enrol"
        ) from None
