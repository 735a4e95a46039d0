"""The collector's silence findings against a real sensor process: stopped while its stream stays
open, killed without a Goodbye, and stopped cleanly (no finding)."""

from __future__ import annotations

import os
import signal

import pytest
from tests.agent.helpers import wait_until
from tests.guard.conftest import LiveSensor, wait_alert

pytestmark = [pytest.mark.root, pytest.mark.kernel]

# heartbeat 0.5 s x [collector] sensor_silence_heartbeats 3 = 1.5 s, raised to the default
# sensor_silence_min_s of 5 s, plus the 0.5 s scan.
SILENCE_S = 5.0
SILENCE_BOUND_S = SILENCE_S + 0.5


def test_sigstop_past_the_bound_is_silent_and_sigcont_is_recorded_back(
    live_sensor: LiveSensor,
) -> None:
    sensor = live_sensor.start()
    os.kill(sensor.pid, signal.SIGSTOP)
    try:
        silent = wait_alert(sensor, "Aurora Sensor Silent", SILENCE_BOUND_S + 5)
        tamper = silent.finding["evidences"][0]["data"]["unmapped"]["tamper"]
        assert tamper["quiet_s"] >= SILENCE_S  # not before the bound (from the last heartbeat)
        assert silent.severity_id == 5
        assert "stream still open" in silent.finding["message"] or "stream still open" in str(
            silent.finding["evidences"]
        )
        assert "T1562" in str(silent.finding["attacks"])
        assert not sensor.alerts("Back After Silence")
    finally:
        os.kill(sensor.pid, signal.SIGCONT)
    back = wait_alert(sensor, "Back After Silence", 10)
    tamper = back.finding["evidences"][0]["data"]["unmapped"]["tamper"]
    assert tamper["silent_s"] >= SILENCE_S
    assert "stream still open" in tamper["was"]
    # The SIGSTOP itself was seen by the kernel and is an alert of its own, naming the sender.
    stop = wait_alert(sensor, "Signal Sent", 10)
    assert stop.finding["evidences"][0]["data"]["unmapped"]["tamper"]["signal"] == "SIGSTOP"


def test_a_stream_ended_without_goodbye_is_silent_and_its_return_recorded(
    live_sensor: LiveSensor,
) -> None:
    sensor = live_sensor.start()
    assert sensor.proc is not None
    sensor.proc.kill()
    sensor.proc.wait(10)
    silent = wait_alert(sensor, "Aurora Sensor Silent", SILENCE_BOUND_S + 5)
    assert "without Goodbye" in str(silent.finding["evidences"])
    sensor.start()
    back = wait_alert(sensor, "Back After Silence", 30)
    assert "without Goodbye" in back.finding["evidences"][0]["data"]["unmapped"]["tamper"]["was"]


def test_a_clean_stop_says_goodbye_and_raises_nothing(live_sensor: LiveSensor) -> None:
    sensor = live_sensor.start()
    stream = sensor.collector.stream
    assert stream is not None and stream.tamper is not None
    monitor = stream.tamper
    assert monitor.watching(sensor.sensor_id)
    sensor.stop()
    wait_until(lambda: not sensor.host().connected, 10, "the stream to end")
    # The monitor forgets a sensor only on its Goodbye: a stream cut without one stays watched.
    assert not monitor.watching(sensor.sensor_id)
    monitor.scan()
    assert not sensor.alerts("Aurora Sensor Silent")
