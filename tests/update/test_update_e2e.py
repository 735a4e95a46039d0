"""Signed self-update end to end: real collector (gRPC over mTLS, SQLite), the real launcher and
sensor processes, real wheels of this project. One host goes through a good update, five refused
packages, and a release that crashes at start and is rolled back, while it keeps producing
events; at the end every event it produced is stored exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.helpers import wait_until
from agent.test_delivery import stored_numbers
from aurora import __version__
from aurora.sensor.identity import load_identity
from aurora.wire.release.keys import load_private, make_rotation, parse_public

from .fleet import Fleet
from .packages import (
    build_wheel,
    flip_byte,
    later,
    new_key,
    signed_package,
    truncate,
    wheel_member,
)

pytestmark = pytest.mark.slow

CRASH_BOUND_S = 60


@pytest.fixture
def fleet(tmp_path: Path, release_key: Path) -> Iterator[Fleet]:
    f = Fleet(tmp_path, release_key)
    try:
        yield f
    finally:
        f.stop()


def test_update_refusals_and_rollback_keep_every_event(
    fleet: Fleet,
    tmp_path: Path,
    work: Path,
    release_key: Path,
    good_wheel: Path,
    crash_wheel: Path,
) -> None:
    assert (fleet.state_dir / "release.pub").read_bytes() == Path(f"{release_key}.pub").read_bytes()
    fleet.start_sensor(200)
    wait_until(lambda: fleet.store.count_events(fleet.sensor_id) == 200, 60, "the first events")
    assert fleet.host_version() == __version__
    fleet.control.write_text("10000000")  # from now on, events flow through every update

    # A good package: installed side by side, switched to, reconnects on the new version.
    good = fleet.roll_out(signed_package(good_wheel, release_key, tmp_path / "good.pkg"))
    cmd = fleet.outcome(good)
    assert (cmd.state, cmd.error_code) == ("succeeded", ""), cmd
    assert cmd.result["version"] == later(1)
    wait_until(lambda: fleet.host_version() == later(1), 30, "Hello from the new version")
    assert fleet.releases.current_version() == later(1)
    assert fleet.view(good)["hosts"][0]["outcome"] == "installed"

    # Each bad package is refused with its own typed error, and nothing changes on the host.
    crash_pkg = signed_package(crash_wheel, release_key, tmp_path / "crash.pkg")
    stranger = new_key(tmp_path / "stranger.key")
    older = build_wheel(__version__, work)
    bad = {
        "bad_signature": flip_byte(crash_pkg, "manifest.sig", tmp_path / "sig.pkg", at=7),
        "foreign_key": signed_package(crash_wheel, stranger, tmp_path / "foreign.pkg"),
        "truncated_package": truncate(crash_pkg, tmp_path / "cut.pkg"),
        "hash_mismatch": flip_byte(crash_pkg, wheel_member(crash_pkg), tmp_path / "hash.pkg"),
        "downgrade_refused": signed_package(older, release_key, tmp_path / "old.pkg"),
    }
    for code, package in bad.items():
        rollout = fleet.roll_out(package)
        cmd = fleet.outcome(rollout)
        assert (cmd.state, cmd.error_code) == ("failed", code), (code, cmd)
        host = fleet.view(rollout)["hosts"][0]
        assert (host["outcome"], host["error_code"]) == ("refused", code)
        assert host["message"], code
        assert fleet.releases.current_version() == later(1), code
    assert fleet.host_version() == later(1)

    # A release whose sensor dies at start is rolled back by the launcher within the bound.
    started = time.monotonic()
    crash = fleet.roll_out(crash_pkg, confirm_within_s=CRASH_BOUND_S)
    cmd = fleet.outcome(crash, timeout=CRASH_BOUND_S + 60)
    took = time.monotonic() - started
    assert (cmd.state, cmd.error_code) == ("failed", "rolled_back"), cmd
    assert f"{later(2)} exited with code" in cmd.message
    assert took < CRASH_BOUND_S, took
    assert fleet.releases.current_version() == later(1)
    wait_until(fleet.connected, 30, "the restored version to reconnect")
    assert fleet.host_version() == later(1)
    view = fleet.view(crash)
    assert view["hosts"][0]["outcome"] == "rolled back" and view["counts"] == {"rolled back": 1}

    # No event was lost or stored twice across the whole sequence; identity never changed.
    total = fleet.settle_production()
    assert total > 1000
    wait_until(lambda: fleet.store.count_events(fleet.sensor_id) >= total, 60, "every event stored")
    assert stored_numbers(fleet.store, fleet.sensor_id) == list(range(1, total + 1))
    assert fleet.store.gaps(fleet.sensor_id) == []
    assert load_identity(fleet.state_dir).sensor_id == fleet.sensor_id


def test_a_version_that_never_comes_up_is_rolled_back_at_the_bound(
    fleet: Fleet, tmp_path: Path, release_key: Path, hang_wheel: Path
) -> None:
    bound = 6
    fleet.start_sensor(100)
    wait_until(lambda: fleet.store.count_events(fleet.sensor_id) == 100, 60, "the first events")
    fleet.control.write_text("10000000")
    started = time.monotonic()
    rollout = fleet.roll_out(
        signed_package(hang_wheel, release_key, tmp_path / "hang.pkg"), confirm_within_s=bound
    )
    cmd = fleet.outcome(rollout, timeout=bound + 60)
    took = time.monotonic() - started
    assert (cmd.state, cmd.error_code) == ("failed", "rolled_back"), cmd
    assert cmd.message == f"{later(3)} did not reconnect and report healthy within {bound}s"
    assert bound <= took < bound + 30, took
    assert cmd.result["took_s"] >= bound
    assert fleet.releases.current_version() == "base"
    wait_until(lambda: fleet.host_version() == __version__ and fleet.connected(), 30, "base back")
    total = fleet.settle_production()
    wait_until(lambda: fleet.store.count_events(fleet.sensor_id) >= total, 60, "every event")
    assert stored_numbers(fleet.store, fleet.sensor_id) == list(range(1, total + 1))


def test_a_rotated_key_is_pinned_and_the_old_one_no_longer_trusted(
    fleet: Fleet, tmp_path: Path, release_key: Path, good_wheel: Path, crash_wheel: Path
) -> None:
    files = ("sensor.key", "sensor.crt", "identity.json")
    identity = {name: (fleet.state_dir / name).read_bytes() for name in files}
    fleet.start_sensor(50)
    wait_until(lambda: fleet.store.count_events(fleet.sensor_id) == 50, 60, "the first events")
    nxt = new_key(tmp_path / "next.key")
    rotation = tmp_path / "rotation.json"
    rotation.write_bytes(
        make_rotation(load_private(release_key), parse_public(Path(f"{nxt}.pub").read_bytes()))
    )
    pkg = signed_package(good_wheel, nxt, tmp_path / "rotated.pkg", rotation=rotation)
    cmd = fleet.outcome(fleet.roll_out(pkg))
    assert (cmd.state, cmd.result.get("version")) == ("succeeded", later(1)), cmd
    assert (fleet.state_dir / "release.pub").read_bytes() == Path(f"{nxt}.pub").read_bytes()
    old_signed = signed_package(crash_wheel, release_key, tmp_path / "old-key.pkg")
    cmd = fleet.outcome(fleet.roll_out(old_signed))
    assert (cmd.state, cmd.error_code) == ("failed", "foreign_key"), cmd
    assert {name: (fleet.state_dir / name).read_bytes() for name in files} == identity
