"""The sensor guard's cost and reaction time, beside a same-run baseline (root, real kernel).

1. CPU: the real LinuxSensor (process, file, network, dns) polled for a while under a varied
   background workload (different commands, files and ports each round), first without the guard
   (baseline), then with it checking every interval; the guard's own CPU per check as it measures
   it (thread time), and the whole process's CPU either way.
2. Canaries: marker actions per hour at the default 30 s interval.
3. Detached hook -> alert: a real collector (mTLS, SQLite, detection) and an agent in this
   process; a file-family link descriptor is closed inside the sensor (what an attacker does with
   gdb) and the time until the critical alert is stored is taken, over several trials; then the
   same for a replaced program: process/handle_exec's link closed and a look-alike (the same
   program from a copy of process.bpf.o) attached in its place, timed from the attach to the
   "replaced" alert.

Run: sudo PYTHONPATH=src .venv/bin/python bench/bench_guard.py [--seconds S] [--trials N]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.config.sensor import SensorConfig
from aurora.sensor.agent import Agent
from aurora.sensor.enrollment import enroll
from aurora.sensor.guard import Guard
from aurora.sensor.linux import libbpf
from aurora.sensor.linux.libbpf import BpfObject
from aurora.sensor.linux.sensor import OBJECTS_DIR, LinuxSensor

FAMILIES = ["process", "file", "network", "dns"]
COMMANDS = (["/bin/true"], ["/bin/echo"], ["/usr/bin/env"], ["/bin/ls", "/"], ["/bin/date"])


def workload(watched: Path, stop: threading.Event) -> None:
    """Varied host activity: a different command, file name and port every round."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    n = 0
    while not stop.is_set():
        cmd = COMMANDS[n % len(COMMANDS)]
        subprocess.run(
            [*cmd, f"round-{n}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        (watched / f"f-{uuid.uuid4().hex[:8]}.conf").write_text(f"value={n}\n")
        with socket.create_connection(("127.0.0.1", port)):
            listener.accept()[0].close()
        n += 1
        time.sleep(0.02)
    listener.close()


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def poll_for(sensor: LinuxSensor, guard: Guard | None, seconds: float) -> tuple[float, int]:
    """Poll like the agent's producer; returns (process CPU seconds, events)."""
    start_cpu, end = cpu_s(), time.monotonic() + seconds
    events = 0
    while time.monotonic() < end:
        batch = sensor.poll(100)
        if guard is not None:
            batch = guard.consume(batch) + guard.tick()
        events += len(batch)
    return cpu_s() - start_cpu, events


def cost(seconds: float, interval: float, tmp: Path) -> None:
    watched = tmp / "watched"
    watched.mkdir()
    config = SensorConfig(
        linux_families=FAMILIES,
        watch_paths=[str(watched)],
        health_interval_s=interval,
        canary_timeout_s=min(5.0, interval / 2),
    )
    sensor = LinuxSensor(config)
    sensor.start()
    stop = threading.Event()
    load = threading.Thread(target=workload, args=(watched, stop), daemon=True)
    load.start()
    try:
        base_cpu, base_events = poll_for(sensor, None, seconds)
        guard = Guard(config, tmp / "state", sensor)
        guard.start()
        per_check: list[int] = []
        start_cpu, end, events = cpu_s(), time.monotonic() + seconds, 0
        while time.monotonic() < end:
            checks = guard.checks
            batch = guard.consume(sensor.poll(100)) + guard.tick()
            events += len(batch)
            if guard.checks != checks:
                per_check.append(guard.report().check_cpu_us)
        guard_cpu = cpu_s() - start_cpu
        fired, checks = guard.report().canaries_sent, guard.checks
        guard.stop(clean=True)
    finally:
        stop.set()
        load.join()
        sensor.stop()
    print(f"sensor CPU over {seconds:.0f} s, varied workload:")
    base_pct, guard_pct = 100 * base_cpu / seconds, 100 * guard_cpu / seconds
    print(f"  baseline (no guard)        {base_pct:6.2f} % CPU, {base_events} events")
    print(f"  with guard every {interval:g} s     {guard_pct:6.2f} % CPU, {events} events")
    print(
        f"  guard check CPU            median {statistics.median(per_check) / 1000:.2f} ms, "
        f"max {max(per_check) / 1000:.2f} ms per check ({checks} checks)"
    )
    at30 = statistics.median(per_check) / 1000 / 30_000 * 100
    print(f"  at the default 30 s        {at30:.4f} % of one CPU")
    per_check_markers = fired / max(checks, 1)
    print(
        f"canaries: {per_check_markers:.1f} markers per check -> "
        f"{per_check_markers * 3600 / 30:.0f} per hour at 30 s"
    )


def _alerted(collector: Collector, sensor_id: str, replaced: bool) -> bool:
    for a in collector.store.list_alerts(sensor_id=sensor_id) if collector.store else []:
        message = str(a.finding["evidences"][0]["data"].get("message", ""))
        if "Hook Detached" in a.title and (not replaced or ": replaced" in message):
            return True
    return False


def reaction(trials: int, interval: float, tmp: Path, replaced: bool = False) -> None:
    """Detached: a file-family link closed. Replaced: process/handle_exec's link closed and a
    look-alike (the same program from a copy of process.bpf.o) attached at once in its place."""
    times: list[float] = []
    for trial in range(trials):
        base = tmp / f"{'replaced' if replaced else 'detached'}{trial}"
        cfg = AuroraConfig.model_validate(
            {"collector": {"state_dir": str(base / "collector"), "listen": "127.0.0.1:0"}}
        )
        collector = Collector(cfg)
        collector.start()
        assert collector.store is not None
        tok = create_token(collector.store, 3600, 1)
        ident = enroll(
            f"127.0.0.1:{collector.port}", tok.token, collector.ca_fingerprint, base / "s"
        )
        watched = base / "watched"
        watched.mkdir()
        config = AuroraConfig.model_validate(
            {
                "sensor": {
                    "state_dir": str(base / "s"),
                    "linux_families": ["process", "file"],
                    "watch_paths": [str(watched)],
                    "heartbeat_interval_s": 0.5,
                    "health_interval_s": interval,
                    "batch_max_delay_ms": 50,
                    "spool_fsync": False,
                }
            }
        )
        agent = Agent(config, LinuxSensor(config.sensor))
        thread = threading.Thread(target=agent.run, daemon=True)
        thread.start()
        while agent.guard is None or agent.guard.checks < 2:
            time.sleep(0.05)
        target = "process/handle_exec" if replaced else "file/"
        fd = next(h.link_fd for h in agent.guard.attached_hooks() if h.name.startswith(target))
        copy = BpfObject(OBJECTS_DIR / "process.bpf.o") if replaced else None
        programs = dict(copy.programs()) if copy is not None else {}
        if copy is not None:
            copy.load()
        # At a random point of the interval, as an attacker's timing would be.
        time.sleep(random.uniform(0, interval))
        os.close(fd)  # what `gdb -p PID -ex 'call close(FD)'` does to the sensor
        t0 = time.monotonic()
        link = libbpf.lib().bpf_program__attach(programs["handle_exec"]) if replaced else None
        while not _alerted(collector, ident.sensor_id, replaced):
            time.sleep(0.01)
        times.append(time.monotonic() - t0)
        if link:
            libbpf.lib().bpf_link__destroy(link)
        if copy is not None:
            copy.close()
        agent.stop()
        thread.join(30)
        collector.stop()
    what = "look-alike attached -> 'replaced'" if replaced else "detached hook ->"
    print(
        f"{what} alert stored (interval {interval:g} s, {trials} trials): "
        f"median {statistics.median(times):.2f} s, max {max(times):.2f} s "
        f"(bound: one interval + transport)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--trials", type=int, default=5)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_guard needs root (eBPF)")
    with tempfile.TemporaryDirectory() as tmp:
        cost(args.seconds, args.interval, Path(tmp))
        reaction(args.trials, args.interval, Path(tmp))
        reaction(args.trials, args.interval, Path(tmp), replaced=True)


if __name__ == "__main__":
    main()
