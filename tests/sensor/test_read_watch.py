"""Reads of sensitive files on the real kernel: read-only opens of read-watched paths become OCSF
File System Activity (Read), filtered and de-duplicated in the kernel; writes, directories,
O_PATH handles and unwatched files do not; symlinks are reported by the file really opened."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError
from tests.sensor.conftest import Event, LiveSensor

from aurora.config.sensor import DEFAULT_WATCH_READ_PATHS, SensorConfig
from aurora.sensor.linux.libbpf import BpfError
from aurora.sensor.linux.watch import build_read_rules, read_anchor

pytestmark = [pytest.mark.root, pytest.mark.kernel]
ME = os.getpid()


def _is_read(path: Path | str, pid: int | None = None) -> Callable[[Event], bool]:
    """Read events of ``path`` (by ``pid`` when given)."""

    def match(ev: Event) -> bool:
        return (
            ev["class_uid"] == 1001
            and ev["activity_id"] == 2
            and ev["file"]["path"] == str(path)
            and (pid is None or ev["actor"]["process"]["pid"] == pid)
        )

    return match


@pytest.fixture
def secret(sensor: LiveSensor) -> Path:
    d = sensor.watched / "reads"
    d.mkdir(exist_ok=True)
    f = d / f"secret-{os.urandom(3).hex()}"
    f.write_text("hunter2\n")
    return f


def test_shadow_read_is_reported_once_per_process_image(sensor: LiveSensor) -> None:
    for _ in range(200):
        with open("/etc/shadow", "rb") as fh:
            fh.read(1)
    (ev,) = sensor.wait_for(_is_read("/etc/shadow", ME))
    assert ev["type_uid"] == 100102
    assert ev["file"]["name"] == "shadow"
    assert ev["unmapped"]["file_op"] == "open_read"
    assert ev["unmapped"]["open_flags"] & os.O_ACCMODE == os.O_RDONLY
    assert ev["actor"]["process"]["pid"] == ME
    # 199 more reads of the same file by the same process image stay in the kernel
    assert not [e for e in sensor.drain(0.5) if _is_read("/etc/shadow", ME)(e)]
    # another process reading it is reported on its own
    cat = subprocess.run(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL, check=True)
    del cat
    (other,) = sensor.wait_for(
        lambda e: _is_read("/etc/shadow")(e) and e["actor"]["process"]["name"] == "cat"
    )
    assert other["actor"]["process"]["file"]["path"].endswith("/cat")


def test_a_new_program_in_the_same_process_is_reported_again(
    sensor: LiveSensor, secret: Path
) -> None:
    """The de-duplication key holds the exec count: python reads, then execs cat in its own pid,
    and cat's read is a second event from the same pid."""
    code = "import os, sys; open(sys.argv[1]).read(); os.execv('/bin/cat', ['cat', sys.argv[1]])"
    proc = subprocess.Popen([sys.executable, "-c", code, str(secret)], stdout=subprocess.DEVNULL)
    assert proc.wait(timeout=30) == 0
    evs = sensor.wait_for(_is_read(secret, proc.pid), count=2)
    assert len(evs) == 2
    assert evs[1]["actor"]["process"]["file"]["path"].endswith("/cat")


def test_writes_directories_and_o_path_are_not_reads(sensor: LiveSensor, secret: Path) -> None:
    os.close(os.open(secret, os.O_WRONLY | os.O_APPEND))
    os.close(os.open(secret, os.O_RDWR))
    os.close(os.open(secret.parent, os.O_RDONLY | os.O_DIRECTORY))
    os.close(os.open(secret, os.O_PATH))
    unwatched = sensor.watched / "elsewhere.txt"
    unwatched.write_text("x")
    unwatched.read_text()
    evs = sensor.drain(0.6)
    assert not [
        e
        for e in evs
        if e["class_uid"] == 1001
        and e["activity_id"] == 2
        and e["file"]["path"] in (str(secret), str(secret.parent), str(unwatched))
    ]
    # proof the sensor was listening: the plain read that follows is reported
    secret.read_text()
    sensor.wait_for(_is_read(secret, ME))


