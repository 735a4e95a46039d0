"""Cluster benchmark (skeleton): events/s stored with detection on by 1 and 2 worker processes
fed through NATS JetStream, beside one embedded-SQLite collector measured in the same run.

Batches are varied: the Linux sensor's event shapes from tests/data/linux_events (benign
look-alikes, with a few rule hits) mixed with process launches of varying names, command lines
and pids, every event with its own pid, time and uid; their zstd ratio is printed. Phases:

1. baseline: ``aurora collector`` (role all, in-process bus, SQLite, detection on), S streams.
2. fill: S streams into a front-end (role frontend), which acks each batch once JetStream holds
   it: p99 batch-ack latency of that path; no worker runs yet.
3. drain: W workers (each pinned to its own core with taskset when there are enough) consume
   the backlog; events/s = events / time until the batch stream is empty.

Each node keeps a SQLite file of its own (the shared PostgreSQL store is another issue's work;
see docs/scale-out.md), so the drain measures detection + storage per worker, not a shared store.

    PYTHONPATH=src .venv/bin/python bench/bench_cluster.py [--streams 8] [--seconds 10]
"""

from __future__ import annotations

import argparse
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

import orjson  # noqa: E402
from client import enroll  # noqa: E402
from cluster_support import batch_stream_depth  # noqa: E402
from tests.natsserver import NatsServer  # noqa: E402

from aurora.collector.bus.nats_link import NatsLink  # noqa: E402
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


def start_node(
    root: Path, name: str, bus: str, role: str, cpu: int | None
) -> tuple[subprocess.Popen[bytes], int]:
    config = {
        "collector": {
            "state_dir": str(root / name),
            "listen": "127.0.0.1:0",
            "bus": bus,
            "role": role,
        },
        "detection": {"enabled": role != "frontend"},
    }
    path = root / f"{name}.json"
    path.write_text(json.dumps(config))
    cmd = [sys.executable, str(NODE), str(path)]
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu), *cmd]
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'src'}:{REPO}")
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    per_stream = int(40_000 * args.seconds / args.streams / args.batch) + 1
    pools = [varied_batches(per_stream, args.batch, f"bench-{s}", s) for s in range(args.streams)]
    raw = pools[0][0].uncompressed_size
    print(
        f"streams={args.streams} batch={args.batch} ({raw / args.batch:.0f} B/event JSON, "
        f"zstd ratio {raw / len(pools[0][0].events):.1f}:1); {cores} CPUs, load "
        f"{os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # 1. baseline: one embedded node
        state = root / "single"
        tok = token(state)
        proc, port = start_collector(state, detection=True)
        idents = [
            enroll(f"localhost:{port}", tok, (state / "pki" / "ca.crt").read_bytes(), f"b{i}")
            for i in range(args.streams)
        ]
        t0 = time.perf_counter()
        senders = run_senders(f"localhost:{port}", idents, pools, args.seconds)
        single = sum(s.acked_events for s in senders) / (time.perf_counter() - t0)
        single_rss = tree_rss(psutil.Process(proc.pid))
        print(
            f"embedded SQLite, 1 node:  {single:,.0f} events/s stored, "
            f"p99 ack {p99(senders):.1f} ms, RSS {single_rss / 2**20:.0f} MB"
        )
        proc.terminate()
        proc.wait(timeout=60)

        nats = NatsServer(root / "nats")
        nats.start()
        link = NatsLink.open(nats.url, "bench")
        try:
            for workers in (1, 2):
                sub = root / f"w{workers}"
                sub.mkdir()
                front, fport = start_node(sub, "front", nats.url, "frontend", None)
                ca = (sub / "front" / "pki" / "ca.crt").read_bytes()
                ftok = token(sub / "front")
                fidents = [
                    enroll(f"localhost:{fport}", ftok, ca, f"f{i}") for i in range(args.streams)
                ]
                t0 = time.perf_counter()
                senders = run_senders(f"localhost:{fport}", fidents, pools, args.seconds)
                sent = sum(s.acked_events for s in senders)
                fill = sent / (time.perf_counter() - t0)
                front_rss = tree_rss(psutil.Process(front.pid))
                nodes = [
                    start_node(
                        sub,
                        f"worker{k}",
                        nats.url,
                        "worker",
                        k % cores if workers <= cores else None,
                    )
                    for k in range(workers)
                ]
                # Timed from the first batch a worker stores, so rule loading is left out.
                full = batch_stream_depth(link)
                while batch_stream_depth(link) >= full:
                    time.sleep(0.01)
                t0 = time.perf_counter()
                while (left := batch_stream_depth(link)) > 0:
                    time.sleep(0.05)
                drained = (
                    sent * (1 - 1 / max(full, 1)) / (time.perf_counter() - t0) if left == 0 else 0.0
                )
                rss = [tree_rss(psutil.Process(p.pid)) / 2**20 for p, _ in nodes]
                print(
                    f"JetStream, {workers} worker(s): {drained:,.0f} events/s stored "
                    f"({drained / single:.2f}x the embedded node); front-end {fill:,.0f} events/s "
                    f"acked, p99 ack {p99(senders):.1f} ms, RSS {front_rss / 2**20:.0f} MB; "
                    f"worker RSS {', '.join(f'{r:.0f}' for r in rss)} MB"
                )
                for p, _ in nodes:
                    stop(p)
                stop(front)
        finally:
            link.close()
            nats.stop()
    print(
        "note: with 2 cores shared by other sessions (and nats-server, the front-end and the "
        "benchmark on them too) the 2-worker figure is bounded by the cores, not the design"
    )


if __name__ == "__main__":
    main()
