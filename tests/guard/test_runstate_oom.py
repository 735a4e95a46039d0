"""The OOM verdict reads the real kernel log and only believes lines newer than the previous run's
start: a line about an older process that had the same pid must not name an OOM end."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from aurora.sensor.guard.runstate import RunRecord

pytestmark = [pytest.mark.root, pytest.mark.kernel]

FAKE_PID = 987654321  # above any pid_max: no real process has it


def _previous_run(state: Path, started_ms: int) -> RunRecord:
    (state / "guard").mkdir(parents=True, exist_ok=True)
    record = {"running": True, "pid": FAKE_PID, "started_ms": started_ms}
    (state / "guard" / "run.json").write_text(json.dumps(record))
    return RunRecord(state)


def test_only_an_oom_line_after_the_run_started_counts(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("writing the kernel log needs root")
    before_line = int(time.time() * 1000) - 5_000
    with open("/dev/kmsg", "w") as kmsg:  # what the OOM killer writes, for a fake pid
        kmsg.write(f"aurora test: Killed process {FAKE_PID} (python3) total-vm:1kB\n")
    after_line = int(time.time() * 1000) + 5_000
    ran_before = _previous_run(tmp_path / "a", before_line)
    assert ran_before.previous_was_unclean()
    assert "OOM killer" in ran_before.how_previous_ended([])
    ran_after = _previous_run(tmp_path / "b", after_line)
    verdict = ran_after.how_previous_ended([])
    assert "OOM" not in verdict.split(";")[0] and "no signal, OOM or crash record" in verdict
