"""One sensor per state directory: a second `aurora sensor` on a directory in use refuses.

Two sensors on one directory would append to the same spool segments and rewrite the same state
file. The second one stops at start with one line naming the first, and the first carries on.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora.sensor.enrollment import enroll

from .helpers import CollectorProcess, free_port, wait_until
from .test_full_disk import start_sensor

pytestmark = pytest.mark.slow


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorProcess]:
    proc = CollectorProcess(tmp_path / "collector", free_port(), tmp_path / "collector.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def test_second_sensor_on_one_state_dir_refuses(
    tmp_path: Path, collector: CollectorProcess
) -> None:
    state_dir = tmp_path / "sensor"
    enroll(collector.endpoint, collector.token, collector.fingerprint, state_dir)
    (tmp_path / "control").write_text("0")
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    first = start_sensor(first_dir, state_dir, collector.endpoint, tmp_path / "control")
    try:
        log = first_dir / "sensor.log"
        wait_until(lambda: "connected to collector" in log.read_text(), 60, "the first sensor")
        second = start_sensor(second_dir, state_dir, collector.endpoint, tmp_path / "control")
        try:
            rc = second.wait(60)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait(10)
            raise AssertionError("the second sensor ran beside the first") from None
        err = (second_dir / "sensor.log").read_text()
        assert rc != 0, err
        assert "Traceback" not in err, err
        lines = [ln for ln in err.splitlines() if ln.startswith("aurora: ")]
        assert len(lines) == 1, err
        assert f"another sensor (pid {first.pid})" in lines[0] and str(state_dir) in lines[0]
        time.sleep(0.5)
        assert first.poll() is None, "the refusal disturbed the running sensor"
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(30) == 0
