"""The Windows Defender bridge on recorded data: the EVTX recordings of ../shared/data and the
documented tamper records become schema-valid Detection Findings through the plugin, and the
Windows pack's Defender rules fire on the real detections and tampering, not on their benign
look-alikes. The live path (a real sensor and collector) is in test_defender_e2e.py."""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

import pytest
from tests.sensor.windows.fake_wevtapi import FakeLog, FakeWevtapi

from aurora.detection import DetectionEngine
from aurora.ocsf.schema import load_schema
from aurora.plugins.defender_bridge.plugin import MANIFEST, DefenderBridge
from aurora.plugins.defender_bridge.source import LiveChannel, RecordedChannel
from aurora.plugins.manifest import load_file
from aurora.plugins.provenance import local_device, problem, stamp
from aurora.plugins.sdk import EventSink
from aurora.sensor.windows.defender import DEFENDER_CHANNEL
from aurora.sensor.windows.evt_api import EvtApi

from .defender_records import BENIGN, RECORDINGS, TAMPER, recorded, write_json

pytestmark = [pytest.mark.shared_data]

MALWARE = "15c914da-100a-425a-91bb-7edd1d9d9b3b"
NOT_REMEDIATED = "2980b5ad-b341-42c5-b30a-fa2ed0758923"
DISABLED = "d1c971f3-6315-4242-8a16-41360e2b4ba5"
TAMPER_BLOCKED = "c73faa1c-d9ab-4740-8f43-97c6b997c270"
WEAKENED = "557cc4a4-e097-416d-a45b-396b1a6810f6"
PACK = {MALWARE, NOT_REMEDIATED, DISABLED, TAMPER_BLOCKED, WEAKENED}


@pytest.fixture(scope="module")
def engine() -> DetectionEngine:
    eng = DetectionEngine.load([], include_builtin=True)
    assert not eng.errors, [str(e) for e in eng.errors]
    return eng


