"""The real Guard and ResponseExecutor in one process inside a test network namespace.

Steps (JSON): an action to execute, "check" (one guard check: the tamper events it raised),
"probes" (which of the given host:port answer), or ["attack", nft args...] run as a separate
nft process, as an attacker with root would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.response.drivers.sensor import probe

from aurora.config.response import ResponseConfig
from aurora.config.sensor import SensorConfig
from aurora.sensor.guard import Guard
from aurora.sensor.response import ResponseExecutor
from aurora.sensor.source import Capability


class NoEvents:
    """An event source with nothing to say: this driver exercises the isolation check only."""

    def start(self) -> None: ...
    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        return []

    def capabilities(self) -> list[Capability]:
        return []

    def drop_counts(self) -> dict[str, int]:
        return {}

    def stop(self) -> None: ...


def main() -> int:
    spec: dict[str, Any] = json.loads(sys.argv[1])
    state = Path(spec["state_dir"])
    executor = ResponseExecutor(
        state, ResponseConfig(**spec.get("config", {})), tuple(spec["collector"])
    )

    def isolation() -> tuple[str, Any]:
        return executor.isolation_state(), executor.reapply_persisted_state

    guard = Guard(SensorConfig(state_dir=state), state, NoEvents(), isolation)
    guard.start()
    out: list[Any] = []
    for step in spec["steps"]:
        if step == "check":
            out.append([e["unmapped"]["tamper"] for e in guard.check()])
        elif step == "probes":
            out.append({f"{h}:{p}": probe(h, p) for h, p in spec["probes"]})
        elif isinstance(step, list) and step[0] == "attack":
            subprocess.run(["nft", *step[1:]], check=True, capture_output=True)
            out.append("attacked")
        else:
            res = executor.execute(step["action"], step.get("params", {}))
            out.append(res.ok)
    guard.stop(clean=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
