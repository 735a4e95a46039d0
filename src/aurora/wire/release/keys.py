"""Ed25519 release keys: generate, save, load, name, and the signed message that rotates them.

The private key signs packages offline (``aurora release``); the public key is pinned on every
sensor at enrolment. A rotation message names the next public key and is signed by the current
one, so only whoever holds the pinned key can move a fleet to another.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aurora.atomicfile import write_atomic
from aurora.wire.release.errors import BadKey, BadSignature, ForeignKey

ROTATION_KIND = "aurora-release-key-rotation"


def generate(private_path: Path) -> Path:
    """Write a new private key (0600) and its public key beside it (``.pub``); the latter's path."""
    if private_path.exists():
        raise BadKey(f"{private_path} exists; refusing to overwrite a release key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomic(private_path, pem, mode=0o600)
    public_path = private_path.with_name(private_path.name + ".pub")
    write_atomic(public_path, public_pem(key.public_key()), mode=0o644)
    return public_path


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise BadKey(f"cannot read the release key {path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise BadKey(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadKey(f"{path} is not an Ed25519 key")
    return key


def parse_public(pem: bytes, what: str = "public key") -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise BadKey(f"the {what} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BadKey(f"the {what} is not an Ed25519 key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    """A short name for a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def verify(key: Ed25519PublicKey, signature: bytes, data: bytes, what: str) -> None:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        raise BadSignature(f"the signature of the {what} does not verify") from None


def make_rotation(old: Ed25519PrivateKey, new_public: Ed25519PublicKey) -> bytes:
    """A rotation message (JSON with its signature) moving trust from ``old`` to ``new_public``."""
    body = orjson.dumps(
        {
            "kind": ROTATION_KIND,
            "old_key_id": key_id(old.public_key()),
            "new_key_id": key_id(new_public),
            "new_public_key": public_pem(new_public).decode(),
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return orjson.dumps({"body": body.decode(), "signature": old.sign(body).hex()})


def follow_rotation(pinned: Ed25519PublicKey, message: bytes) -> Ed25519PublicKey:
    """The new key a rotation message names, after checking the pinned key signed it."""
    try:
        outer = orjson.loads(message)
        body = str(outer["body"]).encode()
        signature = bytes.fromhex(str(outer["signature"]))
        inner = orjson.loads(body)
        if inner.get("kind") != ROTATION_KIND:
            raise ValueError("not a rotation message")
        new_pem = str(inner["new_public_key"]).encode()
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise BadKey(f"the key rotation message is malformed ({exc})") from None
    if inner.get("old_key_id") != key_id(pinned):
        raise ForeignKey("the key rotation message is not from the pinned release key")
    verify(pinned, signature, body, "key rotation message")
    return parse_public(new_pem, "rotated public key")
