"""Blinding and killing a real sensor from outside, as a root attacker would, and the collector's
critical tamper alerts that follow (real kernel, real processes, real gRPC/mTLS)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.agent.helpers import wait_until
from tests.guard.conftest import HEALTH_INTERVAL_S, LiveSensor, wait_alert

pytestmark = [pytest.mark.root, pytest.mark.kernel]

# The bound on "within one health interval": the check itself, plus one batch's trip to the
# collector and its detection (measured well under a second here).
ALERT_BOUND_S = HEALTH_INTERVAL_S + 4.0


def _evidence(alert: object) -> dict[str, object]:
    data = alert.finding["evidences"][0]["data"]  # type: ignore[attr-defined]
    assert isinstance(data, dict)
    return data


def _map_id(pid: int, name: str) -> int:
    """The id of the map called ``name`` that the process holds (from /proc/PID/fdinfo)."""
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            m = re.search(r"map_id:\s+(\d+)", info.read_text())
        except FileNotFoundError:  # closed while listing
            continue
        if m is None:
            continue
        out = subprocess.run(
            ["bpftool", "-j", "map", "show", "id", m.group(1)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if json.loads(out).get("name") == name:
            return int(m.group(1))
    raise AssertionError(f"no map {name} held by pid {pid}")


def _link_fds(pid: int) -> dict[int, int]:
    """The sensor's BPF link descriptors: fd -> program id (from /proc/PID/fdinfo)."""
    out: dict[int, int] = {}
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            text = info.read_text()
        except FileNotFoundError:  # closed while listing (the canaries' sockets come and go)
            continue
        if "link_id:" in text and (m := re.search(r"prog_id:\s+(\d+)", text)):
            out[int(info.name)] = int(m.group(1))
    return out


