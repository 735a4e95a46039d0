"""An update confirms only on the guard's first full check, with the real eBPF sensor run by the
real launcher: a good release is confirmed within seconds; a release that starts, connects and
loads its BPF objects but lacks one family's object (so that family's hooks are not there) is
rolled back at the bound, although "connected and a capability loaded" would have passed it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.helpers import wait_until
from aurora import __version__

from .fleet import Fleet
from .packages import build_wheel, later, signed_package

pytestmark = [pytest.mark.slow, pytest.mark.root, pytest.mark.kernel]

BOUND_S = 30  # the confirmation bound given to the broken release
MISSING = "network.bpf.o"
SENSOR = (
    'linux_families = ["process", "file", "network"]\n'
    "health_interval_s = 5.0\ncanary_timeout_s = 2.0\n"
)


@pytest.fixture
def fleet(tmp_path: Path, release_key: Path) -> Iterator[Fleet]:
    if os.geteuid() != 0:
        pytest.skip("the eBPF sensor needs root")
    f = Fleet(tmp_path, release_key)
    try:
        yield f
    finally:
        f.stop()


def _hook_health(fleet: Fleet) -> dict[str, object]:
    host = fleet.store.get_host(fleet.sensor_id)
    caps = host.capabilities if host else []
    return next((c for c in caps if c.get("name") == "hook_health"), {})


def _loaded(fleet: Fleet, name: str) -> bool | None:
    """The capability's state in the last heartbeat (None: not reported)."""
    host = fleet.store.get_host(fleet.sensor_id)
    caps = host.capabilities if host else []
    return next((bool(c.get("loaded")) for c in caps if c.get("name") == name), None)


def test_confirmation_waits_for_the_guards_full_check(
    fleet: Fleet, tmp_path: Path, work: Path, release_key: Path, good_wheel: Path
) -> None:
    (tmp_path / "watched").mkdir()
    watched = f'watch_paths = ["{tmp_path / "watched"}"]\nwatch_exec_paths = []\n'
    fleet.start_sensor(0, ebpf=SENSOR + watched)
    wait_until(
        lambda: fleet.connected() and _hook_health(fleet).get("loaded") is True,
        90,
        f"the base sensor's hooks healthy; log:\n{fleet.tail()}",
    )
    assert fleet.host_version() == __version__

    # A good release: confirmed once its own guard's first full check passed.
    started = time.monotonic()
    good = fleet.roll_out(signed_package(good_wheel, release_key, tmp_path / "good.pkg"))
    cmd = fleet.outcome(good, timeout=120)
    took_good = time.monotonic() - started
    assert (cmd.state, cmd.error_code) == ("succeeded", ""), cmd
    assert cmd.result["version"] == later(1)
    wait_until(lambda: fleet.host_version() == later(1), 30, "Hello from the new version")
    print(f"good release staged -> confirmed: {took_good:.1f} s (sensor says {cmd.result})")

    # A release without one family's BPF object: it starts, connects and loads the others.
    broken = build_wheel(later(4), work, drop_objects=(MISSING,))
    package = signed_package(broken, release_key, tmp_path / "broken.pkg", drop_objects=(MISSING,))
    started = time.monotonic()
    rollout = fleet.roll_out(package, confirm_within_s=BOUND_S)
    # While on trial it is connected with capabilities loaded: the old rule would confirm it.
    # (Its own heartbeat: the previous version's capabilities stay until it comes.)
    wait_until(
        lambda: (
            fleet.host_version() == later(4)
            and _loaded(fleet, "process") is True
            and _loaded(fleet, "network") is False
        ),
        BOUND_S,
        f"the broken release to connect and report its capabilities; log:\n{fleet.tail()}",
    )
    cmd = fleet.outcome(rollout, timeout=BOUND_S + 60)
    took_bad = time.monotonic() - started
    assert (cmd.state, cmd.error_code) == ("failed", "rolled_back"), cmd
    assert f"{later(4)} did not reconnect and report healthy within {BOUND_S}s" in cmd.message
    assert "network" in cmd.message, cmd.message
    assert BOUND_S <= took_bad < BOUND_S + 30, took_bad
    assert fleet.releases.current_version() == later(1)
    wait_until(lambda: fleet.host_version() == later(1) and fleet.connected(), 60, "good back")
    print(f"broken release staged -> rolled back: {took_bad:.1f} s (bound {BOUND_S} s)")
