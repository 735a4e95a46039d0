"""Typed errors shared by every component.

Every error a user can cause derives from :class:`AuroraError`. The CLI catches it,
prints ``aurora: <message>`` on one line and exits with ``exit_code``; no traceback.
"""

from __future__ import annotations


class AuroraError(Exception):
    """An error the user can act on: one line of text and an exit code."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(AuroraError):
    """A configuration key is missing, malformed or out of range."""

    exit_code = 2

    def __init__(self, key: str, reason: str, source: str | None = None) -> None:
        where = f" (in {source})" if source else ""
        super().__init__(f"config error: {key}: {reason}{where}")
        self.key = key
        self.reason = reason
        self.source = source


class UsageError(AuroraError):
    """The command line itself is wrong (bad argument value, missing file...)."""

    exit_code = 2


class NotYetAvailable(AuroraError):
    """A subcommand whose issue has not landed yet."""

    exit_code = 2
