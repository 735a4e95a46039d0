"""Windows record -> OCSF normaliser, on the real recorded regression_data EVTX files."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from evtx import PyEvtxParser

from aurora.ocsf.field_mapping import default_mapping
from aurora.sensor.windows import normalise_record

from .helpers import sysmon

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
SCHEMA = SHARED / "ocsf-schema-1.8.0"


@cache
def records() -> list[dict[str, Any]]:
    out = []
    for f in sorted((SHARED / "sigma" / "regression_data").rglob("*.evtx")):
        out.extend(json.loads(r["data"]) for r in PyEvtxParser(str(f)).records_json())
    return out


@cache
def class_attributes() -> dict[int, set[str]]:
    """Top-level attribute names allowed per OCSF class (class, its parents and profiles)."""
    cats = json.loads((SCHEMA / "categories.json").read_text())["attributes"]
    profile_attrs: set[str] = set()
    for prof in (SCHEMA / "profiles").glob("*.json"):
        profile_attrs |= set(json.loads(prof.read_text())["attributes"])
    base = set(json.loads((SCHEMA / "events" / "base_event.json").read_text())["attributes"])
    out: dict[int, set[str]] = {0: base | profile_attrs}
    for cat_dir in (SCHEMA / "events").iterdir():
        if not cat_dir.is_dir():
            continue
        parent = (
            set(json.loads((cat_dir / f"{cat_dir.name}.json").read_text())["attributes"])
            if (cat_dir / f"{cat_dir.name}.json").exists()
            else set()
        )
        for f in cat_dir.glob("*.json"):
            d = json.loads(f.read_text())
            if "uid" in d and cat_dir.name in cats:
                uid = cats[cat_dir.name]["uid"] * 1000 + d["uid"]
                out[uid] = set(d["attributes"]) | parent | base | profile_attrs
    win = SCHEMA / "extensions" / "windows" / "events"
    system = set(
        json.loads((SCHEMA / "events" / "system" / "system.json").read_text())["attributes"]
    )
    for name, uid in (("registry_key_activity", 201001), ("registry_value_activity", 201002)):
        d = json.loads((win / f"{name}.json").read_text())
        out[uid] = set(d["attributes"]) | system | base | profile_attrs
    return out


@pytest.mark.shared_data
def test_every_regression_record_normalises_to_a_known_ocsf_class() -> None:
    allowed = class_attributes()
    assert len(records()) == 238
    for rec in records():
        ev = normalise_record(rec)
        assert ev["class_uid"] in allowed, ev["class_uid"]
        extra = set(ev) - allowed[ev["class_uid"]] - {"$include"}
        assert not extra, (ev["class_uid"], extra)
        assert ev["type_uid"] == ev["class_uid"] * 100 + ev["activity_id"]
        assert ev["metadata"]["version"] == "1.8.0"
        assert isinstance(ev["time"], int) and ev["time"] > 1_500_000_000_000


@pytest.mark.shared_data
def test_every_raw_field_is_kept_under_unmapped() -> None:
    for rec in records():
        ev = normalise_record(rec)
        data = rec["Event"].get("EventData") or {}
        for key, value in data.items():
            if not key.startswith("#") and not isinstance(value, dict):
                assert ev["unmapped"][key] == value
        system = rec["Event"]["System"]
        assert ev["unmapped"]["Channel"] == system["Channel"]
        assert ev["unmapped"]["Computer"] == system["Computer"]
        assert ev["unmapped"]["Provider_Name"] == system["Provider"]["#attributes"]["Name"]


@pytest.mark.shared_data
def test_mapped_paths_hold_the_raw_values() -> None:
    m = default_mapping()
    seen = 0
    for rec in records():
        ev = normalise_record(rec)
        route = m.route_of(ev)
        if route.primary is None:
            continue
        for sigma_field, paths in route.primary.fields.items():
            raw = ev["unmapped"].get(sigma_field)
            if raw is None:
                continue
            for path in paths:
                node: Any = ev
                for part in path.split("."):
                    node = node[part]
                assert node == raw
                seen += 1
    assert seen > 1000


def test_process_creation_shape() -> None:
    ev = sysmon(
        1,
        Image="C:\\Windows\\System32\\cmd.exe",
        CommandLine="cmd /c whoami",
        ProcessId=42,
        ParentImage="C:\\Windows\\explorer.exe",
        ParentProcessId=7,
        User="CORP\\bob",
    )
    assert ev["class_uid"] == 1007 and ev["activity_id"] == 1 and ev["category_uid"] == 1
    assert ev["process"]["file"] == {"path": "C:\\Windows\\System32\\cmd.exe", "name": "cmd.exe"}
    assert ev["process"]["cmd_line"] == "cmd /c whoami"
    assert ev["process"]["parent_process"]["pid"] == 7
    assert ev["actor"]["process"]["file"]["name"] == "explorer.exe"
    assert ev["device"]["hostname"] == "win-01"
    assert ev["time"] == 1795255200000


def test_unknown_channel_is_a_base_event_with_raw_fields() -> None:
    ev = sysmon(77, channel="Some-Vendor/Operational", Foo="bar")
    assert ev["class_uid"] == 0 and ev["unmapped"]["Foo"] == "bar"
    assert ev["unmapped"]["EventID"] == 77


def test_unnamed_data_and_userdata_and_spaces() -> None:
    rec = {
        "Event": {
            "System": {
                "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 400},
                "Channel": "Windows PowerShell",
                "Computer": "h",
            },
            "EventData": {"Data": {"#text": ["Available", "HostName=ConsoleHost"]}},
            "UserData": {"Ev": {"#attributes": {"x": "y"}, "Threat Name": "EICAR"}},
        }
    }
    ev = normalise_record(rec)
    assert ev["unmapped"]["EventID"] == 400 and ev["unmapped"]["EventID_Qualifiers"] == 0
    assert ev["unmapped"]["Data"] == ["Available", "HostName=ConsoleHost"]
    assert ev["unmapped"]["Threat Name"] == ev["unmapped"]["ThreatName"] == "EICAR"
    assert ev["class_uid"] == 1009


@pytest.mark.shared_data
def test_rendered_xml_normalises_like_the_evtx_json() -> None:
    """The Windows sensor gets XML from EvtSubscribe; it must give the same OCSF as EVTX JSON."""
    from aurora.sensor.windows import record_from_xml

    n = 0
    for f in sorted((SHARED / "sigma" / "regression_data").rglob("*.evtx")):
        xml_records = list(PyEvtxParser(str(f)).records())
        json_records = list(PyEvtxParser(str(f)).records_json())
        for x, j in zip(xml_records, json_records, strict=True):
            a = normalise_record(record_from_xml(x["data"].encode()))
            b = normalise_record(json.loads(j["data"]))
            assert a["class_uid"] == b["class_uid"] and a["activity_id"] == b["activity_id"]
            assert a["time"] == b["time"] and a["device"] == b["device"]
            # XML parsing folds CRLF to LF (XML 1.0 end-of-line handling)
            ua = {k: str(v).replace("\r\n", "\n") for k, v in a["unmapped"].items()}
            ub = {k: str(v).replace("\r\n", "\n") for k, v in b["unmapped"].items() if k in ua}
            assert ua == ub or {k for k in ua if ua[k] != ub.get(k)} <= {"Data"}
            n += 1
    assert n == 238


@pytest.mark.parametrize("bad", ["<Event><System>", "<NotEvent/>", ""])
def test_bad_xml_is_a_clear_error(bad: str) -> None:
    from aurora.sensor.windows import EventXmlError, record_from_xml

    with pytest.raises(EventXmlError, match="invalid event XML"):
        record_from_xml(bad)


def test_xml_unnamed_data_and_userdata() -> None:
    from aurora.sensor.windows import record_from_xml

    xml = (
        '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
        "<EventID Qualifiers='0'>400</EventID><Channel>Windows PowerShell</Channel>"
        "<Computer>h</Computer></System><EventData><Data>Available</Data>"
        "<Data>HostApplication=powershell -nop</Data></EventData></Event>"
    )
    ev = normalise_record(record_from_xml(xml))
    assert ev["unmapped"]["EventID"] == 400 and ev["unmapped"]["EventID_Qualifiers"] == "0"
    assert ev["unmapped"]["Data"] == ["Available", "HostApplication=powershell -nop"]
    xml2 = (
        "<Event><System><EventID>1102</EventID><Channel>Security</Channel></System>"
        "<UserData><LogFileCleared><SubjectUserName>bob</SubjectUserName></LogFileCleared>"
        "</UserData></Event>"
    )
    assert normalise_record(record_from_xml(xml2))["unmapped"]["SubjectUserName"] == "bob"
