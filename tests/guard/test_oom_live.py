"""An end by the kernel's OOM killer, provoked for real: the sensor runs in a memory cgroup made by
the test (cgroup v1 here), whose limit is lowered to the memory it cannot give back; the host's
work then makes it allocate and the kernel kills it. At its next start the sensor says, from the
kernel log, that its previous run was ended by the OOM killer, the collector raises the abnormal-
end tamper alert saying so, and nothing spooled or acknowledged before the kill is lost."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.agent.helpers import wait_until
from tests.guard.conftest import LiveSensor, wait_alert

from aurora.collector.store.base import EventQuery

pytestmark = [pytest.mark.root, pytest.mark.kernel]

MEMCG_V1 = Path("/sys/fs/cgroup/memory")
_MB = 1 << 20


@pytest.fixture
def memcg() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("a memory cgroup needs root")
    if not (MEMCG_V1 / "memory.limit_in_bytes").is_file():
        pytest.skip("no cgroup v1 memory controller at /sys/fs/cgroup/memory")
    group = MEMCG_V1 / f"aurora-oom-{uuid.uuid4().hex[:8]}"
    group.mkdir()
    try:
        yield group
    finally:
        # Anything left in it (a sensor that survived a failed test) goes first.
        for pid in (group / "cgroup.procs").read_text().split():
            os.kill(int(pid), signal.SIGKILL)
        wait_until(lambda: not (group / "cgroup.procs").read_text().strip(), 10, "empty cgroup")
        group.rmdir()


def squeeze(group: Path) -> int:
    """Lower the group's limit step by step to the lowest the kernel accepts: it reclaims what it
    can (page cache) and refuses (EBUSY) a limit under the memory it cannot (anonymous pages, no
    swap here). Returns that limit."""
    limit = min(
        int((group / "memory.usage_in_bytes").read_text()),
        int((group / "memory.limit_in_bytes").read_text()),
    )
    step = 4 * _MB
    while step >= 256 * 1024 and limit > 2 * step:  # (an emptied group: nothing to squeeze)
        try:
            (group / "memory.limit_in_bytes").write_text(str(limit - step))
            limit -= step
        except OSError as exc:
            assert exc.errno == errno.EBUSY, exc
            step //= 2
    return limit


def busy_host(watched: Path, n: int) -> None:
    """Work the sensor must report and enrich (execs with long command lines, file writes in its
    watched path): what it holds while it does so is what the squeezed limit no longer allows."""
    for i in range(n):
        subprocess.run(["/bin/true", uuid.uuid4().hex * 100], check=True)
        (watched / f"load-{i}").write_bytes(b"x")


def test_oom_kill_is_reported_at_the_next_start_and_nothing_is_lost(
    live_sensor: LiveSensor, memcg: Path, tmp_path: Path
) -> None:
    sensor = live_sensor.start(cgroup_procs=memcg / "cgroup.procs")
    assert str(sensor.pid) in (memcg / "cgroup.procs").read_text().split()
    store = sensor.collector.store
    assert store is not None
    # A marker the sensor reports just before the kill: an exec of a uniquely named binary.
    marker = tmp_path / f"oom{uuid.uuid4().hex[:8]}"  # under 16: the kernel's comm
    shutil.copy("/bin/true", marker)
    subprocess.run([str(marker)], check=True)

    def marker_stored() -> bool:
        query = EventQuery(sensor_ids=[sensor.sensor_id], process_name=marker.name)
        return bool(store.search_events(query))

    def marker_spooled() -> bool:
        # An event still in the kernel's ring when the sensor dies is lost with it; what the
        # sensor promises is that one it has spooled is not. So the squeeze waits for the spool
        # (segments are plain JSON; an acknowledged one may already be gone, hence the store).
        segments = [p for p in (sensor.state_dir / "spool").rglob("*") if p.is_file()]
        return any(marker.name.encode() in p.read_bytes() for p in segments) or marker_stored()

    wait_until(marker_spooled, 30, "the marker exec in the sensor's spool")

    assert sensor.proc is not None
    # Squeezed again after each round of work: what the kernel could reclaim a moment ago (the
    # page cache of the interpreter's own files) may be back, and goes again.
    deadline = time.monotonic() + 120
    limit = 0
    while sensor.proc.poll() is None:
        assert time.monotonic() < deadline, f"the sensor survived at a {limit} byte limit"
        limit = squeeze(memcg)
        busy_host(sensor.watched, 40)
        with contextlib.suppress(subprocess.TimeoutExpired):
            sensor.proc.wait(0.2)
    assert sensor.proc.returncode == -signal.SIGKILL
    assert int((memcg / "memory.failcnt").read_text()) > 0
    oom_control = (memcg / "memory.oom_control").read_text()
    # At least the sensor (a canary child it had just forked may have gone first).
    kills = dict(line.split() for line in oom_control.splitlines())
    assert int(kills["oom_kill"]) >= 1, oom_control

    sensor.start()  # again, outside the cgroup
    ended = wait_alert(sensor, "Previous Run Ended Abnormally", 30)
    message = str(ended.finding["evidences"][0]["data"]["message"])
    assert "OOM killer" in message and f"pid {sensor.proc.pid}" not in message
    assert ended.severity_id == 4  # high: an OOM end is not always an attack
    report = next(c for c in sensor.host().capabilities if c.get("name") == "hook_health")
    assert "OOM killer" in report["previous_run"]

    # Nothing spooled before the kill is lost: the marker is stored and no sequence is missing.
    wait_until(marker_stored, 30, "the marker exec, sent before the OOM kill")
    assert store.gaps(sensor.sensor_id) == []
