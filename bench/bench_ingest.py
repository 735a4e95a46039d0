"""Ingest benchmark: N sensor streams over loopback mTLS into a collector process (detection off;
--detection runs the collector's default rules on every event, as a deployment does).

Each stream sends its own pre-encoded batches (zstd, as the sensor sends them) whose event times
advance from batch to batch, as a real sensor's do. The batches are built before the clock starts,
for up to CEILING events/s, so the senders spend no CPU on encoding while the collector is timed;
a stream that runs out says so.

Prints sustained events/s stored (acked = durably committed), p50/p99 batch-sent-to-ack latency,
the collector's peak RSS and CPU, and a same-run baseline: the same batches written straight into
a SQLiteStore (decode + insert + commit, no gRPC/TLS), with the ratio between the two.

    PYTHONPATH=src .venv/bin/python bench/bench_ingest.py [--streams 4] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "collector"))

import grpc  # noqa: E402
import orjson  # noqa: E402
from client import Identity, enroll  # noqa: E402

from aurora.collector.store import IncomingBatch  # noqa: E402
from aurora.collector.store.sqlite import SQLiteStore  # noqa: E402
from aurora.v1 import common_pb2, stream_pb2, stream_pb2_grpc  # noqa: E402
from aurora.wire.codec import decode_events, encode_batch_raw  # noqa: E402
from collector_process import start_collector, tree_cpu, tree_rss  # noqa: E402


def realistic_event(i: int, host: str) -> dict[str, Any]:
    """A process launch shaped like the Linux sensor's (about 1.3 KB of JSON)."""
    pid = 10_000 + i % 50_000
    return {
        "class_uid": 1007,
        "class_name": "Process Activity",
        "category_uid": 1,
        "category_name": "System Activity",
        "activity_id": 1,
        "activity_name": "Launch",
        "type_uid": 100701,
        "time": int(time.time() * 1000),
        "severity_id": 1,
        "metadata": {
            "version": "1.8.0",
            "uid": f"{host}-{i:012d}",
            "product": {"name": "Aurora EDR", "vendor_name": "Aurora", "version": "0.1.0"},
        },
        "device": {"hostname": host, "os": {"name": "Linux", "type_id": 200}, "uid": host},
        "process": {
            "pid": pid,
            "uid": f"{host}:{pid}:{i}",
            "name": ["curl", "bash", "python3", "ls"][i % 4],
            "cmd_line": f"/usr/bin/curl -s https://example.org/api/v1/items/{i} -o /tmp/out.{i}",
            "file": {
                "path": "/usr/bin/curl",
                "name": "curl",
                "hashes": [
                    {
                        "algorithm_id": 3,
                        "value": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    }
                ],
            },
            "user": {"name": "alice", "uid": "1000"},
            "working_directory": "/home/alice/projects/site",
            "created_time": int(time.time() * 1000),
            "parent_process": {
                "pid": pid - 1,
                "name": "bash",
                "cmd_line": "-bash",
                "file": {"path": "/usr/bin/bash", "name": "bash"},
            },
        },
        "actor": {"process": {"pid": pid - 1, "name": "bash", "file": {"path": "/usr/bin/bash"}}},
        "unmapped": {"cgroup_id": 4242, "exe_memfd": False, "argv_truncated": False},
    }


CEILING = 250_000  # events/s the pre-built batches can feed, all streams together
_SENTINEL = 7_777_777_777_777


