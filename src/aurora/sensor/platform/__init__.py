"""The platform seam: the event source and response implementations of the running OS.

``linux.py`` and ``windows.py`` expose the same function names (listed, with their signatures, by
:class:`.contract.Platform`); :func:`current` picks one by ``sys.platform``, as GRR's
``client_utils`` picks ``client_utils_linux`` or ``client_utils_windows``. Any OS other than Linux
gets the Windows module, whose answers are typed "unsupported" errors.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aurora.sensor.platform.contract import Platform


def module_name(platform_name: str) -> str:
    """``linux`` or ``windows``: the platform module serving a ``sys.platform`` value."""
    return "linux" if platform_name.startswith("linux") else "windows"


def current() -> Platform:
    """The platform module for this process's OS (read from ``sys.platform`` at each call)."""
    # Imported here, not at the top: each module imports the response code that imports this
    # package, and only the running OS's module needs loading.
    if module_name(sys.platform) == "linux":
        from aurora.sensor.platform import linux

        return linux
    from aurora.sensor.platform import windows

    return windows
