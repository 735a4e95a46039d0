"""The real ``aurora sensor`` command in its own process, fed by a test event source.

Run as ``sensor_main.py CONTROL_FILE -- <aurora arguments>``. The source produces numbered events
until it has produced as many as the integer in CONTROL_FILE says, so a test can release events
phase by phase. Everything else (CLI, config, agent, spool, transport, signals) is the real code.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

from tests.agent.helpers import CountingSource

from aurora.cli.main import main as aurora_main
from aurora.config import AuroraConfig
from aurora.sensor import agent
from aurora.sensor.source import EventSource


class ControlledSource(CountingSource):
    """A CountingSource whose total is read from a file on every poll."""

    def __init__(self, control: Path) -> None:
        super().__init__(0, per_poll=200)
        self.control = control

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        with contextlib.suppress(OSError, ValueError):
            self.total = int(self.control.read_text().strip() or 0)
        return super().poll(timeout_ms)


def main() -> int:
    control = Path(sys.argv[1])
    assert sys.argv[2] == "--"
    source = ControlledSource(control)

    def make_source(_config: AuroraConfig) -> EventSource:
        return source

    agent._make_source = make_source  # the only seam: no eBPF in this test
    return aurora_main(sys.argv[3:])


if __name__ == "__main__":
    sys.exit(main())