def _prog_name(prog_id: int) -> str:
    out = subprocess.run(
        ["bpftool", "-j", "prog", "show", "id", str(prog_id)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return str(json.loads(out)["name"])


@pytest.mark.parametrize("map_name", ["watch_rules", "read_rules"])
def test_overwriting_a_watched_path_map_raises_a_critical_alert_naming_it(
    live_sensor: LiveSensor, map_name: str
) -> None:
    sensor = live_sensor.start()
    map_id = _map_id(sensor.pid, map_name)
    zeros = ["0"] * 136  # one empty rule: len, flags, pattern
    update = ["bpftool", "map", "update", "id", str(map_id), "key", "0", "0", "0", "0"]
    subprocess.run([*update, "value", *zeros], check=True)
    alert = wait_alert(sensor, "Hook Detached, Replaced", ALERT_BOUND_S)
    assert alert.severity_id == 5
    assert "T1562" in json.dumps(alert.finding["attacks"])
    ev = _evidence(alert)
    assert f"file/{map_name}" in str(ev["message"])
    assert "written back" in str(ev["message"])


def test_closing_a_link_inside_the_sensor_with_gdb_is_detached_blind_and_ptrace(
    live_sensor: LiveSensor,
) -> None:
    sensor = live_sensor.start()
    links = _link_fds(sensor.pid)
    names = {fd: _prog_name(pid) for fd, pid in links.items()}
    # Every link of the file family (its programs are enter_*/exit_*; the process family's are
    # handle_*): the file canary can no longer come back, so the family is blind as well.
    file_fds = [fd for fd, name in names.items() if name.startswith(("enter_", "exit_"))]
    assert file_fds, names
    calls = [arg for fd in file_fds for arg in ("-ex", f"call (int)close({fd})")]
    res = subprocess.run(
        ["gdb", "-p", str(sensor.pid), "-batch", "-nx", *calls],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    alert = wait_alert(sensor, "Hook Detached, Replaced", ALERT_BOUND_S)
    assert "detached" in str(_evidence(alert)["message"])
    assert any(names[fd] in str(_evidence(alert)["message"]) for fd in file_fds)
    blind = wait_alert(sensor, "Event Family Blind", ALERT_BOUND_S + HEALTH_INTERVAL_S)
    assert any(n in str(_evidence(blind)["message"]) for n in ("canary/file", "ring/file"))
    inject = wait_alert(sensor, "Ptrace or Memory Write", ALERT_BOUND_S)
    actor = _evidence(inject)["actor"]
    assert "gdb" in json.dumps(actor)

    def canary_blind_in_heartbeat() -> bool:
        report = next((c for c in sensor.host().capabilities if c.get("name") == "hook_health"), {})
        return any(
            f["name"] == "canary/file" and f["state"] == "blind" for f in report.get("families", [])
        )

    # The heartbeat says so too, with the time the family went blind.
    wait_until(canary_blind_in_heartbeat, ALERT_BOUND_S, "canary/file blind in the heartbeat")


def test_sigkill_is_delivered_after_restart_naming_the_sender(live_sensor: LiveSensor) -> None:
    sensor = live_sensor.start()
    killer = subprocess.run(["kill", "-9", str(sensor.pid)], check=True)
    assert killer.returncode == 0
    assert sensor.proc is not None
    assert sensor.proc.wait(10) == -signal.SIGKILL
    # Nothing reached the collector from the dead sensor: the record waits in the pinned ring.
    assert not sensor.alerts("Signal Sent")
    sensor.start()
    alert = wait_alert(sensor, "Signal Sent", 30)
    ev = _evidence(alert)
    assert ev["unmapped"]["tamper"]["signal"] == "SIGKILL"  # type: ignore[index]
    assert "(kill)" in str(ev["message"])
    ended = wait_alert(sensor, "Previous Run Ended Abnormally", 30)
    assert "killed by SIGKILL" in str(_evidence(ended)["message"])
    # Nothing spooled before the kill was lost: the collector saw no hole in the sequence.
    assert sensor.collector.store is not None
    assert sensor.collector.store.gaps(sensor.sensor_id) == []


VM_WRITEV = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
# One byte from us to address 0 in the sensor: refused (EFAULT), yet the call was aimed at it.
buf = ctypes.create_string_buffer(b"x")
class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
local, remote = Iovec(ctypes.addressof(buf), 1), Iovec(0, 1)
rc = libc.process_vm_writev(int(sys.argv[1]), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
sys.exit(0 if rc == -1 else 1)
"""


def test_process_vm_writev_aimed_at_the_sensor_names_the_writer(live_sensor: LiveSensor) -> None:
    sensor = live_sensor.start()
    writer = subprocess.run(
        [sys.executable, "-c", VM_WRITEV, str(sensor.pid)], capture_output=True, text=True
    )
    assert writer.returncode == 0, writer.stderr
    alert = wait_alert(sensor, "Ptrace or Memory Write", ALERT_BOUND_S)
    ev = _evidence(alert)
    assert ev["unmapped"]["tamper"]["check"] == "process_vm_writev"  # type: ignore[index]
    assert "python" in json.dumps(ev["actor"])


def test_a_process_writing_into_another_process_is_not_a_sensor_alert(
    live_sensor: LiveSensor,
) -> None:
    """The benign look-alike: the same write aimed at a process that is not the sensor."""
    sensor = live_sensor.start()
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        writer = subprocess.run([sys.executable, "-c", VM_WRITEV, str(victim.pid)])
        assert writer.returncode == 0
        # A marker after it: once the marker's alert is in, the write would have been too.
        subprocess.run(
            [sys.executable, "-c", VM_WRITEV, str(sensor.pid)], check=True, capture_output=True
        )
        wait_alert(sensor, "Ptrace or Memory Write", ALERT_BOUND_S)
        alerts = sensor.alerts("Ptrace or Memory Write")
        assert len(alerts) == 1 and alerts[0].count == 1
    finally:
        victim.kill()
        victim.wait()
