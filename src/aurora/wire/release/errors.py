"""Typed refusals of a release package: each names what is wrong with it in one line.

``code`` is the short name the sensor reports in its CommandResult (and the console shows), so an
operator can tell a forged package from a damaged download without reading logs.
"""

from __future__ import annotations

from aurora.errors import AuroraError


class ReleaseError(AuroraError):
    """A package, key or rotation message that cannot be used."""

    code = "bad_package"


class BadSignature(ReleaseError):
    code = "bad_signature"


class ForeignKey(ReleaseError):
    """Signed, but not by the key this host pinned (nor one it rotated to)."""

    code = "foreign_key"


class TruncatedPackage(ReleaseError):
    code = "truncated_package"


class HashMismatch(ReleaseError):
    """A file's bytes differ from the SHA-256 the signed manifest gives for it."""

    code = "hash_mismatch"


class DowngradeRefused(ReleaseError):
    code = "downgrade_refused"


class WrongPlatform(ReleaseError):
    code = "wrong_platform"


class BadKey(ReleaseError):
    code = "bad_key"
