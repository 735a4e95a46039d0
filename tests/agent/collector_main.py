"""A collector in its own process for the agent's crash tests: prints READY, runs until SIGTERM.

Run as ``collector_main.py STATE_DIR PORT``; the first stdout line is
``READY <ca fingerprint> <enrolment token>``.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    state_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    config = AuroraConfig.model_validate(
        {
            "collector": {"state_dir": str(state_dir), "listen": f"127.0.0.1:{port}"},
            "detection": {"enabled": False},
        }
    )
    collector = Collector(config)
    collector.start()
    assert collector.store is not None
    token = create_token(collector.store, 3600, 100)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("READY", collector.ca_fingerprint, token.token, flush=True)
    done.wait()
    collector.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
