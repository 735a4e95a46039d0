"""Defender/Operational records for tests: the recorded EVTX files of ../shared/data, read as the
bridge reads them, and protection-tamper records (5000/5001/5007/5013...) in the same evtx JSON
shape with the EventData fields Microsoft documents for them (none are in the recordings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aurora.plugins.defender_bridge.source import RecordedChannel
from aurora.sensor.windows.defender import DEFENDER_CHANNEL

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "windows-samples" / "defender"
RECORDINGS = sorted(SAMPLES.glob("*.evtx"))
KEY = r"HKLM\SOFTWARE\Microsoft\Windows Defender"


def recorded() -> list[dict[str, Any]]:
    channel = RecordedChannel(RECORDINGS)
    channel.start()
    out: list[dict[str, Any]] = []
    while not channel.exhausted.is_set():
        out += channel.poll(0)
    return out


def record(event_id: int, data: dict[str, str], rid: int = 9000) -> dict[str, Any]:
    system = {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Windows Defender"}},
        "EventID": event_id,
        "Level": 3,
        "TimeCreated": {"#attributes": {"SystemTime": "2026-11-30T10:15:00.000000Z"}},
        "EventRecordID": rid,
        "Channel": DEFENDER_CHANNEL,
        "Computer": "WS-042.corp.example",
        "Security": {"#attributes": {"UserID": "S-1-5-18"}},
    }
    product = {"Product Name": "%%827", "Product Version": "4.18.24090.11"}
    return {"Event": {"System": system, "EventData": {**product, **data}}}


def config_change(old: str, new: str, rid: int) -> dict[str, Any]:
    return record(5007, {"Old Value": old, "New Value": new}, rid)


RTP = rf"{KEY}\Real-Time Protection\DisableRealtimeMonitoring"

TAMPER = {
    "protection_disabled": record(5001, {}, 9001),
    "scanning_disabled": record(5010, {}, 9002),
    "virus_scan_disabled": record(5012, {}, 9003),
    "tamper_blocked": record(5013, {"Changed Type": "%%803", "Value": RTP}, 9004),
    "rtp_off": config_change(f"{RTP} = 0x0", f"{RTP} = 0x1", 9005),
    "exclusion_added": config_change("", rf"{KEY}\Exclusions\Paths\C:\Users\Public = 0x0", 9006),
}
BENIGN = {
    "protection_enabled": record(5000, {}, 9101),
    "scanning_enabled": record(5011, {}, 9102),
    "signature_update_setting": config_change(
        rf"{KEY}\Signature Updates\SignatureUpdateInterval = 0x8",
        rf"{KEY}\Signature Updates\SignatureUpdateInterval = 0x4",
        9103,
    ),
    "rtp_back_on": config_change(f"{RTP} = 0x1", f"{RTP} = 0x0", 9104),
}


def write_json(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path
