"""The escape family's cost: the same workloads under the eBPF sensor without and with it, in one
run (root, real kernel).

1. Exec storm (bench_exec_storm's workload): every fork passes the family's clone hook and every
   exec's library opens its openat hook, both filtered in the kernel, so this is the price the
   whole host pays. Printed: workload wall time, sensor CPU per event, launches captured.
2. Escape mix: varied real calls the family reports (a different name, path or size each round):
   unshare + tmpfs mount in a new mount namespace, memfd_create, prctl renames of the main thread
   and of a thread (the latter filtered), capset, setns, writes that are and are not a
   release_agent. Printed: events per family, sensor CPU per escape event, drops.
3. Idle: events per minute of the family on this host as it is (systemd, logins, other jobs).

    sudo PYTHONPATH=src .venv/bin/python bench/bench_escape_hooks.py [--count N] [--rounds N]
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aurora.config.sensor import LINUX_FAMILIES, SensorConfig
from aurora.sensor.linux import LinuxSensor
from bench_exec_storm import TRUE, storm

BASE = [f for f in LINUX_FAMILIES if f != "escape"]
WITH = [*BASE, "escape"]

# One round of the escape mix, varied by its argument n.
ROUND = """
import ctypes, os, sys, threading
n = int(sys.argv[1])
tmp = sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
os.close(os.memfd_create(f"buf-{n}", (n % 2) * os.MFD_CLOEXEC))
def name_thread():
    libc.prctl(15, f"thr-{n}".encode(), 0, 0, 0)
t = threading.Thread(target=name_thread)
t.start()
t.join()
libc.prctl(15, f"w-{n % 97}".encode(), 0, 0, 0)
d = f"{tmp}/d{n % 5}"
os.makedirs(d, exist_ok=True)
with open(f"{d}/f{n}.log", "w") as fh:
    fh.write("x" * (n % 300))
with open(f"{d}/release_agent", "w") as fh:
    fh.write("/bin/true")
hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
data = (ctypes.c_uint32 * 6)()
libc.capget(hdr, data)
data[0] &= ~(1 << (n % 30))
libc.capset(hdr, data)
"""


class Poller:
    """Polls the sensor in a thread like the agent's producer; counts its events and CPU."""

    def __init__(self, sensor: LinuxSensor) -> None:
        self.sensor = sensor
        self.by_class: collections.Counter[int] = collections.Counter()
        self.events: list[dict[str, Any]] = []
        self.keep = False
        self.cpu_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.thread_time()
        while not self._stop.is_set():
            batch = self.sensor.poll(100)
            for ev in batch:
                self.by_class[ev["class_uid"]] += 1
            if self.keep:
                self.events.extend(batch)
        self.cpu_s = time.thread_time() - start

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def drain_and_stop(self) -> None:
        """Stop once the rings are empty: no event for half a second."""
        last = -1
        while last != sum(self.by_class.values()):
            last = sum(self.by_class.values())
            time.sleep(0.5)
        self._stop.set()
        self._thread.join()

    def __exit__(self, *exc: object) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join()


def with_sensor(families: list[str], work: Any, keep: bool = False) -> dict[str, Any]:
    sensor = LinuxSensor(SensorConfig(linux_families=families))
    sensor.start()
    try:
        sensor.poll(0)
        with Poller(sensor) as poller:
            poller.keep = keep
            start = time.perf_counter()
            detail = work()
            wall = time.perf_counter() - start
            poller.drain_and_stop()
        drops = sensor.drop_counts()
    finally:
        sensor.stop()
    total = sum(poller.by_class.values())
    return {
        "wall": wall,
        "cpu": poller.cpu_s,
        "events": total,
        "by_class": dict(poller.by_class),
        "drops": drops,
        "detail": detail,
        "kept": poller.events,
    }


def launches(events: list[dict[str, Any]], parents: set[int]) -> int:
    true = os.path.realpath(TRUE)
    return sum(
        1
        for ev in events
        if ev["class_uid"] == 1007
        and ev["activity_id"] == 1
        and ev["process"].get("file", {}).get("path") == true
        and ev["unmapped"]["ppid"] in parents
    )


