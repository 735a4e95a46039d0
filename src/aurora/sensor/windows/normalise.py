"""Windows event records (EVTX / EvtSubscribe, in the evtx JSON shape) -> OCSF 1.8.0 dicts.

Shared by the Windows sensor and offline EVTX hunting (``aurora.hunt``). The OCSF class, activity
and field paths come from the same mapping data the detection engine uses
(``aurora/ocsf/mappings/ocsf.yml``), so a Sigma field always resolves to the path this
module filled. Every raw EventData / UserData / System field is also kept, flat, under
``unmapped`` (System fields as ``Provider_Name``, ``EventID``, ``Channel``, ``Computer``, ...),
which is where rules find the fields OCSF does not model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aurora.ocsf.builders import CATEGORY_NAMES, CLASS_NAMES
from aurora.ocsf.field_mapping import FieldMapping, default_mapping

# Windows event Level -> OCSF severity_id (0 LogAlways and 4 Information are informational).
_SEVERITY = {1: 5, 2: 4, 3: 3, 4: 1, 5: 1, 0: 1}
_SEVERITY_NAME = {1: "Informational", 3: "Medium", 4: "High", 5: "Critical"}


def _text(v: Any) -> Any:
    """evtx renders elements with attributes as {"#attributes": ..., "#text": value}."""
    if isinstance(v, dict) and "#text" in v:
        return v["#text"]
    return v


# System fields that are numbers; some EVTX files carry them as text (a template typed them so).
_INT_SYSTEM = ("EventID", "Version", "Level", "Task", "Opcode", "EventRecordID")


def _flatten_system(system: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _INT_SYSTEM:
        value = system.get(key)
        if isinstance(value, str) and value.isdecimal():
            system = {**system, key: int(value)}
    for key, value in system.items():
        if isinstance(value, dict):
            if "#text" in value:
                out[key] = value["#text"]
            attrs = value.get("#attributes")
            if isinstance(attrs, dict):
                for ak, av in attrs.items():
                    if ak in ("ProcessID", "ThreadID") and isinstance(av, str) and av.isdecimal():
                        av = int(av)
                    out[f"{key}_{ak}"] = av
            for sk, sv in value.items():
                if not sk.startswith("#"):
                    out[f"{key}_{sk}"] = _text(sv)
        else:
            out[key] = value
    return out


def _flatten_data(data: Any, out: dict[str, Any]) -> None:
    """EventData/UserData fields, flat. Unnamed <Data> items become the list ``Data``."""
    if not isinstance(data, dict):
        if data is not None:
            out.setdefault("Data", data)
        return
    for key, value in data.items():
        if key == "#attributes":
            continue
        if key == "Data" and isinstance(value, dict) and "#text" in value:
            out["Data"] = value["#text"]
        elif isinstance(value, dict) and "#text" not in value:
            _flatten_data(value, out)  # UserData wraps fields in a provider element
        else:
            out[key] = _text(value)
            if " " in key:
                # Sigma names fields with spaces (Defender's "Threat Name") without them.
                out.setdefault(key.replace(" ", ""), out[key])


def _set(event: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = event
    for p in parts[:-1]:
        child = node.get(p)
        if not isinstance(child, dict):
            child = node[p] = {}
        node = child
    node[parts[-1]] = value


def _epoch_ms(stamp: Any) -> int | None:
    if not isinstance(stamp, str):
        return None
    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _add_names(node: Any) -> None:
    """OCSF file objects carry ``name`` next to ``path``; derive it where the record had a path."""
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if isinstance(value, dict):
            if key == "file" and isinstance(value.get("path"), str) and "name" not in value:
                value["name"] = value["path"].replace("/", "\\").rsplit("\\", 1)[-1]
            _add_names(value)


def normalise_record(record: dict[str, Any], mapping: FieldMapping | None = None) -> dict[str, Any]:
    """One Windows event record -> one OCSF event dict."""
    mapping = mapping or default_mapping()
    root = record.get("Event", record)
    system = _flatten_system(root.get("System") or {})
    raw: dict[str, Any] = {}
    _flatten_data(root.get("EventData"), raw)
    _flatten_data(root.get("UserData"), raw)
    raw.update(system)
    try:
        eid = int(raw.get("EventID", 0))
    except (TypeError, ValueError):
        eid = 0
    raw["EventID"] = eid
    channel = str(raw.get("Channel") or "")
    route = mapping.windows_route(channel, eid)
    cat = route.primary
    class_uid = cat.class_uid if cat else 0
    activity_id = cat.activity_id if cat else 0
    category_uid = (class_uid % 100000) // 1000
    level = raw.get("Level")
    severity_id = _SEVERITY.get(level if isinstance(level, int) else 4, 1)
    when = _epoch_ms(raw.get("TimeCreated_SystemTime"))
    event: dict[str, Any] = {
        "class_uid": class_uid,
        "class_name": CLASS_NAMES.get(class_uid, "Base Event"),
        "category_uid": category_uid,
        "category_name": CATEGORY_NAMES.get(category_uid, "System Activity"),
        "activity_id": activity_id,
        "type_uid": class_uid * 100 + activity_id,
        "severity_id": severity_id,
        "severity": _SEVERITY_NAME.get(severity_id, "Informational"),
        "time": when if when is not None else 0,
        "metadata": {
            "version": "1.8.0",
            "product": {"name": str(raw.get("Provider_Name") or ""), "vendor_name": "Microsoft"},
            "log_name": channel,
            "log_provider": str(raw.get("Provider_Name") or ""),
            "uid": str(raw.get("EventRecordID", "")),
            "event_code": str(eid),
        },
        "device": {
            "hostname": str(raw.get("Computer") or ""),
            "type_id": 0,
            "os": {"name": "Windows", "type_id": 100, "type": "Windows"},
        },
        "unmapped": raw,
    }
    if cat is not None:
        for sigma_field, paths in cat.fields.items():
            value = raw.get(cat.raw_name(sigma_field))
            if value is not None:
                for p in paths:
                    _set(event, p, value)
        _add_names(event)
    return event
