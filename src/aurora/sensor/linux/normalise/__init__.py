"""Ring-buffer records -> enriched OCSF 1.8.0 events, one handler module per event family.

Importing the package registers every family (process, process_access, files, network, dns,
kernel_extensions, and the escape family's namespaces and evasion) with :mod:`.registry`;
:class:`Normaliser` dispatches each record by its kind.
Fields OCSF has no attribute for go in ``unmapped`` (listed in docs/sensor-linux.md).
"""

from aurora.sensor.linux.normalise import (  # noqa: F401 - imported to register their handlers
    dns,
    evasion,
    files,
    kernel_extensions,
    namespaces,
    network,
    process,
    process_access,
)
from aurora.sensor.linux.normalise.context import boot_offset_ns
from aurora.sensor.linux.normalise.registry import Normaliser, registered_kinds

__all__ = ["Normaliser", "boot_offset_ns", "registered_kinds"]
