"""The contract between a platform sensor (eBPF, ETW) and whatever consumes its events.

A source produces OCSF 1.8.0 event dicts, already enriched, and reports what it could load and how
many events the kernel lost. The transport (gRPC or ``--stdout``) codes against this protocol only,
so it never needs to know which platform it runs on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aurora.errors import AuroraError


class NoEventSource(AuroraError):
    """This build has no event source for the running operating system."""


@dataclass(frozen=True)
class Capability:
    """One thing the sensor tried to load (an event family, a probe) and whether it worked.

    ``reason`` is empty when ``loaded`` is true, else a one-line explanation an operator can act on.
    """

    name: str
    loaded: bool
    reason: str = ""


@runtime_checkable
class EventSource(Protocol):
    """A running producer of normalised events."""

    def start(self) -> None:
        """Load and attach everything; raise an AuroraError if nothing at all can run."""

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        """Wait up to ``timeout_ms`` for events and return those ready (possibly none)."""
        ...

    def capabilities(self) -> list[Capability]:
        """Every family or probe the source tried, loaded or not, with the reason."""
        ...

    def drop_counts(self) -> dict[str, int]:
        """Cumulative events lost in the kernel, per family name."""
        ...

    def stop(self) -> None:
        """Detach and release everything; safe to call twice."""
