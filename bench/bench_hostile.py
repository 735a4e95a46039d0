"""Hostile-sensor benchmark: how long an honest sensor's event takes to become visible (committed
and queryable from another connection) while an enrolled hostile sensor sends its worst batches in
a loop, against the same measure with no attacker, side by side in one run.

The hostile batches are the reproductions of issue 18: drop counters of 2^64-1, events whose
``time`` and ``pid`` exceed SQLite's signed 64 bits, and a sequence number past 2^63. When the
collector closes its stream the attacker reconnects at once; so does the honest sensor, which
then resends its batch, as a real sensor does. Goal: within 2 s of the no-attack time.

    PYTHONPATH=src .venv/bin/python bench/bench_hostile.py [--seconds 10] [--interval 0.1]
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "collector"))
sys.path.insert(0, str(REPO / "bench"))

from client import Identity, Stream, make_event  # noqa: E402

from aurora.collector.store.sqlite import SQLiteStore  # noqa: E402
from aurora.sensor.transport.channel import Backoff  # noqa: E402
from aurora.v1 import stream_pb2  # noqa: E402
from aurora.wire.codec import encode_batch, encode_batch_raw  # noqa: E402
from bench_fleet import make_fleet  # noqa: E402
from collector_process import start_collector  # noqa: E402

U64_MAX = (1 << 64) - 1
_HONEST_BATCH = 200


def worst_batches(sensor_id: str) -> list[stream_pb2.EventBatch]:
    def raw(seq: int, **fields: object) -> bytes:
        ev = make_event(seq, hostname="evil")
        ev.update(fields)
        if "pid" in fields:
            ev["process"]["pid"] = ev.pop("pid")
        return json.dumps(ev).encode()

    drops = {"kernel_drops": U64_MAX, "spool_evicted": U64_MAX, "spool_corrupt": U64_MAX}
    return [
        encode_batch_raw(sensor_id, 1, [raw(1) for _ in range(50)], **drops),
        encode_batch_raw(sensor_id, 1, [raw(1, time=2**63 + 5, pid=2**64 + 7)] * 50),
        encode_batch_raw(sensor_id, U64_MAX, [raw(1)]),
    ]


def attack(addr: str, ident: Identity, stop: threading.Event) -> None:
    """Send the worst batches forever, up to 64 unacknowledged; reconnect whenever cut off."""
    worst = worst_batches(ident.sensor_id)
    while not stop.is_set():
        stream = Stream(addr, ident)
        try:
            stream.hello(hostname="evil")
            unacked = 0
            while not stop.is_set():
                while unacked < 64:
                    stream.send(batch=worst[unacked % len(worst)])
                    unacked += 1
                msg = stream.recv(timeout=5)
                if msg is None:
                    break
                if msg.WhichOneof("body") == "ack":
                    unacked -= 1
        except Exception:  # a cut stream, a refused connection: the attacker just comes back
            time.sleep(0.01)
        finally:
            stream.close()


class Honest:
    """A sensor that streams one batch every ``interval`` seconds and, like the real one (same
    :class:`Backoff`), reconnects after a lost stream and resends what was not acknowledged."""

    def __init__(self, addr: str, ident: Identity, interval: float) -> None:
        self.addr, self.ident, self.interval = addr, ident, interval
        self.created: dict[int, float] = {}  # last seq of a batch -> when it was first sent
        self._unacked: dict[int, stream_pb2.EventBatch] = {}
        self._next_seq = 1
        self._sending = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _new_batch(self) -> None:
        first = self._next_seq
        events = [make_event(first + i) for i in range(_HONEST_BATCH)]
        self._next_seq += _HONEST_BATCH
        self._unacked[first] = encode_batch(self.ident.sensor_id, first, events)
        self.created[first + _HONEST_BATCH - 1] = time.monotonic()

    def _run(self) -> None:
        backoff = Backoff(0.5, 30.0)  # the sensor's defaults (reconnect_min_s, reconnect_max_s)
        while not self._stop.is_set():
            stream = Stream(self.addr, self.ident)
            try:
                acked = stream.hello().acked_through_seq
                backoff.reset()
                self._unacked = {k: v for k, v in self._unacked.items() if k > acked}
                for batch in list(self._unacked.values()):
                    stream.send(batch=batch)
                self._stream(stream)
            except Exception:  # a lost stream: back off and reconnect, as the sensor does
                pass
            finally:
                stream.close()
            self._stop.wait(backoff.next_delay())

    def _stream(self, stream: Stream) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            if self._sending.is_set() and time.monotonic() >= next_at:
                self._new_batch()
                stream.send(batch=self._unacked[max(self._unacked)])
                next_at += self.interval
            try:
                msg = stream.recv(timeout=0.005)
            except queue.Empty:
                continue
            if msg is None or msg.WhichOneof("body") == "goodbye":
                return
            if msg.WhichOneof("body") == "ack":
                self._unacked.pop(msg.ack.first_seq, None)

    def start_sending(self) -> None:
        self._sending.set()

    def stop_sending(self) -> None:
        self._sending.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def measure(honest: Honest, reader: SQLiteStore, seconds: float, timeout: float) -> list[float]:
    """Latency of every batch the honest sensor starts in ``seconds``, read from the store."""
    sid = honest.ident.sensor_id
    honest.created.clear()
    latencies: dict[int, float] = {}
    honest.start_sending()
    end = time.monotonic() + seconds
    while time.monotonic() < end or len(latencies) < len(honest.created):
        if time.monotonic() >= end:
            honest.stop_sending()
        hwm = reader.high_water(sid)
        now = time.monotonic()
        for last, created in list(honest.created.items()):
            if last in latencies:
                continue
            if last <= hwm:
                latencies[last] = now - created
            elif now - created > timeout:
                latencies[last] = float("inf")
        time.sleep(0.005)
    honest.stop_sending()
    return list(latencies.values())


def compression_ratio(db: Path) -> float:
    store = SQLiteStore(db)
    try:
        with store._lock:
            size, stored = store._conn.execute(
                "SELECT SUM(size), SUM(LENGTH(data)) FROM event_batches"
            ).fetchone()
    finally:
        store.close()
    return float(size) / float(stored) if stored else 0.0


def summary(xs: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max in seconds (inf when a batch never became visible in the timeout)."""
    ordered = sorted(xs) or [float("inf")]
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99, ordered[-1]


