"""File family (kernel-side path filter) and kernel family (module and BPF loads) on the real
kernel."""

from __future__ import annotations

import ctypes
import os
import subprocess
from pathlib import Path

import pytest
from tests.sensor.conftest import OBJECTS, LiveSensor, by_pid

pytestmark = [pytest.mark.root, pytest.mark.kernel]
ME = os.getpid()


def file_events(sensor: LiveSensor, count: int) -> list[dict[str, object]]:
    return sensor.wait_for(
        lambda e: e["class_uid"] == 1001 and e["actor"]["process"]["pid"] == ME, count=count
    )


def test_create_write_rename_chmod_chown_delete_in_watched_dir(sensor: LiveSensor) -> None:
    d = sensor.watched / "dir"
    d.mkdir(exist_ok=True)
    a, b = d / "a.conf", d / "b.conf"
    a.write_text("one")
    with a.open("a") as fh:
        fh.write("two")
    a.rename(b)
    os.chmod(b, 0o640)
    os.chown(b, 1, 2)
    b.unlink()
    evs = file_events(sensor, 6)
    got = [(e["activity_id"], e["file"]["path"], e["unmapped"]["file_op"]) for e in evs]  # type: ignore[index]
    assert got == [
        (1, str(a), "create"),
        (14, str(a), "open_write"),
        (5, str(a), "rename"),
        (6, str(b), "chmod"),
        (6, str(b), "chown"),
        (4, str(b), "delete"),
    ]
    rename, chmod, chown = evs[2], evs[3], evs[4]
    assert rename["file_result"] == {"path": str(b), "name": "b.conf", "type_id": 1}
    assert rename["type_uid"] == 100105
    assert chmod["unmapped"]["mode"] == "0640"  # type: ignore[index]
    assert chown["unmapped"]["owner_uid"] == 1 and chown["unmapped"]["owner_gid"] == 2  # type: ignore[index]
    assert chown["file"]["owner"]["uid"] == "1"  # type: ignore[index]


def test_relative_paths_are_resolved_against_cwd(sensor: LiveSensor) -> None:
    d = sensor.watched / "dir"
    d.mkdir(exist_ok=True)
    (d / "rel").write_text("x")
    old = os.getcwd()
    os.chdir(d)
    try:
        os.unlink("rel")
    finally:
        os.chdir(old)
    evs = sensor.wait_for(by_pid(ME, 1001, 4))
    assert evs[0]["file"]["path"] == str(d / "rel")


def test_unwatched_paths_never_leave_the_kernel(sensor: LiveSensor, tmp_path: Path) -> None:
    f = tmp_path / "plain.txt"  # under /tmp, not executable: filtered in the kernel
    f.write_text("x")
    f.rename(tmp_path / "plain2.txt")
    (tmp_path / "plain2.txt").unlink()
    assert not [e for e in sensor.drain(0.5) if by_pid(ME, 1001, 1)(e) or by_pid(ME, 1001, 4)(e)]


def test_executable_written_to_tmp_is_reported(sensor: LiveSensor, tmp_path: Path) -> None:
    exe = tmp_path / "dropper"
    fd = os.open(exe, os.O_CREAT | os.O_WRONLY, 0o755)
    os.write(fd, b"#!/bin/sh\n")
    os.close(fd)
    script = tmp_path / "later"
    script.write_text("echo")
    os.chmod(script, 0o755)
    evs = sensor.wait_for(
        lambda e: e["class_uid"] == 1001 and e["actor"]["process"]["pid"] == ME, count=2
    )
    assert [(e["activity_id"], e["file"]["path"]) for e in evs] == [(1, str(exe)), (6, str(script))]
    assert evs[0]["unmapped"]["mode"] == "0755"


def test_glob_component_matches_any_home(sensor: LiveSensor) -> None:
    ssh = sensor.watched / "alice" / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    (ssh / "authorized_keys").write_text("ssh-ed25519 AAAA")
    (sensor.watched / "alice" / "notes").write_text("not watched")
    (ev,) = sensor.wait_for(by_pid(ME, 1001, 1))
    assert ev["file"]["path"] == str(ssh / "authorized_keys")
    assert not [e for e in sensor.drain(0.3) if by_pid(ME, 1001, 1)(e)]


def test_bpf_program_load_is_kernel_activity(sensor: LiveSensor) -> None:
    pin = Path("/sys/fs/bpf/aurora-test-load")
    res = subprocess.run(
        ["bpftool", "prog", "loadall", str(OBJECTS / "dns.bpf.o"), str(pin)],
        capture_output=True,
        text=True,
    )
    subprocess.run(["rm", "-rf", str(pin)], check=True)
    assert res.returncode == 0, res.stderr
    evs = sensor.wait_for(
        lambda e: e["class_uid"] == 1003 and e["kernel"]["name"] == "handle_sendto"
    )
    ev = evs[0]
    assert ev["type_uid"] == 100301
    assert ev["kernel"]["type"] == "bpf_program" and ev["kernel"]["system_call"] == "bpf"
    assert ev["actor"]["process"]["file"]["path"].endswith("bpftool")
    assert ev["unmapped"]["bpf_insn_cnt"] > 0


def test_module_load_is_seen_or_reported_unavailable(sensor: LiveSensor) -> None:
    tp = Path("/sys/kernel/tracing/events/syscalls/sys_enter_finit_module")
    caps = {c.name: c for c in sensor.sensor.capabilities()}
    if not tp.is_dir():
        # This kernel has no module support: the capability report says so, with the reason.
        cap = caps["kernel/handle_finit_module"]
        assert cap.loaded is False and "handle_finit_module" in cap.reason
        assert caps["kernel"].loaded is True
        return
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/dev/null", os.O_RDONLY)
    try:
        libc.syscall(313, fd, b"", 0)  # finit_module: refused, but the attempt is recorded
    finally:
        os.close(fd)
    (ev,) = sensor.wait_for(by_pid(ME, 1002, 1))
    assert ev["driver"]["file"]["path"] == "/dev/null"
