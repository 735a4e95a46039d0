"""Spool throughput: append (with and without fsync), read + ack, against a raw-file baseline.

The baseline writes the same event bytes to one file with the same fsync cadence and no framing,
CRC, segments or sequence numbers, so the ratio is what the spool's bookkeeping costs.

    PYTHONPATH=src .venv/bin/python bench/bench_spool.py [--events 200000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import orjson

from aurora.sensor.spool import Spool


def make_events(n: int) -> list[bytes]:
    # Shaped like a real OCSF process-activity event (about 600 bytes serialised).
    now = int(time.time() * 1000)
    return [
        orjson.dumps(
            {
                "class_uid": 1007,
                "activity_id": 1,
                "time": now + i,
                "metadata": {"version": "1.8.0", "uid": f"evt-{i}"},
                "device": {"hostname": "bench-host"},
                "process": {
                    "pid": 1000 + i % 5000,
                    "name": "bash",
                    "cmd_line": f"/bin/bash -c 'echo {i} | sha256sum > /tmp/out.{i % 97}'",
                    "file": {"path": "/usr/bin/bash"},
                    "parent_process": {"pid": 999, "name": "sshd", "cmd_line": "sshd: alice"},
                    "user": {"name": "alice", "uid": "1000"},
                },
            }
        )
        for i in range(n)
    ]


def baseline(path: Path, events: list[bytes], batch: int, fsync: bool) -> float:
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    for i in range(0, len(events), batch):
        os.write(fd, b"".join(events[i : i + batch]))
        if fsync:
            os.fsync(fd)
    os.close(fd)
    return time.perf_counter() - t0


def spool_append(d: Path, events: list[bytes], batch: int, fsync: bool) -> tuple[float, Spool]:
    sp = Spool(d, 4 * 1024**3, fsync=fsync)
    t0 = time.perf_counter()
    for i in range(0, len(events), batch):
        sp.append(events[i : i + batch])
    return time.perf_counter() - t0, sp


def spool_drain(sp: Spool, batch: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    n, nxt = 0, 1
    while (b := sp.read(nxt, batch)) is not None:
        n += len(b.events)
        sp.ack(b.last_seq)
        nxt = b.last_seq + 1
    return time.perf_counter() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    events = make_events(args.events)
    mb = sum(len(e) for e in events) / 1e6
    print(f"{args.events} events, {mb:.1f} MB, {args.batch} events per append")
    for fsync in (True, False):
        with tempfile.TemporaryDirectory() as tmp:
            base = baseline(Path(tmp) / "raw", events, args.batch, fsync)
            took, sp = spool_append(Path(tmp) / "spool", events, args.batch, fsync)
            drain, n = spool_drain(sp, args.batch)
            sp.close()
            assert n == args.events
        label = "fsync per append" if fsync else "no fsync"
        print(
            f"[{label}] append {args.events / took:,.0f} events/s ({mb / took:.0f} MB/s); "
            f"raw-file baseline {args.events / base:,.0f} events/s; "
            f"spool/baseline ratio {base / took:.2f}"
        )
        print(f"[{label}] read+ack {n / drain:,.0f} events/s")


if __name__ == "__main__":
    main()
