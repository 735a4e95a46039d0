"""`aurora sensor --stdout` when its reader stalls: no event may be cut or silently lost.

The sensor once wrote each batch with one unchecked ``write``; with PYTHONUNBUFFERED (or
``python -u``) stdout is a raw FileIO, and a signal interrupting a write(2) blocked on a full pipe
makes it return the part already written. The rest of the batch vanished, leaving an event cut
mid-JSON followed by a much later one, with no drop counter rising.
"""

from __future__ import annotations

import ast
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import orjson
import pytest

from aurora.sensor.standalone import write_all

REPO = Path(__file__).resolve().parents[2]
PIPE_BYTES = 4096  # the smallest pipe: the first batch of a storm fills it mid-write
STORM = 300


def _blocked_in_stdout_write(pid: int) -> bool:
    """True while ``pid`` sleeps in write(1, ...) on a full pipe."""
    syscall = Path(f"/proc/{pid}/syscall").read_text().split()
    wchan = Path(f"/proc/{pid}/wchan").read_text()
    return syscall[:2] == ["1", "0x1"] and wchan.endswith("pipe_write")


@pytest.mark.root
@pytest.mark.kernel
@pytest.mark.parametrize(
    ("sig", "unbuffered"), [(signal.SIGTERM, True), (signal.SIGINT, True), (signal.SIGTERM, False)]
)
def test_signal_during_blocked_write_loses_nothing(
    bpf_objects: Path, tmp_path: Path, sig: signal.Signals, unbuffered: bool
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = str(REPO / "src")
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    err_path = tmp_path / "stderr"
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aurora", "sensor", "--stdout"],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
        )
    assert proc.stdout is not None
    try:
        fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        deadline = time.monotonic() + 60
        while b"sensor ready" not in err_path.read_bytes():
            assert proc.poll() is None, err_path.read_text()
            assert time.monotonic() < deadline, "no 'sensor ready' within 60 s"
            time.sleep(0.05)
        # Nobody reads stdout: the first batch of this storm fills the pipe mid-write.
        marker = uuid.uuid4().hex
        spawned = set()
        for _ in range(STORM):
            pid = os.posix_spawn("/bin/true", ["/bin/true", marker], {})
            os.waitpid(pid, 0)
            spawned.add(pid)
        deadline = time.monotonic() + 20
        while not _blocked_in_stdout_write(proc.pid):
            assert time.monotonic() < deadline, "the sensor never blocked writing stdout"
            time.sleep(0.01)
        proc.send_signal(sig)
        out = proc.stdout.read()
        assert proc.wait(timeout=30) == 0, err_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    assert out.endswith(b"\n"), f"stdout ends mid-line: {out[-300:]!r}"
    events = []
    for n, line in enumerate(out.split(b"\n")[:-1]):
        try:
            events.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise AssertionError(f"stdout line {n} is not JSON ({exc}): {line[-300:]!r}") from None
    # metadata.uid ends in a per-sensor counter of emitted events: any gap is an event lost
    # between the normaliser and the pipe.
    seqs = [int(ev["metadata"]["uid"].rsplit("-", 1)[1], 16) for ev in events]
    assert seqs == list(range(1, len(seqs) + 1)), "events missing from stdout"
    launched = {
        ev["process"]["pid"]
        for ev in events
        if ev["class_uid"] == 1007
        and ev["activity_id"] == 1
        and ev["unmapped"]["argv"] == ["/bin/true", marker]
    }
    log = err_path.read_text()
    stopped = [ln for ln in log.splitlines() if "kernel drops per family" in ln]
    assert stopped, log
    drops = ast.literal_eval(stopped[-1].split("kernel drops per family: ", 1)[1])
    # Whatever the kernel could not queue while we blocked is counted, never silently gone.
    assert len(spawned - launched) <= drops["process"], (len(spawned - launched), drops)


def test_write_all_completes_partial_and_would_block_writes() -> None:
    """A raw, non-blocking pipe takes a few KiB per write and then none: write_all must deliver
    every byte in order once a slow reader makes room."""
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    os.set_blocking(w, False)
    data = b"".join(b'{"n":%d}\n' % i for i in range(20_000))
    got = bytearray()

    def reader() -> None:
        while chunk := os.read(r, 1000):
            got.extend(chunk)
            time.sleep(0.0005)

    thread = threading.Thread(target=reader)
    thread.start()
    with open(w, "wb", buffering=0) as raw:
        write_all(raw, data)
    thread.join(timeout=30)
    os.close(r)
    assert bytes(got) == data


def test_write_all_through_a_buffered_non_blocking_writer() -> None:
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    os.set_blocking(w, False)
    data = os.urandom(300_000)
    got = bytearray()

    def reader() -> None:
        while chunk := os.read(r, 4096):
            got.extend(chunk)

    thread = threading.Thread(target=reader)
    thread.start()
    with open(w, "wb", buffering=8192) as buffered:
        write_all(buffered, data)
        write_all(buffered, b"end")
        while True:
            try:
                buffered.flush()
                break
            except BlockingIOError:
                time.sleep(0.001)
    thread.join(timeout=30)
    os.close(r)
    assert bytes(got) == data + b"end"
