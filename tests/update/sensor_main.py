"""The real ``aurora sensor`` command, fed by a source whose numbering survives restarts.

Run by the update launcher as ``sensor_main.py CONTROL COUNTER -- <aurora arguments>``. The source
produces numbered events up to the total in CONTROL ("stop": no more), a few hundred a second, and
keeps the last number in COUNTER, so the versions that follow one another on a host continue one
sequence and a test can check that none of it was lost. Everything else is the real code of
whichever version the launcher started (it comes first on PYTHONPATH).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from tests.agent.helpers import CountingSource

from aurora.cli.main import main as aurora_main
from aurora.config import AuroraConfig
from aurora.sensor import agent
from aurora.sensor.source import EventSource

_PACE_S = 0.05


class ContinuingSource(CountingSource):
    def __init__(self, control: Path, counter: Path) -> None:
        super().__init__(0, per_poll=20)
        self.control = control
        self.counter = counter
        with contextlib.suppress(OSError, ValueError):
            self.produced = int(counter.read_text())

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        with contextlib.suppress(OSError, ValueError):
            text = self.control.read_text().strip()
            self.total = self.produced if text == "stop" else int(text or 0)
        events = super().poll(timeout_ms)
        if events:
            tmp = self.counter.with_name(self.counter.name + ".tmp")
            tmp.write_text(str(self.produced))
            os.replace(tmp, self.counter)
            time.sleep(_PACE_S)
        return events


def main() -> int:
    control, counter = Path(sys.argv[1]), Path(sys.argv[2])
    assert sys.argv[3] == "--"
    source = ContinuingSource(control, counter)

    def make_source(_config: AuroraConfig) -> EventSource:
        return source

    agent._make_source = make_source  # the only seam: no eBPF in this test
    return aurora_main(sys.argv[4:])


if __name__ == "__main__":
    sys.exit(main())
