"""Typed errors of response actions, each carrying the ``error_code`` the analyst sees.

The seed's single ``IsolationError`` ("nft returned non-zero") told the analyst nothing; here every
failure names its cause, so the console can say "nft is not installed" instead of "command failed".
"""

from __future__ import annotations

from aurora.errors import AuroraError


class ResponseError(AuroraError):
    """A response action failed for a reason the analyst can act on."""

    code = "response_failed"


class BadParams(ResponseError):
    """The action's parameters are missing or of the wrong type."""

    code = "bad_params"


class UnknownAction(ResponseError):
    """The collector asked for an action this sensor does not know."""

    code = "unknown_action"


class UnsupportedPlatform(ResponseError):
    """The action has no implementation on this operating system."""

    code = "unsupported_platform"


class IsolationError(ResponseError):
    """Base of every host-isolation failure."""

    code = "isolation_failed"


class NftMissing(IsolationError):
    """The nft binary cannot be found or executed (the most common cause, per the seed)."""

    code = "nft_missing"


class PermissionDenied(ResponseError):
    """The kernel refused the operation: the sensor lacks root or CAP_NET_ADMIN / CAP_KILL."""

    code = "permission_denied"


class RulesetRejected(IsolationError):
    """nft ran but rejected the isolation ruleset (kernel without nf_tables, bad address...)."""

    code = "ruleset_rejected"


class NoCollector(IsolationError):
    """Isolation without a known collector address would cut the sensor off for good."""

    code = "no_collector"


class CollectorUnreachable(IsolationError):
    """After isolating, the collector could not be reached, so isolation was rolled back."""

    code = "collector_unreachable"


class NoSuchProcess(ResponseError):
    """No process has the requested pid."""

    code = "no_such_process"


class PidRecycled(ResponseError):
    """The pid now belongs to a different process than the one the event described."""

    code = "pid_recycled"


class ProtectedProcess(ResponseError):
    """pid 1, a kernel thread or the sensor itself: never killed."""

    code = "protected_process"


class RefusedPath(ResponseError):
    """A path quarantine must never touch (/proc, /sys, devices, the sensor, the vault)."""

    code = "refused_path"


class NotFound(ResponseError):
    """The file or the quarantine entry does not exist."""

    code = "not_found"


class PathExists(ResponseError):
    """Restoring would overwrite a file that now exists at the original path."""

    code = "path_exists"


class VaultCorrupt(ResponseError):
    """A quarantined file no longer matches the SHA-256 recorded when it was quarantined."""

    code = "vault_corrupt"


class ArtifactError(ResponseError):
    """A triage artifact definition is invalid, or names an unknown artifact."""

    code = "bad_artifact"
