"""OCSF 1.8.0 class ids, names and the event skeleton every normaliser (Linux, Windows) shares.

Plain dicts, not models, because the Linux sensor builds one per kernel event.
"""

from __future__ import annotations

from typing import Any

OCSF_VERSION = "1.8.0"
PRODUCT = {"name": "Aurora EDR", "vendor_name": "Aurora"}

BASE_EVENT = 0
FILE_ACTIVITY = 1001
KERNEL_EXTENSION_ACTIVITY = 1002
KERNEL_ACTIVITY = 1003
MEMORY_ACTIVITY = 1004
MODULE_ACTIVITY = 1005
PROCESS_ACTIVITY = 1007
SCRIPT_ACTIVITY = 1009
NETWORK_ACTIVITY = 4001
DNS_ACTIVITY = 4003
REGISTRY_KEY_ACTIVITY = 201001
REGISTRY_VALUE_ACTIVITY = 201002

CLASS_NAMES = {
    BASE_EVENT: "Base Event",
    FILE_ACTIVITY: "File System Activity",
    KERNEL_EXTENSION_ACTIVITY: "Kernel Extension Activity",
    KERNEL_ACTIVITY: "Kernel Activity",
    MEMORY_ACTIVITY: "Memory Activity",
    MODULE_ACTIVITY: "Module Activity",
    PROCESS_ACTIVITY: "Process Activity",
    SCRIPT_ACTIVITY: "Script Activity",
    NETWORK_ACTIVITY: "Network Activity",
    DNS_ACTIVITY: "DNS Activity",
    REGISTRY_KEY_ACTIVITY: "Registry Key Activity",
    REGISTRY_VALUE_ACTIVITY: "Registry Value Activity",
}
CATEGORY_NAMES = {0: "Uncategorized", 1: "System Activity", 4: "Network Activity"}

OS_TYPE_LINUX = 200
SEVERITY_INFORMATIONAL = 1
SHA256_ALGORITHM_ID = 3


def skeleton(
    class_uid: int, activity_id: int, time_ms: int, uid: str, device: dict[str, Any]
) -> dict[str, Any]:
    """Fields every event carries; the caller adds the class-specific ones."""
    return {
        "class_uid": class_uid,
        "class_name": CLASS_NAMES[class_uid],
        "category_uid": class_uid // 1000,
        "activity_id": activity_id,
        "type_uid": class_uid * 100 + activity_id,
        "time": time_ms,
        "severity_id": SEVERITY_INFORMATIONAL,
        "metadata": {"version": OCSF_VERSION, "product": PRODUCT, "uid": uid},
        "device": device,
    }


def endpoint(ip: str, port: int) -> dict[str, Any]:
    """An OCSF network endpoint object."""
    return {"ip": ip, "port": port}
