"""The escape family's rules fire on telemetry the real sensor produced from a real action, and stay
quiet on a close benign look-alike: the pattern of test_linux_pack_live (same Capture, same
process-tree attribution), for the rules over namespaces, mounts, release_agent, capabilities,
set-user-id, renames and memfd.

Every action is harmless: mounts happen inside a new mount namespace that dies with the action, the
release_agent written is /bin/true on a throw-away named cgroup v1 hierarchy (notify_on_release
stays off), and the processes that gain root or capabilities are the test's own Python.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest
from tests.integration.test_linux_pack_live import (
    Capture,
    Case,
    Event,
    LookAlike,
    capture,  # noqa: F401 - the pack's sensor
    py,
)
from tests.sensor import escape_actions as A

pytestmark = [pytest.mark.root, pytest.mark.kernel]

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _sh(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


def _in_mount_ns(script: str) -> list[str]:
    return ["unshare", "--mount", "/bin/sh", "-c", script]


def _cgroup_v1(c: Capture, then: str) -> list[str]:
    where = c.tmp / "cgrp"
    return _in_mount_ns(
        f"mkdir -p {where} && mount -t cgroup -o none,name=aurora-live cgroup {where} && {then}"
    )


def _host_mnt_ns() -> str:
    # PID 1 may refuse inspection (a hardened init); this process runs in the host's namespaces.
    return f"/proc/{os.getpid()}/ns/mnt"


# A namespace of a "container" (a process in a new mount namespace) joined, not the host's.
JOIN_CONTAINER_NS = """
import subprocess
box = subprocess.Popen(["unshare", "--mount", "sh", "-c", "echo ready; exec sleep 30"],
                       stdout=subprocess.PIPE, text=True)
try:
    assert box.stdout.readline() == "ready\\n"
    subprocess.run(["nsenter", f"--mount=/proc/{box.pid}/ns/mnt", "true"], check=True)
finally:
    box.kill()
    box.wait()
