"""Host isolation on Windows: the place for a WFP backend, which this build does not implement.

The seed isolates Windows hosts with Windows Filtering Platform filters. WFP needs the Base
Filtering Engine and a Windows host to test on, neither of which exists here, so this backend
keeps the interface (it imports cleanly on Linux) and every call raises a typed error naming the
gap, instead of pretending to isolate.
"""

from __future__ import annotations

from aurora.sensor.response.errors import UnsupportedPlatform
from aurora.sensor.response.isolation import IsolationPlan

_WHY = "host isolation on Windows (WFP) is not implemented in this sensor build"


class WfpIsolation:
    """Placeholder for the WFP backend of :class:`~aurora.sensor.response.isolation.Isolation`."""

    def apply(self, plan: IsolationPlan) -> None:
        raise UnsupportedPlatform(_WHY)

    def remove(self) -> None:
        # Nothing can have been applied, so unisolating is the promised no-op.
        return None

    def is_applied(self) -> bool:
        # Never isolated, so heartbeats report "not_isolated" rather than failing.
        return False
