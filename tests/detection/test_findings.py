"""Detection Finding shape, suppression and the built-in network scan detector."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aurora.detection import DetectionEngine, Suppressor, build_finding

from .helpers import engine, golden, rule, sysmon

SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "data" / "ocsf-schema-1.8.0"


def test_finding_carries_rule_attack_evidence_host_and_ancestry() -> None:
    eng = engine(rule("    s:\n        Image|endswith: '\\a.exe'\n    condition: s"))
    ev = sysmon(Image="C:\\a.exe", ParentImage="C:\\p.exe")
    (match,) = eng.match(ev)
    ancestry = [{"pid": 1, "file": {"path": "C:\\Windows\\explorer.exe"}}]
    f = build_finding(match, ev, host={"hostname": "win-01"}, ancestry=ancestry)
    assert f["class_uid"] == 2004 and f["type_uid"] == 200401
    assert f["finding_info"]["analytic"]["uid"] == "00000000-0000-0000-0000-000000000001"
    assert f["finding_info"]["title"] == "Test rule 0001"
    assert f["severity_id"] == 4 and f["severity"] == "High"
    assert f["status"] == "New" and f["status_id"] == 1
    assert f["attacks"][0]["technique"]["uid"] == "T1059"
    assert f["attacks"][0]["sub_technique"]["uid"] == "T1059.001"
    assert f["attacks"][0]["tactic"]["uid"] == "TA0002"
    assert f["device"] == {"hostname": "win-01"}
    assert f["evidences"][0]["data"] is ev
    assert f["evidences"][0]["process"]["ancestry"] == ancestry
    assert f["evidences"][0]["process"]["file"]["path"] == "C:\\a.exe"
    json.dumps(f)  # serialisable


@pytest.mark.shared_data
def test_finding_has_required_ocsf_attributes() -> None:
    eng = engine(rule("    s:\n        Image|endswith: '\\a.exe'\n    condition: s"))
    (match,) = eng.match(sysmon(Image="C:\\a.exe"))
    f = build_finding(match)
    classes = [
        SCHEMA / "events" / "base_event.json",
        SCHEMA / "events" / "findings" / "finding.json",
        SCHEMA / "events" / "findings" / "detection_finding.json",
    ]
    for path in classes:
        attrs = json.loads(path.read_text())["attributes"]
        for name, spec in attrs.items():
            if isinstance(spec, dict) and spec.get("requirement") == "required":
                assert name in f, f"{path.name}: {name}"
    known = set()
    for path in classes:
        known |= set(json.loads(path.read_text())["attributes"])
    known |= {
        "type_name",
        "class_name",
        "category_name",
        "activity_name",
        "severity",
        "status",
        "attacks",
        "evidences",
        "device",
        "is_alert",
        "unmapped",
        "message",
    }
    assert set(f) <= known, set(f) - known


@pytest.mark.parametrize("status,sid", [("new", 1), ("acknowledged", 2), ("resolved", 4)])
def test_finding_status(status: str, sid: int) -> None:
    eng = engine(rule("    s:\n        Image|endswith: '\\a.exe'\n    condition: s"))
    (match,) = eng.match(sysmon(Image="C:\\a.exe"))
    assert build_finding(match, status=status)["status_id"] == sid


def test_suppressor_window() -> None:
    s = Suppressor(60)
    assert s.admit("r1", "h1", "k", now=0)
    assert not s.admit("r1", "h1", "k", now=59.9)
    assert s.admit("r1", "h2", "k", now=59.9)  # another host
    assert s.admit("r2", "h1", "k", now=59.9)  # another rule
    assert s.admit("r1", "h1", "other", now=59.9)  # another key
    assert s.admit("r1", "h1", "k", now=60.0)  # window elapsed
    assert s.suppressed == {}


def test_suppressor_is_bounded() -> None:
    s = Suppressor(1000, max_keys=10)
    for i in range(100):
        s.admit(f"r{i}", "h", now=float(i))
    assert len(s._last) <= 10


def net(src: str, dst: str, port: int, t_ms: int) -> dict[str, Any]:
    return {
        "class_uid": 4001,
        "activity_id": 1,
        "time": t_ms,
        "src_endpoint": {"ip": src, "port": 40000},
        "dst_endpoint": {"ip": dst, "port": port},
        "connection_info": {"direction_id": 1},
    }


def scans(eng: DetectionEngine, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f.extra for e in events for f in eng.match(e) if f.kind == "builtin"]


def test_vertical_scan_detected_at_threshold() -> None:
    eng = engine(scan_distinct_ports=10)
    evs = [net("10.0.0.9", "10.0.0.1", 1000 + i, i * 100) for i in range(10)]
    out = scans(eng, evs)
    assert len(out) == 1 and out[0]["scan_type"] == "vertical"
    assert out[0]["scan_source"] == "10.0.0.9"


def test_horizontal_scan_detected() -> None:
    eng = engine(scan_distinct_hosts=5)
    out = scans(eng, [net("10.0.0.9", f"10.0.1.{i}", 22, i) for i in range(5)])
    assert [o["scan_type"] for o in out] == ["horizontal"]


def test_slow_scan_outside_window_is_not_detected() -> None:
    eng = engine(scan_distinct_ports=10, scan_window_s=5)
    evs = [net("10.0.0.9", "10.0.0.1", 1000 + i, i * 1000) for i in range(20)]
    assert scans(eng, evs) == []


def test_repeated_connections_to_one_port_are_not_a_scan() -> None:
    eng = engine(scan_distinct_ports=5)
    assert scans(eng, [net("10.0.0.9", "10.0.0.1", 443, i) for i in range(100)]) == []


def test_scan_detection_can_be_disabled() -> None:
    eng = engine(scan_detection=False, scan_distinct_ports=3)
    assert scans(eng, [net("10.0.0.9", "10.0.0.1", p, p) for p in range(10)]) == []


def test_golden_linux_event_finding_has_process_and_ancestry() -> None:
    eng = DetectionEngine.load([], include_builtin=True)
    ev = golden("proc_creation_lnx_aurora_reverse_shell")["positive"][0]
    (match,) = [m for m in eng.match(ev) if "Reverse" in m.rule.title]
    f = build_finding(match, ev, ancestry=[ev["actor"]["process"]])
    assert f["evidences"][0]["process"]["cmd_line"].startswith("bash -i")
    assert f["evidences"][0]["process"]["ancestry"][0]["pid"] == 4100
    assert f["device"]["hostname"] == "lab-linux-01"