def escape_mix(rounds: int, tmp: Path) -> None:
    for n in range(rounds):
        subprocess.run([sys.executable, "-c", ROUND, str(n), str(tmp)], check=True)
        subprocess.run(
            ["unshare", "--mount", "mount", "-t", "tmpfs", "-o", f"size={n + 1}m", f"t{n}", "/mnt"],
            check=True,
        )


def report_storm(count: int) -> None:
    print(f"== exec storm: {count} fork+exec of {TRUE}, 2 workers")
    rows = {}
    for label, fams in (("without escape", BASE), ("with escape", WITH), ("without (again)", BASE)):
        r = with_sensor(fams, lambda: storm(count, 2), keep=True)
        wall, pids = r["detail"]
        got = launches(r["kept"], set(pids))
        rows[label] = r | {"wall": wall}
        print(
            f"{label:<16}: workload {wall:.2f} s ({count / wall:.0f} exec/s), captured "
            f"{got}/{count}, sensor CPU {r['cpu'] * 1e6 / max(r['events'], 1):.1f} us/event "
            f"over {r['events']} events, drops {r['drops']}"
        )
    base = (rows["without escape"]["wall"] + rows["without (again)"]["wall"]) / 2
    print(f"slowdown from the escape hooks: {rows['with escape']['wall'] / base:.3f}x")


def escape_kind(ev: dict[str, Any]) -> str | None:
    """Which of the escape family's reports ``ev`` is, or None for another family's event."""
    u = ev.get("unmapped") or {}
    if ev["class_uid"] == 1003 and ev["kernel"]["type"] in ("namespace", "io_uring", "io_uring_op"):
        return str(ev["kernel"]["type"])
    if ev["class_uid"] == 1001 and ev["activity_id"] == 12:
        return "mount"
    if u.get("cgroup_release_agent"):
        return "release_agent"
    if ev["class_uid"] == 1007 and u.get("syscall") in ("capset", "prctl"):
        return str(u["syscall"])
    return "memfd_create" if ev["class_uid"] == 1004 else None


def report_mix(rounds: int) -> None:
    print(f"\n== escape mix: {rounds} varied rounds (python calls + unshare/mount)")
    print("   expected per round: memfd_create, prctl (main thread; the thread's is filtered),")
    print("   release_agent, capset, namespace (unshare), mount (tmpfs; propagation filtered)")
    for label, fams in (("without escape", BASE), ("with escape", WITH)):
        with tempfile.TemporaryDirectory(prefix="aurora-esc-") as tmp:
            r = with_sensor(fams, lambda tmp=tmp: escape_mix(rounds, Path(tmp)), keep=True)
        kinds = collections.Counter(k for k in map(escape_kind, r["kept"]) if k)
        print(
            f"{label:<16}: workload {r['wall']:.2f} s, sensor CPU {r['cpu']:.2f} s for "
            f"{r['events']} events ({r['cpu'] * 1e6 / max(r['events'], 1):.1f} us/event), "
            f"drops {sum(r['drops'].values())}"
        )
        print(f"{'':<16}  escape-family events: {dict(sorted(kinds.items()))}")


def report_idle(seconds: float) -> None:
    print(f"\n== idle: {seconds:.0f} s of this host as it is")
    for label, fams in (("without escape", BASE), ("with escape", WITH)):
        r = with_sensor(fams, lambda: time.sleep(seconds))
        per_min = r["events"] * 60 / seconds
        esc = sum(r["by_class"].get(c, 0) for c in (1003, 1004))
        print(
            f"{label:<16}: {per_min:.0f} events/min (kernel/memory classes {esc}), "
            f"sensor CPU {r['cpu']:.2f} s"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--idle", type=float, default=60.0)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench_escape_hooks: needs root (loads eBPF programs)", file=sys.stderr)
        return 2
    report_storm(args.count)
    report_mix(args.rounds)
    report_idle(args.idle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