def stream_batches(n_batches: int, batch: int, host: str) -> list[stream_pb2.EventBatch]:
    """One stream's batches: the same process launches, with event times that keep advancing
    (about 25 events per millisecond), encoded and compressed once, up front."""
    halves = []
    for i in range(batch):
        ev = realistic_event(i, host)
        ev["time"] = _SENTINEL
        a, b = orjson.dumps(ev).split(str(_SENTINEL).encode())
        halves.append((a, b))
    start = int(time.time() * 1000)
    out = []
    for k in range(n_batches):
        t0 = start + k * batch // 25
        raws = [a + str(t0 + i // 25).encode() + b for i, (a, b) in enumerate(halves)]
        out.append(encode_batch_raw("", 1, raws))
    return out


def token(state: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "aurora",
            "token",
            "create",
            "--uses",
            "1000",
            "--json",
            "--state-dir",
            str(state),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return out.split('"token":"')[1].split('"')[0]


class Sender(threading.Thread):
    """One sensor stream: keeps `window` batches in flight, records send->ack latency."""

    def __init__(
        self,
        addr: str,
        ident: Identity,
        batches: list[stream_pb2.EventBatch],
        window: int,
        stop_at: float,
    ) -> None:
        super().__init__(daemon=True)
        self.identity, self.batches, self.window, self.stop_at = ident, batches, window, stop_at
        self.ran_dry = False
        creds = grpc.ssl_channel_credentials(ident.ca_pem, ident.key_pem, ident.cert_pem)
        self.channel = grpc.secure_channel(addr, creds)
        self.latencies: list[float] = []
        self.acked_events = 0
        self.sent: dict[int, float] = {}
        self.cv = threading.Condition()

    def requests(self) -> Any:
        yield stream_pb2.SensorMessage(
            hello=stream_pb2.Hello(
                sensor_id=self.identity.sensor_id, host=common_pb2.HostInfo(hostname="bench")
            )
        )
        seq = 1
        for b in self.batches:
            if time.time() >= self.stop_at:
                break
            with self.cv:
                while len(self.sent) >= self.window:
                    self.cv.wait()
                self.sent[seq] = time.perf_counter()
            b.first_seq = seq
            yield stream_pb2.SensorMessage(batch=b)
            seq += b.count
        else:
            self.ran_dry = True
        with self.cv:  # drain: wait for the last acks
            while self.sent:
                self.cv.wait(timeout=10)
                if time.time() > self.stop_at + 30:
                    break

    def run(self) -> None:
        call = stream_pb2_grpc.SensorStreamStub(self.channel).Connect(self.requests())
        for msg in call:
            if msg.WhichOneof("body") != "ack":
                continue
            now = time.perf_counter()
            with self.cv:
                t0 = self.sent.pop(msg.ack.first_seq, None)
                if t0 is not None and msg.ack.accepted:
                    self.latencies.append(now - t0)
                    self.acked_events += msg.ack.count
                self.cv.notify_all()
                if not self.sent and time.time() >= self.stop_at:
                    break
        call.cancel()


def baseline(pools: list[list[stream_pb2.EventBatch]], seconds: float) -> float:
    """Decode + insert + commit the same batches into a SQLiteStore, no network: events/s.
    One group per round holds the next batch of every stream, as the collector's writer sees."""
    with tempfile.TemporaryDirectory() as d:
        store = SQLiteStore(Path(d) / "aurora.db")
        n = 0
        seq = [1] * len(pools)
        start = time.perf_counter()
        k = 0
        while time.perf_counter() - start < seconds and k < len(pools[0]):
            group = []
            for s, pool in enumerate(pools):
                events = decode_events(pool[k])
                group.append(IncomingBatch(f"base-{s}", seq[s], events, received_ms=1))
                seq[s] += len(events)
                n += len(events)
            store.ingest(group)
            k += 1
        rate = n / (time.perf_counter() - start)
        store.close()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--window", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument(
        "--detection", action="store_true", help="run the collector's default rules on events"
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "collector"
        tok = token(state)
        proc, port = start_collector(state, detection=args.detection)
        try:
            ps = psutil.Process(proc.pid)
            addr = f"localhost:{port}"
            ca = (state / "pki" / "ca.crt").read_bytes()
            idents = [enroll(addr, tok, ca, f"bench-{i}") for i in range(args.streams)]
            per_stream = int(CEILING * args.seconds / args.streams / args.batch) + 1
            pools = [stream_batches(per_stream, args.batch, "bench") for _ in idents]
            payload = pools[0][0]
            raw_size = payload.uncompressed_size
            stop_at = time.time() + args.seconds
            senders = [
                Sender(addr, ident, pool, args.window, stop_at)
                for ident, pool in zip(idents, pools, strict=True)
            ]
            me = psutil.Process()
            cpu0, mine0 = tree_cpu(ps), me.cpu_times()
            t0 = time.perf_counter()
            peak_rss = 0
            for s in senders:
                s.start()
            while any(s.is_alive() for s in senders):
                peak_rss = max(peak_rss, tree_rss(ps))
                time.sleep(0.2)
            elapsed = time.perf_counter() - t0
            cpu1, mine1 = tree_cpu(ps), me.cpu_times()
            total = sum(s.acked_events for s in senders)
            lat = sorted(x for s in senders for x in s.latencies)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            stored = SQLiteStore(state / "aurora.db")
            in_db = stored.count_events()
            stored.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    rate = total / elapsed
    base = baseline(pools, min(args.seconds, 10.0))
    cpu = (cpu1 - cpu0) / elapsed
    senders_cpu = (mine1.user + mine1.system - mine0.user - mine0.system) / elapsed
    p = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (lambda q: 0.0)
    print(
        f"streams={args.streams} batch={args.batch} events ({raw_size / args.batch:.0f} B/event "
        f"JSON, {len(payload.events) / raw_size:.2f} zstd ratio) window={args.window}"
    )
    print(f"acked events:        {total} in {elapsed:.1f} s (stored in db: {in_db})")
    if any(s.ran_dry for s in senders):
        print(f"NOTE: a stream sent all its pre-built batches; raise CEILING ({CEILING:,}/s)")
    goal = "(detection on)" if args.detection else "(goal >= 100,000, detection off)"
    print(f"ingest rate:         {rate:,.0f} events/s stored {goal}")
    print(f"batch ack latency:   p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms")
    print(
        f"collector:           peak RSS {peak_rss / 2**20:.0f} MB, CPU {cpu * 100:.0f}% of a core"
        " (with its batch-reader process)"
    )
    if total:
        us = cpu * elapsed / total * 1e6
        print(f"collector CPU/event: {us:.1f} us (=> {1e6 / us:,.0f} events/s per busy core)")
    print(f"senders (this process): CPU {senders_cpu * 100:.0f}% of a core")
    print(f"load average:        {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared)")
    print(f"baseline (SQLiteStore decode+insert, no gRPC): {base:,.0f} events/s")
    print(f"ratio gRPC/mTLS ingest vs baseline: {rate / base:.2f}")


if __name__ == "__main__":
    main()
