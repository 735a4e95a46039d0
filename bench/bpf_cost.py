"""In-kernel cost of the sensor's own BPF programs, from the kernel's per-program run statistics.

Wall-clock slowdowns on a shared machine move with everyone else's load; the kernel's count of
runs and nanoseconds spent in each program does not. Statistics are on only while the descriptor
BPF_ENABLE_STATS returns is open, i.e. for the measurement, and are read from our own programs'
descriptors (struct bpf_prog_info: run_time_ns at byte 192, run_cnt at 200, uapi-stable).
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import Any

from aurora.sensor.guard import bpfinfo
from aurora.sensor.linux import libbpf

BPF_STATS_RUN_TIME = 0


def _stats(prog: int) -> tuple[int, int]:
    raw = bpfinfo._info(bpfinfo.program_fd(prog))  # the guard's info reader, reused
    return int.from_bytes(raw[192:200], "little"), int.from_bytes(raw[200:208], "little")


def measure(objects: dict[str, Any], workload: Callable[[], None]) -> dict[str, tuple[int, float]]:
    """Run ``workload`` with statistics on; per attached program that ran: (runs, ns per run)."""
    so = libbpf.lib()
    so.bpf_enable_stats.restype = ctypes.c_int
    so.bpf_enable_stats.argtypes = [ctypes.c_int]
    fd = so.bpf_enable_stats(BPF_STATS_RUN_TIME)
    if fd < 0:
        raise SystemExit(f"BPF_ENABLE_STATS failed: {os.strerror(-fd)}")
    progs = {
        f"{family}/{name}": prog
        for family, obj in objects.items()
        for name, (prog, _link) in obj.attached.items()
    }
    try:
        before = {name: _stats(prog) for name, prog in progs.items()}
        workload()
        after = {name: _stats(prog) for name, prog in progs.items()}
    finally:
        os.close(fd)
    out: dict[str, tuple[int, float]] = {}
    for name in progs:
        runs = after[name][1] - before[name][1]
        if runs:
            out[name] = (runs, (after[name][0] - before[name][0]) / runs)
    return out


def in_sensor(
    sensor_config: dict[str, Any], workloads: dict[str, Callable[[], None]]
) -> dict[str, dict[str, tuple[int, float]]]:
    """Start a LinuxSensor in this process and measure each workload's programs in turn."""
    from aurora.config.sensor import SensorConfig
    from aurora.sensor.linux import LinuxSensor

    sensor = LinuxSensor(SensorConfig.model_validate(sensor_config))
    sensor.start()
    done = threading.Event()

    def drain() -> None:  # the rings must not fill while the workload runs
        while not done.is_set():
            sensor.poll(50)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        return {name: measure(sensor.bpf_objects(), fn) for name, fn in workloads.items()}
    finally:
        done.set()
        reader.join()
        sensor.stop()


def print_costs(costs: dict[str, dict[str, tuple[int, float]]], min_runs: int = 1000) -> None:
    for workload, programs in costs.items():
        busy = {p: v for p, v in programs.items() if v[0] >= min_runs}
        shown = ", ".join(f"{p} {ns:.0f} ns x {runs}" for p, (runs, ns) in sorted(busy.items()))
        print(f"  in-kernel, {workload}: {shown or 'no program ran often'}")
