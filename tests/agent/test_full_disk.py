"""A full disk under the sensor's state directory: losses are counted, the sensor carries on.

The sensor is the real ``aurora sensor`` process (fed by a test source, see ``sensor_main.py``)
with its state directory on a real, tiny tmpfs that the test fills and empties. Needs root for
``mount``; skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora.collector.store import open_store
from aurora.sensor.enrollment import enroll
from aurora.sensor.identity import load_identity
from fulldisk import fill, make_room

from .helpers import REPO, CollectorProcess, free_port, wait_until
from .test_delivery import stored_numbers

pytestmark = pytest.mark.slow

SENSOR_MAIN = Path(__file__).with_name("sensor_main.py")


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorProcess]:
    proc = CollectorProcess(tmp_path / "collector", free_port(), tmp_path / "collector.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def start_sensor(
    tmp_path: Path, state_dir: Path, endpoint: str, control: Path | None = None
) -> subprocess.Popen[bytes]:
    """The real ``aurora sensor`` process; its config and log go in ``tmp_path``."""
    config = tmp_path / "aurora.toml"
    config.write_text(
        "[sensor]\n"
        "heartbeat_interval_s = 0.5\nreconnect_min_s = 0.1\nreconnect_max_s = 0.5\n"
        "batch_max_delay_ms = 50\nspool_fsync = true\n"
    )
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'src'}{os.pathsep}{REPO}")
    env.pop("AURORA_CONFIG", None)
    log = (tmp_path / "sensor.log").open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SENSOR_MAIN),
            str(control or tmp_path / "control"),
            "--",
            "--config",
            str(config),
            "sensor",
            "--state-dir",
            str(state_dir),
            "--collector",
            endpoint,
        ],
        stdout=log,
        stderr=log,
        env=env,
    )
    log.close()
    return proc


def test_full_disk_counts_losses_recovers_and_shuts_down_cleanly(
    tmp_path: Path, small_disk: Path, collector: CollectorProcess
) -> None:
    state_dir = small_disk / "sensor"
    enroll(collector.endpoint, collector.token, collector.fingerprint, state_dir)
    sid = load_identity(state_dir).sensor_id
    control = tmp_path / "control"
    control.write_text("500")
    sensor_log = tmp_path / "sensor.log"
    proc = start_sensor(tmp_path, state_dir, collector.endpoint)
    store = open_store(collector.state_dir)
    try:
        wait_until(lambda: store.count_events(sid) == 500, 60, "the first 500 events")

        fill(small_disk)
        control.write_text("1500")
        wait_until(
            lambda: "events are being lost" in sensor_log.read_text(), 30, "the loss to be logged"
        )
        time.sleep(2)  # the rest of the 1,000 events meet the full disk too
        assert proc.poll() is None, sensor_log.read_text()[-3000:]

        def says_disk_failing() -> bool:
            host = store.get_host(sid)
            reasons = [c.get("reason", "") for c in host.capabilities] if host else []
            return any("spool disk failing" in r for r in reasons)

        wait_until(says_disk_failing, 10, "the heartbeat to report the failing disk")

        make_room(small_disk)
        control.write_text("2000")

        def settled(total: int) -> bool:
            host = store.get_host(sid)
            lost = host.drops_spool_evicted if host else 0
            return lost > 0 and store.count_events(sid) + lost == total

        wait_until(lambda: settled(2000), 60, "every event stored or counted as lost")
        numbers = stored_numbers(store, sid)
        assert numbers[:500] == list(range(1, 501))
        assert numbers[-500:] == list(range(1501, 2001)), "events after the disk recovered"
        assert len(numbers) == len(set(numbers))

        fill(small_disk)
        control.write_text("2100")  # these meet the full disk while the sensor shuts down
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        store.close()
    log_text = sensor_log.read_text()
    assert rc == 0, log_text[-3000:]
    assert "Traceback" not in log_text, log_text[-3000:]
    spool = state_dir / "spool"
    assert not list(spool.glob("*.tmp")), "a temporary state file was left behind"
    state = json.loads((spool / "spool.state").read_text())  # whole, never half-written
    assert state["unreported"]["spool_evicted"] > 0, "the losses at shutdown were not kept"

    # After a restart with room on the disk, the losses from the shutdown reach the collector.
    make_room(small_disk)
    # Loss counts ride on the next batch of events, so the restarted source produces ten.
    control.write_text("10")
    proc = start_sensor(tmp_path, state_dir, collector.endpoint)
    store = open_store(collector.state_dir)
    try:
        wait_until(lambda: settled(2110), 60, "the losses kept over the restart to arrive")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        store.close()


def test_spool_on_a_full_disk_acks_frees_space_and_keeps_its_state_whole(small_disk: Path) -> None:
    from aurora.sensor.spool import Spool

    spool_dir = small_disk / "spool"
    sp = Spool(spool_dir, 2 * 1024 * 1024, segment_bytes=64 * 1024, fsync=True)
    payload = b"x" * 1000
    sp.append([payload] * 300)  # several segments
    fill(small_disk)
    with pytest.raises(OSError):
        sp.append([payload] * 5)
    # The collector acknowledges everything while the disk is full: no error, space comes back.
    sp.ack(300)
    assert sp.append_or_count([payload] * 5), "acknowledged segments were not freed"
    fill(small_disk)
    assert not sp.append_or_count([payload] * 5)  # full again: counted as lost
    assert sp.status().disk_error
    sp.close()
    assert not list(spool_dir.glob("*.tmp"))
    state = json.loads((spool_dir / "spool.state").read_text())
    assert state["unreported"]["spool_evicted"] == 5
    reopened = Spool(spool_dir, 2 * 1024 * 1024, fsync=True)
    assert reopened.ledger.pending["spool_evicted"] == 5
    batch = reopened.read(1, 100)
    assert batch is not None and (batch.first_seq, len(batch.events)) == (301, 5)
    reopened.close()
