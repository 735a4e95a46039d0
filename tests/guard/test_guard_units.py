"""The guard's parts that need no kernel: the state book, the tamper rules (each with a benign
look-alike that must not fire), and the layout of the guard record against the object's BTF."""

from __future__ import annotations

import ctypes
import json
import subprocess
from pathlib import Path

import pytest

from aurora.detection import DetectionEngine
from aurora.sensor.guard.events import tamper_event
from aurora.sensor.guard.probe_linux import GuardEvent
from aurora.sensor.guard.status import OK, Observation, StateBook
from aurora.sensor.linux.sensor import OBJECTS_DIR


def test_the_book_reports_a_transition_once_and_keeps_since() -> None:
    book = StateBook()
    assert book.record([Observation("a", OK)], 1000) == []
    bad = book.record([Observation("a", "detached", "gone")], 2000)
    assert [(e.name, e.state, e.since_ms) for e in bad] == [("a", "detached", 2000)]
    assert book.record([Observation("a", "detached", "still gone")], 3000) == []
    assert book.entries()[0].since_ms == 2000 and not book.all_ok()
    assert book.record([Observation("a", OK)], 4000) == [] and book.all_ok()
    blind = book.record([Observation("c", "blind", since_ms=3500)], 5000)
    assert blind[0].since_ms == 3500


@pytest.fixture(scope="module")
def engine() -> DetectionEngine:
    return DetectionEngine.load([])


@pytest.mark.parametrize(
    ("check", "extra", "actor_pid", "title"),
    [
        ("hook_detached", {}, None, "Hook Detached"),
        ("map_altered", {}, None, "Hook Detached"),
        ("family_blind", {}, None, "Event Family Blind"),
        ("signal", {"signal": "SIGKILL"}, 4242, "Signal Sent"),
        ("ptrace", {}, 4242, "Ptrace or Memory Write"),
        ("process_vm_writev", {}, 4242, "Ptrace or Memory Write"),
        ("file_changed", {}, None, "Files Changed on Disk"),
        ("isolation_restored", {}, None, "Isolation Rules Removed"),
        ("previous_run_abnormal", {}, None, "Previous Run Ended Abnormally"),
    ],
)
def test_each_tamper_check_fires_its_critical_t1562_rule(
    engine: DetectionEngine, check: str, extra: dict[str, str], actor_pid: int | None, title: str
) -> None:
    actor = {"pid": actor_pid} if actor_pid else None
    hits = engine.match(tamper_event(check, "detail", actor=actor, extra=extra))
    assert [f.rule.title for f in hits if title in f.rule.title], [f.rule.title for f in hits]
    rule = next(f.rule for f in hits if title in f.rule.title)
    assert "attack.t1562.001" in rule.tags
    assert rule.level in ("critical", "high")


@pytest.mark.parametrize(
    ("check", "extra", "actor_pid"),
    [
        ("signal", {"signal": "SIGTERM"}, 1),  # the service manager stopping the sensor
        ("signal", {"signal": "SIGUSR1"}, 4242),  # not a signal that stops or kills
        ("hook_ok", {}, None),  # no such finding
    ],
)
def test_benign_look_alikes_raise_nothing(
    engine: DetectionEngine, check: str, extra: dict[str, str], actor_pid: int | None
) -> None:
    actor = {"pid": actor_pid} if actor_pid else None
    hits = engine.match(tamper_event(check, "detail", actor=actor, extra=extra))
    assert [f.rule.title for f in hits if "Aurora Sensor" in f.rule.title] == []


@pytest.mark.root
def test_guard_record_mirror_matches_the_btf() -> None:
    obj = OBJECTS_DIR / "guard.bpf.o"
    assert obj.exists(), "build the BPF objects: make -C bpf"
    out = subprocess.run(
        ["bpftool", "-j", "btf", "dump", "file", str(obj)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    types = json.loads(out)["types"]
    struct = next(t for t in types if t["kind"] == "STRUCT" and t.get("name") == "guard_event")
    assert struct["size"] == ctypes.sizeof(GuardEvent)
    members = [(m["name"], m["bits_offset"] // 8) for m in struct["members"]]
    mirror = [(name, getattr(GuardEvent, name).offset) for name, _ in GuardEvent._fields_]
    assert members == mirror


def test_guard_object_is_built_by_the_bpf_makefile() -> None:
    assert "guard" in (Path(__file__).resolve().parents[2] / "bpf" / "Makefile").read_text()


def test_tamper_events_and_their_findings_are_valid_ocsf(
    engine: DetectionEngine, shared_data: Path
) -> None:
    from aurora.detection import build_finding
    from aurora.ocsf.schema import OcsfSchema

    schema = OcsfSchema.load(shared_data / "ocsf-schema-1.8.0")
    ev = tamper_event("signal", "SIGKILL sent", actor={"pid": 4242}, extra={"signal": "SIGKILL"})
    assert schema.validate(ev) == []
    finding = build_finding(engine.match(ev)[0], host=dict(ev["device"]))
    assert schema.validate(finding) == []
    assert finding["severity_id"] == 5