def test_per_user_pattern_and_symlink(sensor: LiveSensor, tmp_path: Path) -> None:
    ssh = sensor.watched / "mallory" / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    key, other = ssh / "id_ed25519", ssh / "known_hosts"
    key.write_text("PRIVATE\n")
    other.write_text("host ssh-ed25519 AAAA\n")
    link = tmp_path / "innocent-looking"
    link.symlink_to(key)
    other.read_text()  # in .ssh, but not id_*: not on this test's read list
    link.read_text()
    evs = sensor.wait_for(_is_read(key, ME))
    assert evs[0]["file"]["path"] == str(key)  # the file opened, not the link's name
    later = sensor.drain(0.3)
    assert not [e for e in later if _is_read(link)(e) or _is_read(other)(e)]


def test_read_rules_are_validated() -> None:
    assert [r.pattern for r in build_read_rules(["/etc/shadow", "/home/*/.ssh/"])] == [
        b"/etc/shadow",
        b"/home/*/.ssh",
    ]
    assert len(DEFAULT_WATCH_READ_PATHS) <= 32
    # the component every matching path holds, which the kernel looks for first
    assert read_anchor("/home/*/.mozilla/firefox/*/logins.json") == b"logins.json"
    assert read_anchor("/root/.ssh/id_*") == b".ssh"
    assert {read_anchor(p) for p in DEFAULT_WATCH_READ_PATHS} >= {b"shadow", b".ssh", b"keyrings"}
    with pytest.raises(BpfError, match="needs a component without"):
        read_anchor("/*/*")
    with pytest.raises(ValidationError, match="needs a component without"):
        SensorConfig(watch_read_paths=["/*/*"])
    with pytest.raises(ValidationError, match="needs a component without"):
        SensorConfig(watch_read_paths=["/srv/" + "x" * 40])
    with pytest.raises(ValidationError, match="must end one"):
        SensorConfig(watch_read_paths=["/home/*.json"])
    with pytest.raises(ValidationError, match="absolute path"):
        SensorConfig(watch_read_paths=["etc/shadow"])
    with pytest.raises(ValidationError, match="at most 32"):
        SensorConfig(watch_read_paths=[f"/srv/{i}" for i in range(33)])


def test_read_drops_are_counted_apart(sensor: LiveSensor) -> None:
    drops = sensor.sensor.drop_counts()
    assert {"file", "file_read", "dns", "dns_tcp", "dns_answer"} <= set(drops)
    assert drops["file_read"] == 0


ACCOUNT_AND_SHELL_FILES = [
    "/etc/passwd",
    "/etc/group",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/profile",
    "/etc/bash.bashrc",
    "/root/.bashrc",
    "/root/.profile",
    "/root/.bash_profile",
    f"/etc/profile.d/aurora-test-{os.getpid()}.sh",
]


def test_default_write_watch_covers_account_databases_and_shell_files(
    sensor: LiveSensor,
) -> None:
    """Each file is opened for appending and closed unchanged (a missing one is created empty
    and removed at once): the default watch list reports every one of them."""
    for path in ACCOUNT_AND_SHELL_FILES:
        existed = os.path.exists(path)
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
        if not existed:
            os.unlink(path)
    for path in ACCOUNT_AND_SHELL_FILES:
        sensor.wait_for(
            lambda e, p=path: (
                e["class_uid"] == 1001
                and e["activity_id"] in (1, 14)
                and e["file"]["path"] == p
                and e["actor"]["process"]["pid"] == ME
            )
        )


def test_a_directory_renamed_under_a_watched_path_is_seen_at_once(sensor: LiveSensor) -> None:
    """The kernel remembers directories that hold nothing watched; a rename retires that memory,
    so a directory read from, then moved under a watched path, is reported on the next read."""
    staging = sensor.watched / f"staging-{os.urandom(3).hex()}"
    staging.mkdir()
    loot = staging / "loot.txt"
    loot.write_text("x")
    for _ in range(3):
        loot.read_text()  # its directory is now known to hold nothing watched
    (sensor.watched / "reads").mkdir(exist_ok=True)
    moved = sensor.watched / "reads" / staging.name
    staging.rename(moved)
    (moved / "loot.txt").read_text()
    sensor.wait_for(_is_read(moved / "loot.txt", ME))
    assert not [e for e in sensor.drain(0.2) if _is_read(loot)(e)]
