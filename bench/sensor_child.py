"""A LinuxSensor in a child process with a given [sensor] configuration, for the family benches:
its CPU time is read from /proc around a workload, and it reports how many events of each OCSF
class/activity it normalised, and the kernel drop counters, when it is stopped.

    with SensorChild({"linux_families": ["file"], ...}) as child:
        cpu0 = child.cpu_seconds(); workload(); child.settle(); cpu1 = child.cpu_seconds()
    child.result  # {"events": {"1001/2": n, ...}, "drops": {...}}
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, signal, sys
from collections import Counter
from aurora.config.sensor import SensorConfig
from aurora.sensor.linux import LinuxSensor

sensor = LinuxSensor(SensorConfig.model_validate(json.loads(sys.argv[1])))
sensor.start()
stopping = []
signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
counts = Counter()
print("ready", flush=True)
while not stopping:
    events = sensor.poll(100)
    for ev in events:
        counts[f"{ev['class_uid']}/{ev['activity_id']}"] += 1
    if events:
        print(f"busy {sum(counts.values())}", flush=True)
print(json.dumps({"events": counts, "drops": sensor.drop_counts()}), flush=True)
sensor.stop()
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class SensorChild:
    def __init__(self, sensor_config: dict[str, Any]) -> None:
        self.config = sensor_config
        self.result: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self.seen = 0  # events normalised so far, as of the last settle()

    def __enter__(self) -> SensorChild:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, json.dumps(self.config)],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if line.strip() != b"ready":
            self._proc.kill()
            raise SystemExit(f"the sensor did not start: {line!r}")
        time.sleep(0.5)  # its own start-up events drain first
        os.set_blocking(self._proc.stdout.fileno(), False)
        self.settle()
        return self

    def cpu_seconds(self) -> float:
        assert self._proc is not None
        return cpu_seconds(self._proc.pid)

    def settle(self, quiet_s: float = 1.0) -> None:
        """Wait until the sensor has reported no new event for ``quiet_s``."""
        assert self._proc is not None and self._proc.stdout is not None
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < quiet_s:
            try:
                chunk = os.read(self._proc.stdout.fileno(), 1 << 16)
            except BlockingIOError:
                chunk = b""
            if chunk:
                quiet_since = time.monotonic()
                self.seen = int(chunk.strip().rsplit(b"busy ", 1)[-1].split()[0])
            time.sleep(0.1)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        self._proc.send_signal(signal.SIGTERM)
        os.set_blocking(self._proc.stdout.fileno(), True)
        for line in self._proc.stdout:
            if line.startswith(b"{"):
                self.result = json.loads(line)
        self._proc.wait(timeout=30)

    def count(self, key: str) -> int:
        return int(self.result.get("events", {}).get(key, 0))

    def total(self) -> int:
        return sum(self.result.get("events", {}).values())
