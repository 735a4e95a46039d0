"""Triage sources: what one artifact reads from the host, by the name artifacts give it.

``base`` holds what every source shares; ``system`` (processes, sockets, logins, kernel modules)
and ``files`` (listed files, set-id files, recent drops) hold the sources themselves.
"""

from __future__ import annotations

from aurora.sensor.response.sources import files, system
from aurora.sensor.response.sources.base import Context, Source, SourceResult

__all__ = ["Context", "Source", "SourceResult", "registry"]


def registry() -> dict[str, Source]:
    """Source name (as artifacts spell it) to collector function."""
    return {
        "processes": system.processes,
        "sockets": system.sockets,
        "users": system.users,
        "kernel_modules": system.kernel_modules,
        "files": files.files,
        "special_files": files.special_files,
        "recent_files": files.recent_files,
    }
