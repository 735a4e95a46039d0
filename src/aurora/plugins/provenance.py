"""What the sensor does to each plugin event before it joins the pipeline: check it against the
classes the plugin declared, and stamp its provenance (``metadata.product`` names the plugin and
its version), so nothing downstream can take a plugin's event for the sensor's own."""

from __future__ import annotations

import socket
import sys
import time
from typing import Any, TypeGuard

OCSF_VERSION = "1.8.0"
PLUGIN_VENDOR = "Aurora plugin"
_MAX_FUTURE_MS = 24 * 3600 * 1000


def _int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def problem(event: Any, classes: frozenset[int]) -> str:
    """Why ``event`` is refused; empty when it is an acceptable OCSF event of a declared class."""
    if not isinstance(event, dict):
        return "event is not a JSON object"
    class_uid = event.get("class_uid")
    if not _int(class_uid):
        return "class_uid is missing or not an integer"
    if class_uid not in classes:
        return f"class_uid {class_uid} was not declared in the handshake"
    activity = event.get("activity_id")
    if not _int(activity) or not 0 <= activity < 100:
        return "activity_id is missing or not an integer 0-99"
    when = event.get("time")
    if not _int(when) or when < 0 or when > time.time() * 1000 + _MAX_FUTURE_MS:
        return "time is missing or not a plausible Unix time in milliseconds"
    metadata = event.get("metadata", {})
    if not isinstance(metadata, dict):
        return "metadata is not an object"
    return ""


def stamp(event: dict[str, Any], name: str, version: str, device: dict[str, Any]) -> None:
    """Fill the fields every event carries and overwrite the product: a plugin cannot claim to
    be the sensor, or another plugin."""
    class_uid = event["class_uid"]
    event["category_uid"] = class_uid // 1000
    event["type_uid"] = class_uid * 100 + event["activity_id"]
    event.setdefault("severity_id", 1)
    metadata = event.setdefault("metadata", {})
    metadata["version"] = OCSF_VERSION
    metadata["product"] = {"name": name, "version": version, "vendor_name": PLUGIN_VENDOR}
    event.setdefault("device", device)


def local_device() -> dict[str, Any]:
    """The sensor's host, for plugin events that name none (OCSF os.type_id: 100 Windows,
    200 Linux)."""
    windows = sys.platform == "win32"
    os_ = {"name": "Windows", "type_id": 100} if windows else {"name": "Linux", "type_id": 200}
    return {"hostname": socket.gethostname(), "type_id": 1, "os": os_}
