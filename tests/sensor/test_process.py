"""Process family on the real kernel: launch (every field captured at exec), terminate, set user
id, ptrace attach and process_vm_writev, memfd and deleted executables."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.sensor.conftest import Event, LiveSensor, by_pid

pytestmark = [pytest.mark.root, pytest.mark.kernel]


def launches_of(pid: int) -> object:
    return lambda ev: (
        ev["class_uid"] == 1007 and ev["activity_id"] == 1 and (ev["process"]["pid"] == pid)
    )


def test_launch_carries_argv_cwd_credentials_and_parent(sensor: LiveSensor, tmp_path: Path) -> None:
    argv = ["/bin/sleep", "0.2", "--", "hello world"]
    # sleep rejects the extra arguments only after exec, which is all we need.
    proc = subprocess.Popen(argv, cwd=tmp_path, stderr=subprocess.DEVNULL)
    proc.wait()
    (ev,) = sensor.wait_for(launches_of(proc.pid))

    assert ev["type_uid"] == 100701 and ev["category_uid"] == 1
    assert ev["metadata"]["version"] == "1.8.0"
    assert ev["metadata"]["product"] == {"name": "Aurora EDR", "vendor_name": "Aurora"}
    assert ev["device"]["os"] == {
        "name": "Linux",
        "type_id": 200,
        "kernel_release": os.uname().release,
    }
    p = ev["process"]
    assert p["file"]["path"] == os.path.realpath("/bin/sleep")
    assert p["file"]["name"] == "sleep"
    assert p["cmd_line"] == "/bin/sleep 0.2 -- hello world"
    assert p["working_directory"] == str(tmp_path)
    assert p["user"] == {"uid": "0", "name": "root"}
    assert p["tid"] == proc.pid
    (sha,) = p["file"]["hashes"]
    assert sha["algorithm_id"] == 3 and len(sha["value"]) == 64
    import hashlib

    assert sha["value"] == hashlib.sha256(Path("/bin/sleep").read_bytes()).hexdigest()
    # Parent: this test process, both as process.parent_process and as the actor.
    assert p["parent_process"]["pid"] == os.getpid()
    assert ev["actor"]["process"]["pid"] == os.getpid()
    assert ev["actor"]["process"]["file"]["path"] == os.path.realpath(sys.executable)
    assert p["ancestry"][0]["pid"] == os.getpid()
    assert abs(p["created_time"] - time.time() * 1000) < 60_000
    u = ev["unmapped"]
    assert u["argv"] == argv
    assert u["argv_truncated"] is False
    assert u["exe_memfd"] is False and u["exe_deleted"] is False
    assert u["ppid"] == os.getpid()
    assert (u["euid"], u["egid"], u["suid"], u["sgid"]) == (0, 0, 0, 0)
    assert u["exec_filename"] == "/bin/sleep"
    assert u["cgroup_id"] > 0


def test_argv_over_4k_is_kept_to_4k_and_flagged(sensor: LiveSensor) -> None:
    big = ["x" * 1000 for _ in range(6)]
    proc = subprocess.Popen(["/bin/true", *big])
    proc.wait()
    (ev,) = sensor.wait_for(launches_of(proc.pid))
    u = ev["unmapped"]
    assert u["argv_truncated"] is True
    assert u["args_size"] == len("/bin/true") + 1 + 6 * 1001
    assert len("\0".join(u["argv"])) >= 4095
    assert u["argv"][0] == "/bin/true" and u["argv"][1] == "x" * 1000


def test_terminate_reports_exit_code(sensor: LiveSensor) -> None:
    proc = subprocess.Popen(["/bin/sh", "-c", "exit 7"])
    proc.wait()
    (ev,) = sensor.wait_for(
        lambda e: (
            e["class_uid"] == 1007 and e["activity_id"] == 2 and e["process"]["pid"] == proc.pid
        )
    )
    assert ev["type_uid"] == 100702
    assert ev["exit_code"] == 7
    assert ev["process"]["file"]["path"] == os.path.realpath("/bin/sh")
    assert ev["process"]["terminated_time"] >= ev["process"]["created_time"]


def test_killed_process_exit_code_is_128_plus_signal(sensor: LiveSensor) -> None:
    proc = subprocess.Popen(["/bin/sleep", "30"])
    time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (ev,) = sensor.wait_for(
        lambda e: (
            e["class_uid"] == 1007 and e["activity_id"] == 2 and e["process"]["pid"] == proc.pid
        )
    )
    assert ev["exit_code"] == 128 + 9
    assert ev["unmapped"]["exit_signal"] == 9


def test_setuid_is_reported_with_new_credentials(sensor: LiveSensor) -> None:
    code = "import os; os.setgid(65534); os.setuid(65534)"
    proc = subprocess.run([sys.executable, "-c", code], check=True)
    del proc
    evs = sensor.wait_for(lambda e: e["class_uid"] == 1007 and e["activity_id"] == 5, count=2)
    setuid = next(e for e in evs if e["unmapped"]["syscall"] == "setuid")
    assert setuid["type_uid"] == 100705
    assert setuid["unmapped"]["uid"] == 65534 and setuid["unmapped"]["euid"] == 65534
    assert setuid["process"]["user"]["uid"] == "65534"
    assert setuid["actor"]["process"]["user"]["uid"] == "0"  # who it was before the call
    setgid = next(e for e in evs if e["unmapped"]["syscall"] == "setgid")
    assert setgid["unmapped"]["egid"] == 65534


PTRACE_ATTACH, PTRACE_DETACH = 16, 17


def test_ptrace_attach_is_a_process_open(sensor: LiveSensor) -> None:
    target = subprocess.Popen(["/bin/sleep", "5"])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    try:
        time.sleep(0.05)
        assert libc.ptrace(PTRACE_ATTACH, target.pid, None, None) == 0
        os.waitpid(target.pid, 0)
        libc.ptrace(PTRACE_DETACH, target.pid, None, None)
        (ev,) = sensor.wait_for(by_pid(os.getpid(), 1007, 3))
    finally:
        target.kill()
        target.wait()
    assert ev["type_uid"] == 100703
    assert ev["process"]["pid"] == target.pid
    assert ev["process"]["file"]["path"] == os.path.realpath("/bin/sleep")
    assert ev["unmapped"]["syscall_op"] == "ptrace_attach"


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def test_process_vm_writev_is_an_inject(sensor: LiveSensor) -> None:
    target = subprocess.Popen(["/bin/sleep", "5"])
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(8)
    local = IoVec(ctypes.cast(buf, ctypes.c_void_p), 8)
    remote = IoVec(0x1000, 8)  # unmapped in the target: the call fails, the attempt is seen
    try:
        libc.process_vm_writev(target.pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
        (ev,) = sensor.wait_for(by_pid(os.getpid(), 1007, 4))
    finally:
        target.kill()
        target.wait()
    assert ev["type_uid"] == 100704
    assert ev["process"]["pid"] == target.pid
    assert ev["unmapped"]["syscall_op"] == "process_vm_writev"


def test_exec_from_memfd_is_flagged(sensor: LiveSensor) -> None:
    fd = os.memfd_create("aurora-test", 0)
    os.write(fd, Path("/bin/true").read_bytes())
    proc = subprocess.Popen([f"/proc/self/fd/{fd}"], pass_fds=[fd])
    proc.wait()
    os.close(fd)
    (ev,) = sensor.wait_for(launches_of(proc.pid))
    assert ev["unmapped"]["exe_memfd"] is True
    assert ev["unmapped"]["exe_deleted"] is False
    assert ev["process"]["file"]["name"].startswith("memfd:aurora-test")


def test_exec_of_deleted_file_is_flagged(sensor: LiveSensor, tmp_path: Path) -> None:
    exe = tmp_path / "gone"
    shutil.copy("/bin/true", exe)
    fd = os.open(exe, os.O_RDONLY)
    exe.unlink()
    proc = subprocess.Popen([f"/proc/self/fd/{fd}"], pass_fds=[fd])
    proc.wait()
    os.close(fd)
    (ev,) = sensor.wait_for(launches_of(proc.pid))
    assert ev["unmapped"]["exe_deleted"] is True
    assert ev["unmapped"]["exe_memfd"] is False
    assert ev["process"]["file"]["path"] == str(exe)


def test_events_of_forked_children_name_their_parent(sensor: LiveSensor) -> None:
    # The shell forks twice: the inner child's parent is the shell, found through the table.
    proc = subprocess.run(["/bin/sh", "-c", "/bin/true; exit 0"], check=True)
    del proc
    evs = sensor.wait_for(
        lambda e: (
            e["class_uid"] == 1007
            and e["activity_id"] == 1
            and e["process"].get("file", {}).get("name") == "true"
            and e["actor"]["process"].get("file", {}).get("path") == os.path.realpath("/bin/sh")
        )
    )
    ev: Event = evs[0]
    assert ev["process"]["parent_process"]["cmd_line"] == "/bin/sh -c /bin/true; exit 0"
    assert ev["process"]["ancestry"][1]["pid"] == os.getpid()


def test_loginuid_and_session_are_captured(sensor: LiveSensor) -> None:
    marker = "aurora-auid-test"
    # Setting the loginuid starts a new audit session, as a login would.
    script = f"echo 1000 > /proc/self/loginuid && exec /bin/true {marker}"
    subprocess.run(["/bin/sh", "-c", script], check=True)
    (ev,) = sensor.wait_for(
        lambda e: (
            e["class_uid"] == 1007
            and e["activity_id"] == 1
            and e["unmapped"]["argv"] == ["/bin/true", marker]
        )
    )
    assert ev["unmapped"]["auid"] == 1000
    session = ev["process"]["session"]
    assert int(session["uid"]) > 0


def test_tty_is_captured(sensor: LiveSensor) -> None:
    marker = "aurora-tty-test"
    master, slave = os.openpty()
    try:
        # setsid -c makes the pty (its stdin) the controlling terminal, as a login shell has.
        subprocess.run(
            ["setsid", "-c", "/bin/true", marker],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            check=True,
        )
    finally:
        os.close(slave)
        os.close(master)
    (ev,) = sensor.wait_for(
        lambda e: (
            e["class_uid"] == 1007
            and e["activity_id"] == 1
            and e["unmapped"]["argv"] == ["/bin/true", marker]
        )
    )
    assert ev["process"]["session"]["terminal"].startswith("pts")