"""


def _mount_of(fstype: str) -> Callable[[Event], bool]:
    return lambda ev: (
        ev.get("class_uid") == 1001
        and ev.get("activity_id") == 12
        and ev["unmapped"].get("mount_fstype") == fstype
    )


def _of(class_uid: int, activity_id: int, syscall: str) -> Callable[[Event], bool]:
    return lambda ev: (
        ev.get("class_uid") == class_uid
        and ev.get("activity_id") == activity_id
        and ev.get("unmapped", {}).get("syscall") == syscall
    )


ESCAPE_CASES = [
    Case(
        "mount_lnx_aurora_container_escape_mount",
        lambda c, f: _cgroup_v1(c, "true"),
        lambda ev: ev["unmapped"]["mount_fstype"] == "cgroup",
    ),
    Case(
        "mount_lnx_aurora_container_escape_mount",
        lambda c, f: _in_mount_ns(f"mkdir -p {c.tmp}/host && mount --bind / {c.tmp}/host"),
        lambda ev: ev["unmapped"]["mount_source"] == "/",
    ),
    Case(
        "file_event_lnx_aurora_cgroup_release_agent",
        lambda c, f: _cgroup_v1(c, f"echo /bin/true > {c.tmp}/cgrp/release_agent"),
        lambda ev: ev["file"]["path"].endswith("/cgrp/release_agent"),
    ),
    Case(
        "namespace_change_lnx_aurora_join_host_namespace",
        lambda c, f: ["unshare", "--mount", "nsenter", f"--mount={_host_mnt_ns()}", "true"],
        lambda ev: ev["unmapped"]["target_is_host_namespace"] is True,
    ),
    Case(
        "mount_lnx_aurora_userns_mount",
        lambda c, f: [*NOBODY, "unshare", "-r", "-m", "mount", "-t", "tmpfs", "none", "/mnt"],
        lambda ev: ev["unmapped"]["uid"] == 65534,
    ),
    Case(
        "process_rename_lnx_aurora_masquerade",
        lambda c, f: [*py(A.RENAME), "kworker/0:1"],
        lambda ev: ev["unmapped"]["new_name"] == "kworker/0:1",
    ),
    Case(
        "memfd_create_lnx_aurora_interpreter_memfd",
        lambda c, f: [*py(A.MEMFD), "aurora-live", "0"],
        lambda ev: ev["unmapped"]["memfd_name"] == "aurora-live",
    ),
    Case(
        "credential_change_lnx_aurora_setuid_root",
        lambda c, f: py(A.SETUID_TO_ROOT),
        lambda ev: ev["unmapped"]["syscall"] == "setuid" and ev["unmapped"]["uid"] == 0,
    ),
    Case(
        "credential_change_lnx_aurora_capset_dangerous",
        lambda c, f: [*py(A.CAPSET_RAISE), "21"],  # CAP_SYS_ADMIN
        lambda ev: ev["unmapped"]["cap_effective"] == ["cap_sys_admin"],
    ),
]

ESCAPE_LOOK_ALIKES = [
    LookAlike(
        "mount_lnx_aurora_container_escape_mount",
        # what a runtime does: a tmpfs and an ordinary directory bound into a new namespace
        lambda c, f: _in_mount_ns(
            f"mkdir -p {c.tmp}/a {c.tmp}/b && mount -t tmpfs none {c.tmp}/a && "
            f"mount --bind {c.tmp}/a {c.tmp}/b"
        ),
        lambda ev: _mount_of("none")(ev) and ev["unmapped"]["mount_source"].endswith("/a"),
    ),
    LookAlike(
        "file_event_lnx_aurora_cgroup_release_agent",
        lambda c, f: _cgroup_v1(c, f"echo 0 > {c.tmp}/cgrp/notify_on_release"),
        _mount_of("cgroup"),
    ),
    LookAlike(
        "namespace_change_lnx_aurora_join_host_namespace",
        lambda c, f: py(JOIN_CONTAINER_NS),
        lambda ev: ev.get("class_uid") == 1003 and ev["kernel"]["system_call"] == "setns",
    ),
    LookAlike(
        "mount_lnx_aurora_userns_mount",
        # root building a container's mounts, as a runtime does
        lambda c, f: ["unshare", "-m", "mount", "-t", "tmpfs", "none", "/mnt"],
        _mount_of("tmpfs"),
    ),
    LookAlike(
        "process_rename_lnx_aurora_masquerade",
        lambda c, f: [*py(A.RENAME), "aurora-worker"],
        lambda ev: ev.get("class_uid") == 1007 and ev.get("activity_id") == 99,
    ),
    LookAlike(
        "memfd_create_lnx_aurora_interpreter_memfd",
        # sealed non-executable: a data buffer, never a program
        lambda c, f: [*py(A.MEMFD), "aurora-live", str(os.MFD_CLOEXEC | 8)],
        lambda ev: ev.get("class_uid") == 1004,
    ),
    LookAlike(
        "credential_change_lnx_aurora_setuid_root",
        # root dropping to nobody, as every daemon does
        lambda c, f: [*NOBODY, "true"],
        lambda ev: ev.get("class_uid") == 1007 and ev.get("activity_id") == 5,
    ),
    LookAlike(
        "credential_change_lnx_aurora_capset_dangerous",
        lambda c, f: [*py(A.CAPSET_RAISE), "10"],  # CAP_NET_BIND_SERVICE, as a web server
        _of(1007, 5, "capset"),
    ),
]


def _case_id(case: Case) -> str:
    n = sum(1 for c in ESCAPE_CASES[: ESCAPE_CASES.index(case)] if c.rule == case.rule)
    return case.rule.replace("_lnx_aurora_", ":") + (f"-{n + 1}" if n else "")


@pytest.mark.parametrize(
    "case", ESCAPE_LOOK_ALIKES, ids=lambda c: c.rule.replace("_lnx_aurora_", ":")
)
def test_rule_stays_quiet_on_its_benign_look_alike(capture: Capture, case: LookAlike) -> None:  # noqa: F811
    capture.quiet(case.rule, case.action(capture, {}), case.seen)


@pytest.mark.parametrize("case", ESCAPE_CASES, ids=_case_id)
def test_rule_fires_on_its_real_action(capture: Capture, case: Case) -> None:  # noqa: F811
    capture.trigger(case.rule, case.action(capture, {}), case.check)


def test_the_cgroup_hierarchy_of_the_actions_is_gone() -> None:
    """The named cgroup v1 hierarchy the actions mounted lived only in their namespaces."""
    mounts = subprocess.run(["findmnt", "-t", "cgroup", "-n"], capture_output=True, text=True)
    assert "aurora-live" not in mounts.stdout
