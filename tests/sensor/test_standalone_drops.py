"""`aurora sensor --stdout` end to end, and kernel-side drop counting when a ring overflows."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest

from aurora.config.sensor import SensorConfig
from aurora.ocsf.schema import OcsfSchema

pytestmark = [pytest.mark.root, pytest.mark.kernel]
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stdout_mode_streams_valid_ocsf_and_stops_cleanly(
    bpf_objects: Path, schema: OcsfSchema, tmp_path: Path, sig: signal.Signals
) -> None:
    err_path = tmp_path / "stderr"
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aurora", "sensor", "--stdout"],
            stdout=subprocess.PIPE,
            stderr=err,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        )
        deadline = time.monotonic() + 60
        while b"sensor ready" not in err_path.read_bytes():
            assert proc.poll() is None, err_path.read_text()
            assert time.monotonic() < deadline, "no 'sensor ready' within 60 s"
            time.sleep(0.05)
        marker = uuid.uuid4().hex
        subprocess.run(["/bin/echo", marker], check=True, stdout=subprocess.DEVNULL)
        time.sleep(0.3)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, err_path.read_text()
    events = []
    for n, line in enumerate(out.split(b"\n")[:-1]):
        try:
            events.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise AssertionError(f"stdout line {n} is not JSON ({exc}): {line!r}") from None
    assert out.endswith(b"\n"), f"stdout ends mid-line: {out[-300:]!r}"
    assert events, "no events on stdout"
    for ev in events:
        assert schema.validate(ev) == [], ev
    launches = [
        e
        for e in events
        if e["class_uid"] == 1007
        and e["activity_id"] == 1
        and e["unmapped"]["argv"] == ["/bin/echo", marker]
    ]
    assert len(launches) == 1
    log = err_path.read_text()
    assert "sensor stopped" in log
    assert log.index("capability process: loaded") < log.index("sensor ready")


def test_overloaded_ring_counts_drops_and_logs_them(
    bpf_objects: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from aurora.sensor.linux import LinuxSensor

    sensor = LinuxSensor(SensorConfig(linux_families=["process"], ringbuf_kb=1024), bpf_objects)
    sensor.start()
    try:
        assert sensor.drop_counts() == {"process": 0}
        # ~5.8 KiB per exec record (4 KiB of argv): a few hundred overflow a 1 MiB ring that
        # nobody reads meanwhile.
        big = ["y" * 4000]
        for _ in range(400):
            pid = os.posix_spawn("/bin/true", ["/bin/true", *big], {})
            os.waitpid(pid, 0)
        drops = sensor.drop_counts()["process"]
        assert drops > 0
        with caplog.at_level(logging.WARNING, logger="aurora.sensor.linux"):
            sensor.poll(0)
        assert any(
            "events dropped in the kernel" in r.message and "process" in r.message
            for r in caplog.records
        )
    finally:
        sensor.stop()


def test_a_backlog_is_read_in_bounded_batches_in_order_without_loss(
    bpf_objects: Path, tmp_path: Path
) -> None:
    """Packed exec records of varied lengths, more than one poll takes: each poll returns at most
    POLL_BATCH, and every launch comes back whole and in order."""
    from aurora.sensor.linux import LinuxSensor
    from aurora.sensor.linux.ringbuf import POLL_BATCH

    sensor = LinuxSensor(SensorConfig(linux_families=["process"]), bpf_objects)
    sensor.start()
    try:
        deep = tmp_path / ("d" * 200) / ("e" * 200)
        deep.mkdir(parents=True)
        sent = []
        for i in range(3 * POLL_BATCH // 2):  # exec + exit each: three polls' worth at least
            argv = ["/bin/true", f"n{i}", "x" * (1 + i * 7 % 3000)]
            pid = os.posix_spawn("/bin/true", argv, {}) if i % 2 else _spawn_in(deep, argv)
            os.waitpid(pid, 0)
            sent.append(argv)
        batches, seen = [], []
        while batch := sensor.poll(0):
            batches.append(len(batch))
            seen += [e for e in batch if e["class_uid"] == 1007 and e["activity_id"] == 1]
        assert max(batches) <= POLL_BATCH and len(batches) >= 3
        ours = [e for e in seen if e["unmapped"]["argv"][:1] == ["/bin/true"]]
        assert [e["unmapped"]["argv"] for e in ours] == sent
        for i, e in enumerate(ours):
            assert e["process"]["working_directory"] == (str(deep) if i % 2 == 0 else os.getcwd())
            assert e["process"]["file"]["path"] == os.path.realpath("/bin/true")
            assert e["unmapped"]["exec_filename"] == "/bin/true"
        assert sensor.drop_counts()["process"] == 0
    finally:
        sensor.stop()


def _spawn_in(cwd: Path, argv: list[str]) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child execs or exits
        try:
            os.chdir(cwd)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    return pid
