"""One collector node in a process of its own, for the cluster tests: ``python cluster_node.py
CONFIG.json`` starts ``Collector`` (on a SQLite file of its own: shared_store_required=False, a
test-only allowance), prints ``READY <port>``, and stops on SIGTERM. SIGKILL is the crash."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading

from aurora.collector.server import Collector
from aurora.config import AuroraConfig


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with open(sys.argv[1]) as f:
        config = AuroraConfig.model_validate(json.load(f))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    node = Collector(config, shared_store_required=False)
    node.start()
    print(f"READY {node.port}", flush=True)
    stop.wait()
    node.stop()


if __name__ == "__main__":
    main()
