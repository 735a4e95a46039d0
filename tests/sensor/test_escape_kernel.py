"""Escape family on the real kernel: namespaces (unshare, clone, setns), mount and pivot_root,
release_agent writes, capset, setfsuid, prctl renames, memfd_create and io_uring, each filtered in
the kernel where a filter makes sense. The shared sensor validates every event against OCSF 1.8.0.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.sensor import escape_actions as A
from tests.sensor.conftest import Event, LiveSensor

from aurora.config.sensor import SensorConfig

pytestmark = [pytest.mark.root, pytest.mark.kernel]


def of(pid: int, class_uid: int, activity_id: int | None = None) -> object:
    def match(ev: Event) -> bool:
        return (
            ev["class_uid"] == class_uid
            and (activity_id is None or ev["activity_id"] == activity_id)
            and ev["actor"]["process"]["pid"] == pid
        )

    return match


def spawn(argv: list[str]) -> int:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    assert proc.wait(timeout=30) == 0, argv
    return proc.pid


def test_unshare_reports_each_new_namespace(sensor: LiveSensor) -> None:
    pid = spawn(["unshare", "--mount", "--uts", "--ipc", "true"])
    (ev,) = sensor.wait_for(of(pid, 1003, 1))
    assert ev["type_uid"] == 100301
    assert ev["kernel"] == {
        "name": "mnt,uts,ipc",
        "type_id": 99,
        "type": "namespace",
        "system_call": "unshare",
    }
    u = ev["unmapped"]
    assert u["namespaces"] == ["mnt", "uts", "ipc"] and u["new_user_namespace"] is False
    assert int(u["clone_flags"], 16) == 0x00020000 | 0x04000000 | 0x08000000


def test_clone_with_a_namespace_flag_is_seen_and_a_plain_fork_is_not(sensor: LiveSensor) -> None:
    pid = spawn([sys.executable, "-c", A.CLONE_NEWUTS])
    (ev,) = sensor.wait_for(of(pid, 1003, 1))
    assert ev["kernel"]["system_call"] == "clone" and ev["unmapped"]["namespaces"] == ["uts"]
    # An ordinary fork (subprocess) and exec: filtered in the kernel, no namespace event.
    plain = spawn([sys.executable, "-c", "import subprocess; subprocess.run(['true'])"])
    sensor.wait_for(lambda e: e["class_uid"] == 1007 and e["process"]["pid"] == plain)
    assert not [e for e in sensor.drain(0.3) if of(plain, 1003)(e)]  # type: ignore[operator]


def test_setns_into_the_hosts_namespace_from_another_is_flagged(sensor: LiveSensor) -> None:
    # PID 1 may refuse to be inspected (a hardened init): a host process's namespace is the same.
    host_ns = f"/proc/{os.getpid()}/ns/mnt"
    init_mnt = os.stat(host_ns).st_ino
    # nsenter runs inside a new mount namespace and joins the host's: what an escape looks like.
    spawn(["unshare", "--mount", "nsenter", f"--mount={host_ns}", "true"])
    (ev,) = sensor.wait_for(
        lambda e: e["class_uid"] == 1003 and e["kernel"]["system_call"] == "setns"
    )
    assert ev["activity_id"] == 99 and ev["activity_name"] == "Join"
    assert ev["kernel"]["name"] == f"mnt:[{init_mnt}]"
    u = ev["unmapped"]
    assert u["ns_inum"] == init_mnt and u["own_ns_inum"] != init_mnt
    assert u["target_is_host_namespace"] is True and u["joins_other_namespace"] is True
    # The comm at the call: nsenter has exec'd true by the time the record is read.
    assert u["comm"] == "nsenter"
    # From the host's own namespace the same call joins nothing new.
    spawn(["nsenter", f"--mount={host_ns}", "true"])
    (again,) = sensor.wait_for(
        lambda e: e["class_uid"] == 1003 and e["kernel"]["system_call"] == "setns"
    )
    assert again["unmapped"]["joins_other_namespace"] is False


def test_mount_reports_source_target_type_flags_and_result(sensor: LiveSensor) -> None:
    target = "/mnt"
    pid = spawn(["unshare", "--mount", "mount", "-t", "tmpfs", "-o", "ro", "aurora-t", target])
    evs = sensor.wait_for(lambda e: e["class_uid"] == 1001 and e["activity_id"] == 12)
    (ev,) = [e for e in evs if e["unmapped"]["mount_source"] == "aurora-t"]
    assert ev["type_uid"] == 100112 and ev["status"] == "Success"
    assert ev["file"] == {"path": target, "name": "mnt", "type_id": 2}
    u = ev["unmapped"]
    assert u["mount_fstype"] == "tmpfs" and "MS_RDONLY" in u["mount_flags"]
    assert u["result"] == 0 and u["mnt_ns_is_host"] is False
    assert ev["actor"]["process"]["pid"] == pid
    # unshare made / private first: a propagation-only mount, filtered in the kernel.
    assert not [e for e in sensor.drain(0.3) if of(pid, 1001, 12)(e)]  # type: ignore[operator]


def test_failed_mount_is_reported_with_its_error(sensor: LiveSensor, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    code = (
        "import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
        f"libc.mount(b'none', b'{missing}', b'tmpfs', 0, None)"
    )
    pid = spawn(["unshare", "--mount", sys.executable, "-c", code])
    (ev,) = sensor.wait_for(of(pid, 1001, 12))
    assert ev["status"] == "Failure" and ev["status_code"] == "ENOENT"
    assert ev["unmapped"]["result"] == -2


def test_cgroup_v1_mount_and_release_agent_write(sensor: LiveSensor, tmp_path: Path) -> None:
    where = tmp_path / "cgrp"
    where.mkdir()
    script = (
        f"mount -t cgroup -o none,name=aurora-test cgroup {where} && "
        f"echo /bin/true > {where}/release_agent"
    )
    spawn(["unshare", "--mount", "sh", "-c", script])
    (mnt,) = sensor.wait_for(
        lambda e: (
            e["class_uid"] == 1001
            and e["activity_id"] == 12
            and e["unmapped"]["mount_fstype"] == "cgroup"
        )
    )
    assert mnt["unmapped"]["mount_target"] == str(where)
    (write,) = sensor.wait_for(
        lambda e: (
            e["class_uid"] == 1001
            and e["activity_id"] == 14
            and "cgroup_release_agent" in e["unmapped"]
        )
    )
    assert write["file"]["path"] == f"{where}/release_agent"
    assert write["file"]["name"] == "release_agent"
    assert write["unmapped"]["open_flags"] & 3 == os.O_WRONLY


def test_pivot_root_reports_the_new_root(sensor: LiveSensor, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    script = f"mount -t tmpfs t {root} && mkdir {root}/old && cd {root} && pivot_root . old"
    spawn(["unshare", "--mount", "sh", "-c", script])
    (ev,) = sensor.wait_for(
        lambda e: (
            e["class_uid"] == 1001
            and e["activity_id"] == 12
            and e["unmapped"]["syscall"] == "pivot_root"
        )
    )
    assert ev["file"]["path"] == "." and ev["unmapped"]["put_old"] == "old"
    assert ev["status"] == "Success"


def test_capset_reports_the_new_sets(sensor: LiveSensor) -> None:
    pid = spawn([sys.executable, "-c", A.CAPSET_RAISE, "21"])  # CAP_SYS_ADMIN
    evs = sensor.wait_for(lambda e: of(pid, 1007, 5)(e) and e["unmapped"]["syscall"] == "capset")
    (ev,) = evs
    u = ev["unmapped"]
    assert u["syscall"] == "capset" and u["uid"] == 65534 and u["euid"] == 65534
    assert u["cap_effective"] == ["cap_sys_admin"] and u["user_ns_is_host"] is True
    assert "cap_sys_admin" in u["cap_permitted"] and "cap_sys_module" in u["cap_permitted"]


def test_setfsuid_is_reported_only_when_it_changes(sensor: LiveSensor) -> None:
    pid = spawn([sys.executable, "-c", A.SETFSUID])
    evs = sensor.wait_for(of(pid, 1007, 5), count=2)
    assert [e["unmapped"]["syscall"] for e in evs] == ["setfsuid", "setfsuid"]
    assert [e["unmapped"]["fsuid"] for e in evs] == [65534, 0]
    # Asking for the fsuid already held changes nothing: no event.
    same = spawn([sys.executable, "-c", A.SETFSUID.replace("65534", "0")])
    sensor.wait_for(lambda e: e["class_uid"] == 1007 and e["process"]["pid"] == same)
    assert not [e for e in sensor.drain(0.3) if of(same, 1007, 5)(e)]  # type: ignore[operator]


def test_capset_inside_an_own_user_namespace_says_so(sensor: LiveSensor) -> None:
    # unshare -r as nobody: root of a new user namespace, every capability there and none here
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    # The system's Python: nobody may not reach the test's own interpreter (under /root).
    pid = spawn([*argv, "unshare", "-r", "/usr/bin/python3", "-c", A.CAPSET_KEEP])
    (ev,) = sensor.wait_for(
        lambda e: of(pid, 1007, 5)(e) and e["unmapped"].get("comm") == "python3"
    )
    u = ev["unmapped"]
    assert u["uid"] == 65534 and "cap_sys_admin" in u["cap_effective"]
    assert u["user_ns_is_host"] is False
    # setpriv set its sets in the host's namespace, under its own name, before it exec'd unshare.
    setpriv = [
        e
        for e in sensor.drain(0.3)
        if of(pid, 1007, 5)(e) and e["unmapped"].get("comm") == "setpriv"
    ]
    assert setpriv and all(e["unmapped"]["user_ns_is_host"] for e in setpriv)


def test_rename_of_the_main_thread_carries_old_and_new_names(sensor: LiveSensor) -> None:
    pid = spawn([sys.executable, "-c", A.RENAME, "kworker/0:1"])
    (ev,) = sensor.wait_for(of(pid, 1007, 99))
    assert ev["activity_name"] == "Rename" and ev["type_uid"] == 100799
    python = os.path.basename(sys.executable)[:15]
    assert ev["unmapped"] == {"syscall": "prctl", "old_name": python, "new_name": "kworker/0:1"}
    assert ev["process"]["name"] == "kworker/0:1"
    assert ev["actor"]["process"]["name"] == python
    # The second thread's rename was left out in the kernel.
    assert not [e for e in sensor.drain(0.3) if of(pid, 1007, 99)(e)]  # type: ignore[operator]


def test_memfd_create_reports_name_and_flags(sensor: LiveSensor) -> None:
    pid = spawn([sys.executable, "-c", A.MEMFD, "aurora-payload", str(os.MFD_CLOEXEC)])
    (ev,) = sensor.wait_for(of(pid, 1004, 1))
    assert ev["class_name"] == "Memory Activity" and ev["process"]["pid"] == pid
    assert ev["unmapped"] == {
        "syscall": "memfd_create",
        "memfd_name": "aurora-payload",
        "memfd_flags": "MFD_CLOEXEC",
        "memfd_executable": True,
    }


def test_io_uring_ring_and_its_first_opcodes(sensor: LiveSensor, tmp_path: Path) -> None:
    if not shutil.which("cc"):
        pytest.skip("no C compiler to build the io_uring probe")
    exe = A.build_io_uring_probe(tmp_path)
    pid = spawn([str(exe), "/etc/hostname"])
    setup, *ops = sensor.wait_for(of(pid, 1003), count=3)
    assert setup["activity_id"] == 1 and setup["kernel"]["system_call"] == "io_uring_setup"
    assert setup["unmapped"]["sq_entries"] == 4 and setup["unmapped"]["io_uring_fd"] >= 3
    assert sorted(e["kernel"]["name"] for e in ops) == ["NOP", "OPENAT"]
    assert all(e["activity_id"] == 4 and e["kernel"]["type"] == "io_uring_op" for e in ops)


def test_the_family_counts_its_drops(sensor: LiveSensor) -> None:
    assert sensor.sensor.drop_counts()["escape"] == 0
    caps = {c.name: c for c in sensor.sensor.capabilities()}
    assert caps["escape"].loaded


def test_a_missing_escape_object_is_a_capability_and_the_rest_runs(
    bpf_objects: Path, tmp_path: Path
) -> None:
    from aurora.sensor.linux import LinuxSensor

    objects = tmp_path / "objects"
    objects.mkdir()
    shutil.copy(bpf_objects / "process.bpf.o", objects)
    sensor = LinuxSensor(SensorConfig(linux_families=["process", "escape"]), objects)
    sensor.start()
    try:
        caps = {c.name: c for c in sensor.capabilities()}
        assert caps["process"].loaded
        assert not caps["escape"].loaded
        assert "escape.bpf.o is missing" in caps["escape"].reason
        assert set(sensor.drop_counts()) == {"process"}
    finally:
        sensor.stop()
