"""A sensor program replaced by a look-alike, end to end, as a root attacker would do it: close the
sensor's link inside the running sensor with gdb, then attach a program of the same name (loaded
from a copy of the sensor's own object, from outside) at the same hook. The guard finds the
look-alike by name among the host's links and the collector raises a critical tamper alert naming
the hook as replaced, within one health interval of the attach."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from tests.agent.helpers import REPO, wait_until
from tests.guard.conftest import HEALTH_INTERVAL_S, LiveSensor, wait_alert
from tests.guard.test_tamper_live import ALERT_BOUND_S, _evidence, _link_fds, _prog_name

from aurora.sensor.linux.sensor import OBJECTS_DIR

pytestmark = [pytest.mark.root, pytest.mark.kernel]

TARGET = "handle_exec"  # process family: the one an attacker would blind first


def _replaced_alerts(sensor: LiveSensor) -> list[str]:
    return [
        str(_evidence(a)["message"])
        for a in sensor.alerts("Hook Detached, Replaced")
        if "replaced" in str(_evidence(a)["message"])
    ]


@contextlib.contextmanager
def look_alike(
    sensor: LiveSensor, programs: str, *, close_link: int | None = None
) -> Iterator[None]:
    """A root attacker outside the sensor loads ``programs`` ("*" for all) from a copy of the
    process family's object; with ``close_link`` it first closes that link descriptor inside
    the running sensor with gdb; then it attaches them, and keeps them attached until the block
    ends (closing its stdin makes it drop its links and exit)."""
    attacker = subprocess.Popen(
        [sys.executable, "-m", "tests.guard.drivers.lookalike", str(OBJECTS_DIR / "process.bpf.o"),
         programs],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )  # fmt: skip
    try:
        assert attacker.stdout is not None and attacker.stdin is not None
        assert attacker.stdout.readline().strip() == "loaded"
        if close_link is not None:
            gdb = subprocess.run(
                ["gdb", "-p", str(sensor.pid), "-batch", "-nx", "-ex",
                 f"call (int)close({close_link})"],
                capture_output=True,
                text=True,
                timeout=120,
            )  # fmt: skip
            assert gdb.returncode == 0, gdb.stderr[-2000:]
        attacker.stdin.write("attach\n")
        attacker.stdin.flush()
        assert attacker.stdout.readline().strip() == "attached"
        yield
    finally:
        for pipe in (attacker.stdin, attacker.stdout):
            if pipe is not None:
                pipe.close()
        attacker.wait(30)


def test_a_program_replaced_by_a_look_alike_is_reported_replaced(
    live_sensor: LiveSensor,
) -> None:
    sensor = live_sensor.start()
    fds = [fd for fd, prog in _link_fds(sensor.pid).items() if _prog_name(prog) == TARGET]
    assert len(fds) == 1, _link_fds(sensor.pid)
    with look_alike(sensor, TARGET, close_link=fds[0]):
        attached = time.monotonic()
        wait_until(lambda: bool(_replaced_alerts(sensor)), ALERT_BOUND_S, "a 'replaced' alert")
        took = time.monotonic() - attached
        message = _replaced_alerts(sensor)[0]
        assert f"process/{TARGET}: replaced" in message
        assert "look-alike 'handle_exec'" in message
        alert = next(a for a in sensor.alerts("Hook Detached, Replaced") if "replaced" in
                     str(_evidence(a)["message"]))  # fmt: skip
        assert alert.severity_id == 5
        assert "T1562" in json.dumps(alert.finding["attacks"])
        assert took <= HEALTH_INTERVAL_S + ALERT_BOUND_S
        print(f"look-alike attached -> 'replaced' alert stored: {took:.2f} s")

        # The heartbeat says so too.
        def replaced_in_heartbeat() -> bool:
            host = sensor.host()
            report = next((c for c in host.capabilities if c.get("name") == "hook_health"), {})
            return any(
                h["name"] == f"process/{TARGET}" and h["state"] == "replaced"
                for h in report.get("hooks", [])
            )

        wait_until(replaced_in_heartbeat, ALERT_BOUND_S, "replaced in the heartbeat")


def test_a_same_named_program_elsewhere_is_not_a_replacement(live_sensor: LiveSensor) -> None:
    """The look-alike loaded and attached while the sensor's own link is intact (another tool
    running the same program next to the sensor): nothing is replaced."""
    sensor = live_sensor.start()
    with look_alike(sensor, TARGET):
        checks_after = _checked_at(sensor) + 2 * int(HEALTH_INTERVAL_S * 1000)
        wait_until(lambda: _checked_at(sensor) > checks_after, 30, "two more guard checks")
        assert not sensor.alerts("Hook Detached, Replaced")


def _checked_at(sensor: LiveSensor) -> int:
    host = sensor.host()
    report = next((c for c in host.capabilities if c.get("name") == "hook_health"), {})
    return int(report.get("checked_ms", 0))


def test_a_whole_second_copy_attached_after_the_link_went_is_detached_not_replaced(
    live_sensor: LiveSensor,
) -> None:
    """Every program of the object attached again (what a second sensor instance starting does):
    the sensor's hook is reported detached, and not taken for a look-alike in its place."""
    sensor = live_sensor.start()
    fds = [fd for fd, prog in _link_fds(sensor.pid).items() if _prog_name(prog) == TARGET]
    with look_alike(sensor, "*", close_link=fds[0]):
        alert = wait_alert(sensor, "Hook Detached, Replaced", ALERT_BOUND_S)
        assert f"process/{TARGET}: detached" in str(_evidence(alert)["message"])
        checks_after = _checked_at(sensor) + 2 * int(HEALTH_INTERVAL_S * 1000)
        wait_until(lambda: _checked_at(sensor) > checks_after, 30, "two more guard checks")
        assert not _replaced_alerts(sensor)
