"""Release packages, shared by the tools that sign them, the collector that serves them and the
sensor that verifies them: format (:mod:`.manifest`, :mod:`.package`), Ed25519 keys and key
rotation (:mod:`.keys`), and the sensor-side check (:mod:`.verify`)."""

from aurora.wire.release.errors import (
    BadKey,
    BadSignature,
    DowngradeRefused,
    ForeignKey,
    HashMismatch,
    ReleaseError,
    TruncatedPackage,
    WrongPlatform,
)
from aurora.wire.release.manifest import Manifest, current_platform
from aurora.wire.release.package import build, read_manifest, sign
from aurora.wire.release.verify import Verified, verify_and_extract

__all__ = [
    "BadKey",
    "BadSignature",
    "DowngradeRefused",
    "ForeignKey",
    "HashMismatch",
    "Manifest",
    "ReleaseError",
    "TruncatedPackage",
    "Verified",
    "WrongPlatform",
    "build",
    "current_platform",
    "read_manifest",
    "sign",
    "verify_and_extract",
]
