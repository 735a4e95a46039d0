"""The guard's parts that need no kernel: the state book, the tamper rules (each with a benign
look-alike that must not fire), and the layout of the guard record against the object's BTF."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
from pathlib import Path

import pytest
from tests.fulldisk import fill

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


def test_a_file_changed_on_disk_is_found_once_even_with_its_mtime_put_back(
    tmp_path: Path,
) -> None:
    from aurora.sensor.guard.integrity import FileIntegrity

    module, obj = tmp_path / "agent.py", tmp_path / "process.bpf.o"
    module.write_text("print('sensor')\n")
    obj.write_bytes(b"\x7fELF original")
    files = FileIntegrity([module, obj])
    assert files.check() == []
    st = obj.stat()
    obj.write_bytes(b"\x7fELF patched!!")  # same size
    os.utime(obj, ns=(st.st_atime_ns, st.st_mtime_ns))  # the attacker hides the mtime
    assert files.check() == [obj]
    assert files.check() == []  # reported once
    module.touch()  # a new mtime, the same content: not a change
    assert files.check() == []


def test_the_run_record_tells_a_clean_stop_from_a_crash(tmp_path: Path) -> None:
    from aurora.sensor.guard.runstate import RunRecord

    first = RunRecord(tmp_path)
    assert not first.previous_was_unclean()
    first.started()
    first.stopped()
    assert not RunRecord(tmp_path).previous_was_unclean()

    crashed = RunRecord(tmp_path)
    crashed.started()  # ... and never stopped: the process died
    (tmp_path / "guard" / "crash.log").write_text(
        "Fatal Python error: Segmentation fault\n\nThread 0x1 (most recent call first):\n"
    )
    after = RunRecord(tmp_path)
    assert after.previous_was_unclean()
    how = after.how_previous_ended([])
    assert how.startswith("crashed: Fatal Python error: Segmentation fault")


def test_the_run_record_names_the_signal_that_killed_the_previous_run(tmp_path: Path) -> None:
    from aurora.sensor.guard.probe_linux import OP_SIGNAL, Aimed
    from aurora.sensor.guard.runstate import RunRecord

    RunRecord(tmp_path).started()
    record = RunRecord(tmp_path)
    pid = int((record.previous or {})["pid"])
    aimed = [Aimed(OP_SIGNAL, 9, pid, 777, 1, 0, "pkill", 0)]
    assert record.how_previous_ended(aimed) == "killed by SIGKILL from pid 777 (pkill)"
    unexplained = record.how_previous_ended([Aimed(OP_SIGNAL, 10, pid, 777, 1, 0, "x", 0)])
    assert "no signal, OOM or crash record" in unexplained


@pytest.mark.root
def test_a_clean_stop_on_a_full_disk_is_not_taken_for_a_crash(small_disk: Path) -> None:
    from aurora.sensor.guard.runstate import RunRecord

    record = RunRecord(small_disk)
    record.started()
    fill(small_disk)
    record.stopped()  # cannot write: the record is removed instead, and nothing raises
    assert not RunRecord(small_disk).previous_was_unclean()
