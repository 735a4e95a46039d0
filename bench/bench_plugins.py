"""Plugin events through one socket into the spool, against the sensor's own eBPF path.

A plugin process (`plugin_sender.py`: the SDK's Runner) sends varied OCSF Authentication events,
made from realistic sshd/sudo/su log lines by the bridge's parser, over one Unix socket; the sensor
side (plugin host, the agent's serialise-and-spool loop) runs in this process, so its CPU time
is the sensor's. In the same run the eBPF process family captures an exec storm of varied
commands through the same loop. Prints events/s into the spool, sensor CPU per event, losses,
and the transport's batch compression ratio for each path. The eBPF half needs root.

    PYTHONPATH=src .venv/bin/python bench/bench_plugins.py [--events 200000] [--execs 20000]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from aurora.config.sensor import SensorConfig  # noqa: E402
from aurora.plugins.host import PluginHost  # noqa: E402
from aurora.plugins.manifest import Manifest, ManifestDir, file_sha256  # noqa: E402
from aurora.sensor.source import EventSource  # noqa: E402
from aurora.sensor.spool import Spool  # noqa: E402
from aurora.wire.codec import encode_batch_raw  # noqa: E402

BATCH = 1000  # the agent's batch_max_events default


STORM = """
import json, os, sys
null = [(os.POSIX_SPAWN_OPEN, fd, "/dev/null", os.O_WRONLY, 0) for fd in (1, 2)]
for args in json.load(sys.stdin):
    os.waitpid(os.posix_spawn(args[0], args, {}, file_actions=null), 0)
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spool_events(source: EventSource, spool: Spool, want: int, idle_s: float) -> dict[str, Any]:
    """The agent's producer loop (poll, serialise, append): until ``want`` events or ``idle_s``
    without any. Returns seconds from the first event, CPU seconds and a sample of raw events."""
    got, sample, first, last = 0, [], 0.0, time.monotonic()
    cpu0 = time.process_time()
    buf: list[bytes] = []
    while got < want and time.monotonic() - last < idle_s:
        events = source.poll(50)
        if not events:
            continue
        last = time.monotonic()
        first = first or last
        buf.extend(orjson.dumps(e) for e in events)
        got += len(events)
        if len(buf) >= BATCH:
            spool.append_or_count(buf)
            if len(sample) < 20 * BATCH:
                sample.extend(buf)
            buf = []
    if buf:
        spool.append_or_count(buf)
        sample.extend(buf)
    return {
        "events": got,
        "seconds": max(last - first, 1e-9),
        "cpu": time.process_time() - cpu0,
        "sample": sample,
    }


def compression(raw: list[bytes]) -> str:
    plain = packed = 0
    for i in range(0, len(raw), BATCH):
        batch = encode_batch_raw("bench", i + 1, raw[i : i + BATCH], compress=True)
        plain += batch.uncompressed_size
        packed += len(batch.events)
    return f"{plain / max(packed, 1):.1f}x ({plain / max(len(raw), 1):.0f} B/event uncompressed)"


def plugin_path(tmp: Path, count: int) -> dict[str, Any]:
    exe = os.readlink("/proc/self/exe")
    manifests = ManifestDir(tmp / "manifests")
    manifests.enable(Manifest("bench", "1.0", exe, file_sha256(exe), (3002,), os.getuid()))
    host = PluginHost(tmp / "p.sock", manifests)
    host.start()
    spool = Spool(tmp / "spool-plugin", 2 * 1024**3, fsync=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    plugin = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "plugin_sender.py"), str(tmp / "p.sock"), str(count)],
        stdin=subprocess.PIPE,
        env=env,
    )
    try:
        result = spool_events(host, spool, count, idle_s=60)
        result["plugin_cpu"] = cpu_seconds(plugin.pid)
        result["lost"] = sum(host.plugin_losses().values())
    finally:
        assert plugin.stdin is not None
        plugin.stdin.close()
        plugin.wait(timeout=30)
        host.stop()
        spool.close()
    return result


def ebpf_path(tmp: Path, count: int) -> dict[str, Any] | None:
    if os.geteuid() != 0:
        return None
    from aurora.sensor.linux import LinuxSensor

    sensor = LinuxSensor(SensorConfig(linux_families=["process"], state_dir=tmp / "s"))
    sensor.start()
    spool = Spool(tmp / "spool-ebpf", 2 * 1024**3, fsync=False)
    rng = random.Random(11)
    programs = [
        ["/bin/true"],
        ["/bin/echo", "-n"],
        ["/usr/bin/env", "LANG=C", "/bin/true"],
        ["/bin/sh", "-c", "exit 0"],
    ]
    argv = [
        [*p, *(f"arg{rng.randrange(10**6)}" for _ in range(rng.randrange(4)))]
        for p in rng.choices(programs, k=count)
    ]
    # The storm runs in its own process, so this process's CPU time is the sensor's alone.
    storm = subprocess.Popen([sys.executable, "-c", STORM], stdin=subprocess.PIPE)
    try:
        assert storm.stdin is not None
        storm.stdin.write(orjson.dumps(argv))
        storm.stdin.close()
        # Every exec is also an exit: two events per process, plus whatever else runs.
        result = spool_events(sensor, spool, 2 * count, idle_s=2.0)
        storm.wait(timeout=600)
        result["kernel_drops"] = sum(sensor.drop_counts().values())
    finally:
        sensor.stop()
        spool.close()
    return result


def report(label: str, r: dict[str, Any], extra: dict[str, Any]) -> None:
    print(f"{label}")
    print(
        f"  events into the spool   : {r['events']} in {r['seconds']:.2f} s "
        f"({r['events'] / r['seconds']:,.0f} events/s)"
    )
    print(
        f"  sensor CPU per event    : {r['cpu'] * 1e6 / max(r['events'], 1):.1f} us "
        f"({r['cpu']:.2f} s total)"
    )
    print(f"  batch compression (zstd): {compression(r['sample'])}")
    for key, value in extra.items():
        print(f"  {key:<24}: {value}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000, help="plugin events to send")
    ap.add_argument("--execs", type=int, default=20_000, help="processes for the eBPF path")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="apl-bench-", dir="/tmp") as tmp_name:
        tmp = Path(tmp_name)
        plugin = plugin_path(tmp, args.events)
        ebpf = ebpf_path(tmp, args.execs)
    report(
        "plugin socket -> spool (one plugin, varied Authentication events)",
        plugin,
        {"lost": plugin["lost"], "plugin process CPU": f"{plugin['plugin_cpu']:.2f} s"},
    )
    if ebpf is None:
        print("eBPF path -> spool: skipped (needs root)")
        return 0
    report(
        "eBPF process family -> spool (baseline, same run: varied exec storm)",
        ebpf,
        {
            "kernel drops": ebpf["kernel_drops"],
            "note": "events/s is bounded by the storm's exec rate, not by the sensor",
        },
    )
    ratio = (plugin["cpu"] / max(plugin["events"], 1)) / (ebpf["cpu"] / max(ebpf["events"], 1))
    print(f"plugin / eBPF sensor CPU per event: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
