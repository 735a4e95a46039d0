"""A sensor process for tests: build a ResponseExecutor, run the steps given as JSON, print JSON.

Tests start it inside the network namespace they made (``ip netns exec``), so nft and every
probe act on that namespace only. A second run with the same state directory is a sensor restart.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

from aurora.config.response import ResponseConfig
from aurora.sensor.response import ResponseExecutor


def probe(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            return sock.recv(16) == b"ok"
    except OSError:
        return False


def echo(sock: socket.socket) -> bool:
    """Does a connection opened earlier still carry data both ways?"""
    try:
        sock.settimeout(1.0)
        sock.sendall(b"ping")
        return sock.recv(16) == b"ping"
    except OSError:
        return False


def main() -> int:
    spec: dict[str, Any] = json.loads(sys.argv[1])
    config = ResponseConfig(**spec.get("config", {}))
    collector = tuple(spec["collector"]) if spec.get("collector") else None
    others = tuple(tuple(c) for c in spec.get("other_collectors", ()))
    executor = ResponseExecutor(Path(spec["state_dir"]), config, collector, other_collectors=others)
    held: socket.socket | None = None
    out: list[Any] = []
    for step in spec["steps"]:
        if step == "reapply":
            res = executor.reapply_persisted_state()
            out.append({"ok": res.ok, "error_code": res.error_code, "message": res.message})
        elif step == "state":
            out.append(executor.isolation_state())
        elif step == "probes":
            out.append({f"{h}:{p}": probe(h, p) for h, p in spec["probes"]})
        elif step == "hold":
            held = socket.create_connection(tuple(spec["echo"]), timeout=2.0)
            out.append(echo(held))
        elif step == "echo":
            assert held is not None
            out.append(echo(held))
        else:
            res = executor.execute(step["action"], step.get("params", {}))
            out.append({"ok": res.ok, "error_code": res.error_code, "message": res.message})
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