def findings(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the bridge emits for ``records``, stamped as the sensor stamps plugin events."""
    bridge, sink = DefenderBridge(RecordedChannel([])), EventSink()
    for r in records:
        bridge.handle(r, sink)
    out = sink.take(10_000, 0)
    for event in out:
        assert problem(event, frozenset({2004})) == ""
        stamp(event, "defender-bridge", "0.1.0", local_device())
    return out


def fired(engine: DetectionEngine, event: dict[str, Any]) -> set[str]:
    return {f.rule.id for f in engine.match(event)} & PACK


def test_the_recordings_become_valid_findings(shared_data: Path) -> None:
    records = recorded()
    assert len(records) == 17 and len(RECORDINGS) == 2
    out = findings(records)
    assert len(out) == 17
    schema = load_schema(shared_data / "ocsf-schema-1.8.0")
    for event in out:
        assert schema.validate(event) == [], event["unmapped"]["EventID"]
    detected = [e for e in out if e["unmapped"]["EventID"] == 1116]
    assert {e["malware"][0]["name"] for e in detected} >= {
        "HackTool:Win32/Mimikatz.D",
        "Trojan:PowerShell/Powersploit.M",
    }
    assert all(e["metadata"]["product"]["name"] == "defender-bridge" for e in out)
    # The host Defender ran on, as recorded: the sensor keeps a plugin's own device.
    assert {e["device"]["hostname"] for e in out} == {"MSEDGEWIN10", "WIN10-client01.offsec.lan"}


def test_detections_fire_the_threat_rules_and_clean_removals_do_not(
    engine: DetectionEngine,
) -> None:
    out = findings(recorded())
    by_code = {
        (e["unmapped"]["EventID"], e["unmapped"].get("ErrorCode")): fired(engine, e) for e in out
    }
    assert by_code[(1116, "0x00000000")] == {MALWARE}
    assert by_code[(1117, "0x80508023")] == {NOT_REMEDIATED}  # the file was gone: not removed
    assert by_code[(1117, "0x00000000")] == set()  # quarantined as it should be


def test_a_low_severity_detection_is_left_to_defender(engine: DetectionEngine) -> None:
    (pua,) = [copy.deepcopy(r) for r in recorded()[:1]]
    pua["Event"]["EventData"]["Severity ID"] = "1"
    pua["Event"]["EventData"]["Severity Name"] = "Low"
    (event,) = findings([pua])
    assert fired(engine, event) == set()


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("protection_disabled", DISABLED),
        ("scanning_disabled", DISABLED),
        ("virus_scan_disabled", DISABLED),
        ("tamper_blocked", TAMPER_BLOCKED),
        ("rtp_off", WEAKENED),
        ("exclusion_added", WEAKENED),
    ],
)
def test_tampering_fires_its_rule(engine: DetectionEngine, name: str, rule: str) -> None:
    (event,) = findings([TAMPER[name]])
    assert event["finding_info"]["types"] == ["defense_evasion"]
    assert fired(engine, event) == {rule}


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_routine_defender_changes_fire_nothing(engine: DetectionEngine, name: str) -> None:
    events = findings([BENIGN[name]])
    assert all(fired(engine, e) == set() for e in events)  # 5000/5011: not even a finding


def test_other_records_are_skipped_and_undecodable_ones_counted(tmp_path: Path) -> None:
    other = copy.deepcopy(TAMPER["protection_disabled"])
    other["Event"]["System"]["EventID"] = 2000  # signature updated: not a finding
    broken: dict[str, Any] = {"Event": {"System": "not a System element"}}
    bridge, sink = DefenderBridge(RecordedChannel([])), EventSink()
    for r in (other, broken, TAMPER["tamper_blocked"]):
        bridge.handle(r, sink)
    assert (bridge.emitted, bridge.skipped, bridge.undecodable, sink.lost) == (1, 1, 1, 1)


def test_the_replay_source_reads_evtx_and_json_and_then_idles(tmp_path: Path) -> None:
    extra = write_json(tmp_path / "tamper.json", list(TAMPER.values()))
    channel = RecordedChannel([*RECORDINGS, extra])
    bridge, sink, stop = DefenderBridge(channel), EventSink(), threading.Event()
    thread = threading.Thread(target=bridge.run, args=(sink, stop), daemon=True)
    thread.start()
    assert channel.exhausted.wait(10)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert channel.replayed == 17 + len(TAMPER) and bridge.emitted == 17 + len(TAMPER)


def test_a_bad_replay_argument_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("")
    for path, message in (
        (tmp_path / "x.txt", "expected a .evtx or .json"),
        (tmp_path / "no.evtx", "no such file"),
    ):
        with pytest.raises(Exception, match=message):
            RecordedChannel([path])


def test_the_shipped_manifest_is_a_windows_manifest_for_system() -> None:
    manifest = load_file(MANIFEST)
    assert manifest.name == "defender-bridge" and manifest.windows
    assert manifest.account == "SY" and manifest.classes == (2004,) and manifest.uid is None


def _defender_xml(rid: int, event_id: int, data: dict[str, str]) -> str:
    fields = "".join(f"<Data Name='{k}'>{v}</Data>" for k, v in data.items())
    return (
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
        f"<Provider Name='Microsoft-Windows-Windows Defender'/><EventID>{event_id}</EventID>"
        f"<TimeCreated SystemTime='2026-11-30T10:00:00.000Z'/><EventRecordID>{rid}</EventRecordID>"
        f"<Channel>{DEFENDER_CHANNEL}</Channel><Computer>WS1</Computer></System>"
        f"<EventData>{fields}</EventData></Event>"
    )


def test_the_live_channel_feeds_the_same_bridge_and_resumes_after_its_bookmark(
    tmp_path: Path, engine: DetectionEngine
) -> None:
    # wevtapi faked at the ctypes boundary (the Windows sensor's own stand-in), the subscriber
    # and its bookmark real: the live path differs from the replay only in where records come from.
    log = FakeLog(DEFENDER_CHANNEL)
    dll = FakeWevtapi(log)
    threat = {"Threat Name": "HackTool:Win32/Mimikatz.D", "Severity ID": "5", "Error Code": "0x0"}
    bridge, sink = DefenderBridge(LiveChannel(tmp_path, EvtApi(dll, dll.last_error))), EventSink()
    bridge.source.start()
    log.records += [(1, _defender_xml(1, 1116, threat)), (2, _defender_xml(2, 5001, {}))]
    for record in bridge.source.poll(0):
        bridge.handle(record, sink)
    bridge.source.stop()  # saves the bookmark: everything polled was handed on
    first, second = sink.take(10, 0)
    assert fired(engine, first) == {MALWARE} and fired(engine, second) == {DISABLED}

    log.records.append((3, _defender_xml(3, 5013, {"Value": "x"})))
    again = DefenderBridge(LiveChannel(tmp_path, EvtApi(dll, dll.last_error)))
    again.source.start()
    for record in again.source.poll(0):
        again.handle(record, sink)
    (third,) = sink.take(10, 0)
    assert third["unmapped"]["EventRecordID"] == 3 and again.source.lost == 0
