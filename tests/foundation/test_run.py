"""`aurora run` (what `make run` starts): collector, console and an enrolled local sensor reach
`aurora ready`, the first admin password is printed once, and SIGTERM stops everything cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.root, pytest.mark.kernel]


def start(state: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURORA")}
    env["PYTHONPATH"] = str(REPO / "src")
    with log.open("wb") as out:
        args = ["--state-dir", str(state), "--listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"]
        return subprocess.Popen(
            [sys.executable, "-m", "aurora", "run", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def wait_ready(proc: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "aurora ready" in text:
            return text
        assert proc.poll() is None, text
        time.sleep(0.2)
    raise AssertionError("no `aurora ready` within 120 s:\n" + log.read_text(errors="replace"))


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


def test_run_reaches_ready_and_restarts_without_reenrolling(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first_log = tmp_path / "first.log"
    proc = start(state, first_log)
    try:
        text = wait_ready(proc, first_log)
    finally:
        code = stop(proc)
    assert code == 0, first_log.read_text()
    m = re.search(
        r"aurora ready: console https://127\.0\.0\.1:(\d+), sensors :(\d+), "
        r"local sensor ([0-9a-f-]+) connected",
        text,
    )
    assert m and int(m.group(1)) > 0 and int(m.group(2)) > 0, text
    assert text.count("first console login: user 'admin'") == 1
    assert (state / "collector" / "aurora.db").is_file()
    assert oct((state / "sensor").stat().st_mode & 0o777) == "0o700"

    # Second start: same sensor identity, no new password.
    second_log = tmp_path / "second.log"
    proc = start(state, second_log)
    try:
        again = wait_ready(proc, second_log)
    finally:
        assert stop(proc) == 0
    assert f"local sensor {m.group(3)} connected" in again
    assert "first console login" not in again
