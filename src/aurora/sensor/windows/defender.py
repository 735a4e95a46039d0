"""Microsoft Defender Antivirus channel events -> OCSF Detection Findings (a pure function).

1116/1117 (threat detected / action taken) and 1118/1119 (action failed) become findings on the
file or process Defender named; 5001, 5007, 5010, 5012 and 5013 (protection turned off, its
configuration changed, a change blocked by tamper protection) become findings about the sensor's
own ground being weakened. Raw fields stay under ``unmapped`` as the channel path keeps them.
"""

from __future__ import annotations

from typing import Any

from aurora.sensor.windows.normalise import normalise_record

DEFENDER_CHANNEL = "Microsoft-Windows-Windows Defender/Operational"
DETECTION_FINDING = 2004
_CREATE, _UPDATE = 1, 2

_THREAT = {
    1116: ("Defender detected malware", _CREATE),
    1117: ("Defender took action against malware", _UPDATE),
    1118: ("Defender failed to act against malware (non-critical)", _UPDATE),
    1119: ("Defender failed to act against malware (critical)", _UPDATE),
}
_TAMPER = {
    5001: "Defender real-time protection was disabled",
    5007: "Defender configuration was changed",
    5010: "Defender scanning for malware and unwanted software was disabled",
    5012: "Defender scanning for viruses was disabled",
    5013: "Tamper protection blocked a change to Defender",
}
# Defender's "Severity ID" (1 low .. 5 severe) -> OCSF severity_id.
_SEVERITY = {"1": 2, "2": 3, "4": 4, "5": 5}
_SEVERITY_NAME = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}


def is_defender(record: dict[str, Any]) -> bool:
    root = record.get("Event", record)
    return str((root.get("System") or {}).get("Channel") or "") == DEFENDER_CHANNEL


def _path(raw: str) -> str:
    """Defender writes resources as ``file:_C:\\x.ps1`` or ``containerfile:_...``; keep the path."""
    kind, sep, rest = raw.partition(":_")
    return rest if sep and kind.isalpha() else raw


def defender_finding(record: dict[str, Any]) -> dict[str, Any] | None:
    """The finding for one Defender/Operational record, or None for its other event ids."""
    base = normalise_record(record)
    raw: dict[str, Any] = base["unmapped"]
    if raw.get("Channel") != DEFENDER_CHANNEL:
        return None
    eid = int(raw["EventID"])
    if eid in _THREAT:
        title, activity = _THREAT[eid]
        severity = _SEVERITY.get(str(raw.get("Severity ID", "")), 3)
    elif eid in _TAMPER:
        title, activity = _TAMPER[eid], _CREATE
        severity = 4
    else:
        return None
    finding: dict[str, Any] = {
        "class_uid": DETECTION_FINDING,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": activity,
        "type_uid": DETECTION_FINDING * 100 + activity,
        "severity_id": severity,
        "severity": _SEVERITY_NAME[severity],
        "time": base["time"],
        "metadata": base["metadata"],
        "device": base["device"],
        "finding_info": {
            "uid": str(raw.get("Detection ID") or f"defender-{raw.get('EventRecordID', '')}"),
            "title": title,
            "types": ["malware" if eid in _THREAT else "defense_evasion"],
            "analytic": {"name": "Microsoft Defender Antivirus", "type_id": 1, "type": "Rule"},
        },
        "is_alert": True,
        "unmapped": raw,
    }
    if eid in _THREAT:
        finding["malware"] = [
            {
                "name": str(raw.get("Threat Name", "")),
                "uid": str(raw.get("Threat ID", "")),
                "classification_ids": [99],
                "classifications": [str(raw.get("Category Name", ""))],
            }
        ]
        resources = [
            {"name": _path(p.strip()), "type": "file"}
            for p in str(raw.get("Path", "")).split(";")
            if p
        ]
        if resources:
            finding["resources"] = resources
        if raw.get("Process Name"):
            finding["evidences"] = [
                {
                    "process": {
                        "name": str(raw["Process Name"]).rsplit("\\", 1)[-1],
                        "file": {
                            "path": str(raw["Process Name"]),
                            "name": str(raw["Process Name"]).rsplit("\\", 1)[-1],
                            "type_id": 1,
                        },
                    }
                }
            ]
        if eid == 1117 and raw.get("Action Name"):
            finding["remediation"] = {
                "desc": f"{raw['Action Name']}: {raw.get('Error Description', '')}".strip()
            }
    else:
        change = {k: raw[k] for k in ("Old Value", "New Value", "Feature Name") if raw.get(k)}
        if change:
            finding["finding_info"]["desc"] = "; ".join(f"{k}: {v}" for k, v in change.items())
    return finding
