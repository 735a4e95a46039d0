"""The guard's first full check, which an update's confirmation waits on, with the real LinuxSensor:
not passed before the canaries went out and came back, passed within seconds once they did (the
guard checks early), and only for the hook families this sensor really has healthy."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from aurora.config.sensor import SensorConfig
from aurora.sensor.guard import Guard
from aurora.sensor.linux.sensor import LinuxSensor

pytestmark = [pytest.mark.root, pytest.mark.kernel]


def test_first_full_check_needs_the_canaries_back_and_names_the_healthy_families(
    tmp_path: Path,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("the eBPF sensor needs root")
    watched = tmp_path / "watched"
    watched.mkdir()
    config = SensorConfig(
        linux_families=["process", "file"],
        watch_paths=[str(watched)],
        watch_exec_paths=[],
        health_interval_s=60.0,  # no second check by the clock: only the early one can pass
        canary_timeout_s=5.0,
    )
    sensor = LinuxSensor(config)
    sensor.start()
    guard = Guard(config, tmp_path / "state", sensor)
    try:
        guard.start()
        guard.tick()  # the first check: every hook ok, canaries only now sent
        assert guard.checks == 1 and not guard.passed_full_check()
        assert guard.hook_families() == ["file", "process"]
        started = time.monotonic()
        while not guard.passed_full_check() and time.monotonic() - started < 10:
            guard.consume(sensor.poll(100))
            guard.tick()
        took = time.monotonic() - started
        assert guard.passed_full_check(), guard.report()
        assert guard.checks == 2 and took < 5, (guard.checks, took)
        assert guard.passed_full_check(["process", "file"])
        assert not guard.passed_full_check(["process", "network"])  # not loaded here
    finally:
        guard.stop(clean=True)
        sensor.stop()
