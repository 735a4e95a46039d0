"""Kill scenarios that need a private pid namespace (run under ``unshare --pid --fork``).

Inside a fresh pid namespace only our processes exist, so the test can recycle a pid on purpose
(ns_last_pid) and can ask the sensor to kill "pid 1" without going near the real init.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from aurora.config.response import ResponseConfig
from aurora.sensor.response import ResponseExecutor
from aurora.sensor.response.kill import process_start_ms


def recycle(executor: ResponseExecutor) -> dict[str, object]:
    """Start A, note its start time, let it die, put B on the same pid, ask to kill A."""
    first = subprocess.Popen(["sleep", "60"])
    pid, started = first.pid, process_start_ms(first.pid)
    first.kill()
    first.wait()
    time.sleep(1.2)  # past the start-time tolerance, as a real recycled pid would be
    for _ in range(50):
        Path("/proc/sys/kernel/ns_last_pid").write_text(str(pid - 1))
        second = subprocess.Popen(["sleep", "60"])
        if second.pid == pid:
            break
        second.kill()
        second.wait()
    else:
        return {"error": "could not recycle the pid"}
    res = executor.execute("kill", {"pid": pid, "start_time": started})
    alive = second.poll() is None
    second.kill()
    second.wait()
    return {"recycled": True, "error_code": res.error_code, "message": res.message, "alive": alive}


def main() -> int:
    executor = ResponseExecutor(Path(sys.argv[1]), ResponseConfig(), None)
    out: dict[str, object] = {"my_pid": os.getpid()}
    res = executor.execute("kill", {"pid": 1})
    out["pid1"] = {"error_code": res.error_code, "message": res.message}
    out["recycle"] = recycle(executor)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