def describe(name: str, xs: list[float]) -> str:
    p50, p99, worst = summary(xs)
    lost = sum(1 for x in xs if x == float("inf"))
    return (
        f"{name:<16} {len(xs):5d} batches   p50 {p50 * 1000:9.1f} ms   p99 {p99 * 1000:9.1f} ms"
        f"   max {worst * 1000:9.1f} ms   never visible: {lost}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    ap.add_argument("--interval", type=float, default=0.1, help="honest sensor's batch period")
    ap.add_argument("--timeout", type=float, default=60.0, help="give up on one batch after")
    ap.add_argument(
        "--connections", type=int, default=4, help="streams the hostile sensor opens at once"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        ca, key, fleet = make_fleet(state, 2)
        proc, port = start_collector(state)
        addr = f"localhost:{port}"
        honest_id, hostile_id = (Identity(sid, key, cert, ca) for sid, cert in fleet)
        honest = Honest(addr, honest_id, args.interval)
        reader = SQLiteStore(state / "aurora.db")
        try:
            calm = measure(honest, reader, args.seconds, args.timeout)
            stop = threading.Event()
            attackers = [
                threading.Thread(target=attack, args=(addr, hostile_id, stop), daemon=True)
                for _ in range(args.connections)
            ]
            for thread in attackers:
                thread.start()
            time.sleep(1.0)  # let the attack reach its steady loop
            attacked = measure(honest, reader, args.seconds, args.timeout)
            stop.set()
            for thread in attackers:
                thread.join(timeout=10)
        finally:
            honest.close()
            reader.close()
            proc.terminate()
            proc.wait(timeout=30)
        print(
            f"honest batches of {_HONEST_BATCH} events every {args.interval} s for"
            f" {args.seconds} s a phase; the hostile sensor loops on {args.connections} streams"
        )
        print(describe("no attacker", calm))
        print(describe("hostile looping", attacked))
        calm_s, attacked_s = summary(calm), summary(attacked)
        print(
            f"difference under attack: p50 {(attacked_s[0] - calm_s[0]) * 1000:+.1f} ms,"
            f" max {(attacked_s[2] - calm_s[2]) * 1000:+.1f} ms (goal: within 2000 ms)"
        )
        ratio = compression_ratio(state / "aurora.db")
        print(f"batch compression ratio (JSON bytes / stored bytes): {ratio:.1f}")


if __name__ == "__main__":
    main()
