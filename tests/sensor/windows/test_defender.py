"""Defender/Operational records -> OCSF Detection Findings, on the recorded samples
(../shared/data/windows-samples/defender: 1116 threat detected, 1117 action taken)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from evtx import PyEvtxParser

from aurora.ocsf.schema import OcsfSchema, load_schema
from aurora.sensor.windows.defender import defender_finding
from aurora.sensor.windows.events import channel_events

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
DEFENDER = DATA / "windows-samples" / "defender"
EXCLUSIONS = "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths"


def records(name: str) -> list[dict[str, Any]]:
    return [json.loads(r["data"]) for r in PyEvtxParser(str(DEFENDER / name)).records_json()]


@pytest.fixture(scope="module")
def schema() -> OcsfSchema:
    return load_schema(str(DATA / "ocsf-schema-1.8.0"))


@pytest.mark.shared_data
def test_threat_detected_and_action_taken(schema: OcsfSchema) -> None:
    recs = records("defender_1116_1117_atomic_red_team.evtx")
    findings = [defender_finding(r) for r in recs]
    assert all(f is not None and schema.validate(f) == [] for f in findings)
    detected = [f for f in findings if f and f["activity_id"] == 1]
    acted = [f for f in findings if f and f["activity_id"] == 2]
    assert (len(detected), len(acted)) == (6, 5)
    first = detected[0]
    assert first["finding_info"]["uid"] == "{511224D4-1EB4-47B9-BC4A-37E21F923FED}"
    assert first["finding_info"]["title"] == "Defender detected malware"
    assert first["malware"][0]["name"] == "Trojan:PowerShell/Powersploit.M"
    assert first["malware"][0]["uid"] == "2147725349"
    assert first["malware"][0]["classifications"] == ["Trojan"]
    assert first["severity_id"] == 5  # Defender "Severe"
    assert first["resources"] == [
        {
            "name": "C:\\AtomicRedTeam\\atomic-red-team-master\\atomics\\T1056\\Get-Keystrokes.ps1",
            "type": "file",
        }
    ]
    assert first["evidences"][0]["process"]["name"] == "powershell.exe"
    assert first["unmapped"]["Threat Name"] == "Trojan:PowerShell/Powersploit.M"
    assert first["device"]["hostname"] == "MSEDGEWIN10"
    same = [f for f in acted if f["finding_info"]["uid"] == first["finding_info"]["uid"]]
    assert same and "remediation" in same[0]


@pytest.mark.shared_data
def test_several_paths_become_several_resources(schema: OcsfSchema) -> None:
    findings = [defender_finding(r) for r in records("defender_1116_1117_threat_detected.evtx")]
    assert len(findings) == 6 and all(f is not None for f in findings)
    multi = [f for f in findings if f and len(f.get("resources", [])) == 2]
    assert multi and multi[0]["resources"][1]["name"] == "C:\\Users\\admmig\\Documents\\mimilib.dll"
    assert {f["severity_id"] for f in findings if f} == {4}  # "High"


def _defender(eid: int, data: dict[str, str]) -> dict[str, Any]:
    return {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Windows Defender"}},
                "EventID": eid,
                "Channel": "Microsoft-Windows-Windows Defender/Operational",
                "Computer": "h",
                "TimeCreated": {"#attributes": {"SystemTime": "2024-01-01T00:00:00Z"}},
            },
            "EventData": data,
        }
    }


def test_protection_turned_off_or_reconfigured_is_a_finding(schema: OcsfSchema) -> None:
    off = defender_finding(_defender(5001, {"Product Name": "Microsoft Defender Antivirus"}))
    assert off is not None and schema.validate(off) == []
    assert off["finding_info"]["title"] == "Defender real-time protection was disabled"
    changed = defender_finding(
        _defender(
            5007,
            {
                "Old Value": f"{EXCLUSIONS} = ",
                "New Value": f"{EXCLUSIONS}\\C:\\x = 0x0",
            },
        )
    )
    assert changed is not None and "Exclusions\\Paths\\C:\\x" in changed["finding_info"]["desc"]


def test_other_defender_events_and_other_channels_are_no_finding() -> None:
    assert defender_finding(_defender(1000, {})) is None  # scan started
    other = _defender(1116, {})
    other["Event"]["System"]["Channel"] = "Application"
    assert defender_finding(other) is None
    # The channel path still sends the normalised event itself, and the finding beside it.
    assert len(channel_events(_defender(1116, {"Threat Name": "x"}))) == 2
    assert len(channel_events(_defender(1000, {}))) == 1
