"""Exec storm: N fork+exec of /bin/true as fast as possible, with and without the Linux sensor.

Prints: launches captured vs processes spawned, sensor CPU microseconds per event (normalisation
included), the workload's slowdown against a same-run baseline without the sensor, and the
sensor's peak RSS. Needs root and the BPF objects (`make -C bpf`).

    PYTHONPATH=src .venv/bin/python bench/bench_exec_storm.py [--count 20000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
TRUE = "/bin/true"


def storm(count: int, workers: int) -> tuple[float, list[int]]:
    """Spawn ``count`` /bin/true from ``workers`` processes; returns (seconds, worker pids)."""
    code = (
        "import os,sys\n"
        "n=int(sys.argv[1])\n"
        "for _ in range(n):\n"
        f"    pid=os.posix_spawn({TRUE!r},[{TRUE!r}],{{}})\n"
        "    os.waitpid(pid,0)\n"
    )
    per = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", code, str(n)]) for n in per]
    for p in procs:
        p.wait()
    return time.perf_counter() - start, [p.pid for p in procs]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--entry",
        choices=("cli", "lean"),
        default="cli",
        help="cli: `aurora sensor --stdout`; lean: the same loop without the CLI's other imports",
    )
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench_exec_storm: needs root (loads eBPF programs)", file=sys.stderr)
        return 2

    before, _ = storm(args.count, args.workers)
    with (
        tempfile.NamedTemporaryFile(prefix="aurora-storm-", suffix=".jsonl", dir="/dev/shm") as out,
        tempfile.NamedTemporaryFile(prefix="aurora-storm-", suffix=".log") as err,
    ):
        cmd = CLI if args.entry == "cli" else LEAN
        result = run_with_sensor(cmd, args.count, args.workers, Path(out.name), Path(err.name))
    if result is None:
        return 1
    # The machine is shared: average a baseline taken before and one taken after.
    after, _ = storm(args.count, args.workers)
    baseline = (before + after) / 2
    with_sensor = result.pop("with_sensor")
    for label, value in result.items():
        print(f"{label:<25}: {value}")
    print(f"{'workload without sensor':<25}: {baseline:.2f} s ({args.count / baseline:.0f} exec/s)")
    print(
        f"{'workload with sensor':<25}: {with_sensor:.2f} s ({args.count / with_sensor:.0f} exec/s)"
    )
    print(f"{'slowdown':<25}: {with_sensor / baseline:.3f}x (goal <= 1.15x)")
    return 0


CLI = [sys.executable, "-m", "aurora", "sensor", "--stdout"]
LEAN = [
    sys.executable,
    "-c",
    "import logging; logging.basicConfig(level='INFO');"
    "from aurora.config import load_config; from aurora.sensor.linux import LinuxSensor;"
    "from aurora.sensor.standalone import run_standalone;"
    "raise SystemExit(run_standalone(LinuxSensor(load_config().sensor)))",
]


def run_with_sensor(
    cmd: list[str], count: int, workers: int, out: Path, err: Path
) -> dict[str, object] | None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with out.open("wb") as out_fh, err.open("wb") as err_fh:
        sensor = subprocess.Popen(
            cmd,
            stdout=out_fh,
            stderr=err_fh,
            env=env,
        )
        deadline = time.monotonic() + 60
        while b"sensor ready" not in err.read_bytes():
            if sensor.poll() is not None or time.monotonic() > deadline:
                print(err.read_text(), file=sys.stderr)
                sensor.kill()
                return None
            time.sleep(0.05)
        time.sleep(0.3)
        cpu0 = cpu_seconds(sensor.pid)
        rss_ready = rss_mb(sensor.pid, "VmRSS")
        lines0 = out.read_bytes().count(b"\n")
        with_sensor, worker_pids = storm(count, workers)
        # Let the sensor drain its rings: stop when its output stops growing.
        size = -1
        while size != out.stat().st_size:
            size = out.stat().st_size
            time.sleep(0.5)
        cpu1 = cpu_seconds(sensor.pid)
        rss = rss_mb(sensor.pid, "VmHWM")
        sensor.terminate()
        sensor.wait(timeout=30)

    parents = set(worker_pids)
    launches = emitted = 0
    for line in out.read_bytes().splitlines()[lines0:]:
        emitted += 1
        ev = orjson.loads(line)
        if ev["class_uid"] == 1007 and ev["activity_id"] == 1:
            path = ev["process"].get("file", {}).get("path")
            if path == os.path.realpath(TRUE) and ev["unmapped"]["ppid"] in parents:
                launches += 1
    drops = [ln for ln in err.read_text().splitlines() if "dropped" in ln]
    return {
        "processes spawned": count,
        "launch events captured": f"{launches} ({100 * launches / count:.2f}%)",
        "events emitted (all)": f"{emitted} (launch + terminate + background)",
        "sensor CPU per event": f"{(cpu1 - cpu0) * 1e6 / max(emitted, 1):.1f} us (goal <= 30)",
        "sensor CPU total": f"{cpu1 - cpu0:.2f} s",
        "sensor peak RSS": f"{rss:.1f} MB (goal <= 80)",
        "  RSS once ready": f"{rss_ready:.1f} MB (imports + BPF rings, before any event)",
        "kernel drop log lines": len(drops),
        **{f"  drop log {i}": ln.split(": ", 1)[-1] for i, ln in enumerate(drops[-3:])},
        "with_sensor": with_sensor,
    }


if __name__ == "__main__":
    raise SystemExit(main())
