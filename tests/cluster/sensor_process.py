"""A real sensor in a process of its own: ``python sensor_process.py SENSOR_DIR TOTAL`` runs the
agent (spool, transport with fail-over along its endpoints) over a source of TOTAL numbered
events at about 5,000 events/s (a busy host), until SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from agent.helpers import CountingSource, sensor_config
from aurora.sensor.agent import Agent


class PacedSource(CountingSource):
    """100 events per 20 ms: a stream that lasts long enough to be cut in the middle."""

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        time.sleep(0.02)
        return super().poll(timeout_ms)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sensor_dir, total = Path(sys.argv[1]), int(sys.argv[2])
    agent = Agent(
        sensor_config(sensor_dir, reconnect_min_s=0.2, reconnect_max_s=2),
        PacedSource(total, per_poll=100),
        executor_factory=lambda: None,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner = threading.Thread(target=agent.run, daemon=True)
    runner.start()
    stop.wait()
    agent.stop()
    runner.join(20)


if __name__ == "__main__":
    main()
