"""Start `aurora collector` as a separate process for the collector benchmarks.

Detection is off unless asked for, and the console listens on an ephemeral port, so a benchmark
measures ingest and never collides with a collector already using the default ports.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]


def start_collector(state: Path, detection: bool = False) -> tuple[subprocess.Popen[str], int]:
    """Start it and return (process, sensor port) once it logs `collector ready`. With
    ``detection``, it runs its default rules (Aurora's Linux pack) on every event."""
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO / "src"),
        AURORA__DETECTION__ENABLED="true" if detection else "false",
    )
    args = ["--state-dir", str(state), "--listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "aurora", "collector", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    stderr = proc.stderr
    assert stderr is not None
    for line in stderr:
        m = re.search(r"collector ready on [\d.]+:(\d+)", line)
        if m:
            # Keep draining stderr (one log line per connection) so the collector never blocks.
            threading.Thread(target=stderr.read, daemon=True).start()
            return proc, int(m.group(1))
    raise SystemExit("collector did not start")


def tree_cpu(ps: psutil.Process) -> float:
    """CPU seconds of the collector and every process it started (its batch reader)."""
    total = 0.0
    for p in [ps, *ps.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def tree_rss(ps: psutil.Process) -> int:
    total = 0
    for p in [ps, *ps.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total
