"""Rendered Windows event XML (EvtRender / `wevtutil qe /f:xml`) -> the evtx JSON record shape.

The Windows sensor receives events from EvtSubscribe as XML; converting them to the same shape
the evtx reader yields lets :func:`normalise_record` serve both, so live events and offline EVTX
hunting normalise identically. The standard library parser is used; it never fetches external
entities, and the system expat (2.5 on Debian 12) bounds entity amplification.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from aurora.errors import AuroraError

# System elements and attributes the evtx reader renders as integers.
_INT_SYSTEM = {"EventID", "Version", "Level", "Task", "Opcode", "EventRecordID"}
_INT_ATTRIBUTES = {"ProcessID", "ThreadID"}
# EventData fields whose manifest type is an unsigned integer (Sysmon's UInt16/UInt32 fields and
# the Security channel's RPC client fields): the binary EVTX keeps the type, so the evtx reader
# yields numbers, while rendered XML is text. Only decimal text is converted: the same names hold
# hexadecimal strings in other providers (Security's ProcessId is "0x1a2b"), and stay strings.
_INT_DATA = {
    "ProcessId",
    "ParentProcessId",
    "TerminalSessionId",
    "SourceProcessId",
    "SourceThreadId",
    "TargetProcessId",
    "NewThreadId",
    "SourcePort",
    "DestinationPort",
    "ClientProcessId",
    "ClientProcessStartKey",
    "RpcCallClientLocality",
}


class EventXmlError(AuroraError):
    """A rendered event is not well-formed Windows event XML."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _int_or_text(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


def _attributes(el: ET.Element) -> dict[str, Any]:
    return {
        k: int(v) if k in _INT_ATTRIBUTES and v.isdecimal() else v for k, v in el.attrib.items()
    }


def _data_text(name: str | None, el: ET.Element) -> Any:
    text = el.text or ""
    if not text.strip() and "\n" in text:
        return ""  # indentation of a pretty-printed empty element, not a value
    if name in _INT_DATA and text.isdecimal():
        return int(text)
    return text


def _element(el: ET.Element, as_int: bool) -> Any:
    text = (el.text or "").strip()
    as_int = as_int or (_local(el.tag) in _INT_DATA and text.isdecimal())
    value: Any = _int_or_text(text) if as_int and text else (text if text else None)
    children = list(el)
    if children:
        node: dict[str, Any] = {}
        for child in children:
            node[_local(child.tag)] = _element(child, False)
        if el.attrib:
            node["#attributes"] = _attributes(el)
        return node
    if el.attrib:
        out: dict[str, Any] = {"#attributes": _attributes(el)}
        if value is not None:
            out["#text"] = value
        return out
    return value


def _event_data(el: ET.Element) -> dict[str, Any]:
    named: dict[str, Any] = {}
    unnamed: list[str] = []
    for child in el:
        if _local(child.tag) != "Data":
            named[_local(child.tag)] = _data_text(None, child)
            continue
        name = child.attrib.get("Name")
        if name is None:
            unnamed.append(child.text or "")
        else:
            named[name] = _data_text(name, child)
    if unnamed:
        named["Data"] = {"#text": unnamed if len(unnamed) > 1 else unnamed[0]}
    return named


def record_from_xml(xml: str | bytes) -> dict[str, Any]:
    """One rendered event as ``{"Event": {"System": ..., "EventData"/"UserData": ...}}``."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise EventXmlError(f"invalid event XML: {exc}") from None
    if _local(root.tag) != "Event":
        raise EventXmlError(f"invalid event XML: root element is <{_local(root.tag)}>")
    event: dict[str, Any] = {}
    for part in root:
        name = _local(part.tag)
        if name == "System":
            event["System"] = {
                _local(c.tag): _element(c, _local(c.tag) in _INT_SYSTEM) for c in part
            }
        elif name == "EventData":
            event["EventData"] = _event_data(part)
        elif name == "UserData":
            event["UserData"] = {_local(c.tag): _element(c, False) for c in part}
        else:
            event[name] = _element(part, False)
    return {"Event": event}
