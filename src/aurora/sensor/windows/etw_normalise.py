"""Decoded ETW events -> OCSF 1.8.0: process start/stop, DNS queries, script content (AMSI).

PowerShell 4104 script blocks become the same record shape the PowerShell/Operational channel
gives, so they go through :func:`normalise_record` and meet the same Sigma rules. Every decoded
field is kept under ``unmapped``.
"""

from __future__ import annotations

from typing import Any

from aurora.ocsf.builders import (
    DNS_ACTIVITY,
    MODULE_ACTIVITY,
    PROCESS_ACTIVITY,
    SCRIPT_ACTIVITY,
    skeleton,
)
from aurora.sensor.windows.etw_decode import Decoded
from aurora.sensor.windows.etw_providers import AMSI, DNS_CLIENT, KERNEL_PROCESS, POWERSHELL
from aurora.sensor.windows.normalise import normalise_record

_WINDOWS = {"name": "Windows", "type_id": 100, "type": "Windows"}
_LAUNCH, _TERMINATE = 1, 2
_PROCESS_ACTIVITY = {"Start": _LAUNCH, "DCStart": _LAUNCH, "End": _TERMINATE, "DCEnd": _TERMINATE}


def _base(d: Decoded, class_uid: int, activity: int, hostname: str) -> dict[str, Any]:
    rec = d.record
    device = {"hostname": hostname, "type_id": 0, "os": dict(_WINDOWS)}
    event = skeleton(class_uid, activity, rec.time_ms, f"{rec.pid}:{rec.timestamp}", device)
    event["metadata"]["log_provider"] = d.provider_name
    event["metadata"]["event_code"] = d.event_name
    unmapped = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in d.fields.items()}
    unmapped.update({"Provider_Name": d.provider_name, "EventName": d.event_name})
    event["unmapped"] = unmapped
    return event


def _name_of(path: str) -> str:
    return path.replace("/", "\\").rsplit("\\", 1)[-1]


def _kernel_process(d: Decoded, hostname: str) -> dict[str, Any]:
    f = d.fields
    activity = _PROCESS_ACTIVITY[d.event_name.split("/", 1)[1]]
    event = _base(d, PROCESS_ACTIVITY, activity, hostname)
    proc: dict[str, Any] = {"pid": f["ProcessId"], "name": f["ImageFileName"]}
    if f.get("CommandLine"):
        proc["cmd_line"] = f["CommandLine"]
    if f.get("UserSID"):
        proc["user"] = {"uid": f["UserSID"]}
    proc["parent_process"] = {"pid": f["ParentId"]}
    event["process"] = proc
    event["actor"] = {"process": {"pid": d.record.pid}}
    if activity == _TERMINATE:
        event["exit_code"] = f["ExitStatus"]
    return event


def _kernel_image(d: Decoded, hostname: str) -> dict[str, Any]:
    f = d.fields
    kind = d.event_name.split("/", 1)[1]
    event = _base(d, MODULE_ACTIVITY, 2 if kind in ("Unload", "DCEnd") else 1, hostname)
    path = str(f["FileName"])
    event["module"] = {
        "file": {"path": path, "name": _name_of(path), "type_id": 1},
        "base_address": f"0x{f['ImageBase']:x}",
        "type": "Image",
    }
    event["actor"] = {"process": {"pid": f["ProcessId"]}}
    return event


def _kernel_process_manifest(d: Decoded, hostname: str) -> dict[str, Any]:
    f = d.fields
    activity = _LAUNCH if d.record.event_id == 1 else _TERMINATE
    event = _base(d, PROCESS_ACTIVITY, activity, hostname)
    path = str(f.get("ImageName", ""))
    proc: dict[str, Any] = {"pid": f["ProcessID"], "name": _name_of(path)}
    if "\\" in path:
        proc["file"] = {"path": path, "name": _name_of(path), "type_id": 1}
    if "ParentProcessID" in f:
        proc["parent_process"] = {"pid": f["ParentProcessID"]}
    event["process"] = proc
    event["actor"] = {"process": {"pid": d.record.pid}}
    if activity == _TERMINATE:
        event["exit_code"] = f["ExitCode"]
    return event


def _rcode(status: int) -> int:
    """QueryStatus is a Win32 code: 0 is success, DNS_ERROR_RCODE_* (9001-9005) carry the DNS
    response code (9003 is NXDOMAIN); anything else (timeouts, no records) is OCSF "Other"."""
    if status == 0:
        return 0
    return status - 9000 if 9001 <= status <= 9005 else 99


def _dns(d: Decoded, hostname: str) -> dict[str, Any]:
    f = d.fields
    event = _base(d, DNS_ACTIVITY, 1, hostname)  # 1: Query
    event["query"] = {"hostname": f["QueryName"], "type": str(f["QueryType"])}
    event["rcode_id"] = _rcode(int(f["QueryStatus"]))
    answers = [a for a in str(f.get("QueryResults", "")).split(";") if a]
    if answers:
        event["answers"] = [{"rdata": a} for a in answers]
    event["actor"] = {"process": {"pid": d.record.pid}}
    return event


def _script(d: Decoded, hostname: str, content: str, app: str) -> dict[str, Any]:
    event = _base(d, SCRIPT_ACTIVITY, 1, hostname)  # 1: Execute
    event["script"] = {"script_content": {"value": content}, "type_id": 99, "type": app}
    event["actor"] = {"process": {"pid": d.record.pid}}
    return event


def _powershell_4104(d: Decoded, hostname: str) -> dict[str, Any]:
    rec = d.record
    system = {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-PowerShell"}},
        "EventID": 4104,
        "Channel": "Microsoft-Windows-PowerShell/Operational",
        "Computer": hostname,
        "Execution": {"#attributes": {"ProcessID": rec.pid, "ThreadID": rec.tid}},
        "Level": rec.level,
    }
    data = {k: v for k, v in d.fields.items()}
    event = normalise_record({"Event": {"System": system, "EventData": data}})
    event["time"] = rec.time_ms
    return event


def normalise_etw(d: Decoded, hostname: str = "") -> dict[str, Any] | None:
    """One decoded record as OCSF, or None for what the sensor does not turn into events."""
    rec = d.record
    if not d.fields:
        return None
    if d.event_name.startswith("Process/"):
        return _kernel_process(d, hostname)
    if d.event_name.startswith("Image/"):
        return _kernel_image(d, hostname)
    if d.event_name == "AmsiScript":
        return _script(d, hostname, str(d.fields.get("Script", "")), str(d.fields.get("Engine")))
    if rec.provider == KERNEL_PROCESS:
        return _kernel_process_manifest(d, hostname)
    if rec.provider == DNS_CLIENT:
        return _dns(d, hostname)
    if rec.provider == POWERSHELL:
        return _powershell_4104(d, hostname)
    if rec.provider == AMSI:
        raw = d.fields.get("content", b"")
        text = raw.decode("utf-16-le", "replace") if isinstance(raw, bytes) else str(raw)
        return _script(d, hostname, text, str(d.fields.get("appname", "")))
    return None
