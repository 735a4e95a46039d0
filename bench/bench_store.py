"""Store benchmark: events/s committed into PostgreSQL against embedded SQLite, in the same run.

Both stores get the same pre-packed batches (so neither pays for compression while timed): varied
Linux sensor events (bench_detection's generated stream of launches, file writes, connections
and DNS, with the golden attack events of tests/data/linux_events mixed in), 1,000 events per
batch as the sensor sends by default, one batch per sensor per group commit as the collector's
writer commits them. Event times advance batch by batch. Both commits are durable (SQLite
synchronous=FULL; PostgreSQL's default synchronous_commit, fsync on).

PostgreSQL runs on a server this script starts on loopback (tests/pgserver.py, as the tests do);
``--nodes N`` also times N stores writing at once (N collector nodes sharing the database, each
with its own sensors). Prints events/s, the ratio to SQLite, and the batches' zstd ratio.

    .venv/bin/python bench/bench_store.py [--events 200000] [--sensors 8] [--nodes 2]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests"), str(REPO / "bench")]

import orjson  # noqa: E402

from aurora.collector.store import IncomingBatch, Store  # noqa: E402
from aurora.collector.store.packed_batch import (  # noqa: E402
    CODEC_ZSTD,
    PackedBatch,
    compress,
    scan_keys,
)
from aurora.collector.store.postgresql import PostgreSQLStore  # noqa: E402
from aurora.collector.store.sqlite import SQLiteStore  # noqa: E402
from bench_detection import linux_events  # noqa: E402
from pgserver import PgServer, server_binaries  # noqa: E402

BATCH = 1000
Group = list[IncomingBatch]


def build_groups(events: int, sensors: int, tag: str) -> tuple[list[Group], int, int]:
    """Group commits of one batch per sensor; (groups, JSON bytes, compressed bytes)."""
    pool = linux_events(n_distinct=20_000)
    start = int(time.time() * 1000)
    groups: list[Group] = []
    raw_total = packed_total = 0
    seq = dict.fromkeys(range(sensors), 1)
    k = 0
    while k * sensors * BATCH < events:
        group: Group = []
        for s in range(sensors):
            evs: list[bytes] = []
            for i in range(BATCH):
                ev: dict[str, Any] = dict(pool[(k * sensors * BATCH + s * BATCH + i) % len(pool)])
                ev["time"] = start + k * 40 + i // 25  # ~25 events per ms, advancing
                ev["device"] = {**ev["device"], "hostname": f"{tag}-host-{s:03d}"}
                evs.append(orjson.dumps(ev))
            payload = b"[" + b",".join(evs) + b"]"
            data = compress(payload)
            keys = scan_keys(payload, BATCH, start)
            pack = PackedBatch(CODEC_ZSTD, len(payload), data, keys)
            group.append(
                IncomingBatch(f"{tag}-sensor-{s:03d}", seq[s], packed=pack, received_ms=start)
            )
            seq[s] += BATCH
            raw_total += len(payload)
            packed_total += len(data)
        groups.append(group)
        k += 1
    return groups, raw_total, packed_total


def timed(store: Store, groups: list[Group]) -> tuple[int, float]:
    t0 = time.perf_counter()
    stored = sum(r.stored for g in groups for r in store.ingest(g))
    return stored, time.perf_counter() - t0


def concurrent(url: str, node_groups: list[list[Group]]) -> tuple[int, float]:
    stores = [PostgreSQLStore(url) for _ in node_groups]
    results: list[int] = [0] * len(stores)
    barrier = threading.Barrier(len(stores) + 1)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = timed(stores[i], node_groups[i])[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    for s in stores:
        s.close()
    return sum(results), elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--sensors", type=int, default=8)
    ap.add_argument("--nodes", type=int, default=2)
    args = ap.parse_args()
    bin_dir = server_binaries()
    if bin_dir is None:
        sys.exit("bench_store: PostgreSQL is not installed (Debian package postgresql)")
    groups, raw, packed = build_groups(args.events, args.sensors, "a")
    n = sum(b.count for g in groups for b in g)
    print(f"{n} events in {len(groups)} group commits of {args.sensors} batches x {BATCH} events")
    print(f"batches: {raw / n:.0f} B of JSON per event, zstd ratio {raw / packed:.2f}")
    work = Path(tempfile.mkdtemp(prefix="bench-store-"))
    work.chmod(0o755)  # the server runs as nobody (as root) and must reach its directory
    (work / "pg").mkdir()
    server = PgServer(bin_dir, work / "pg")
    try:
        server.init()
        server.start()
        server.create_role()
        sqlite = SQLiteStore(work / "aurora.db")
        timed(sqlite, groups[:2])  # warm-up on the same stores, not counted
        base_n, base_s = timed(sqlite, groups[2:])
        sqlite.close()
        pg = PostgreSQLStore(server.new_database())
        timed(pg, groups[:2])
        pg_n, pg_s = timed(pg, groups[2:])
        pg.close()
        print(f"SQLite (embedded, baseline): {base_n / base_s:>9,.0f} events/s")
        print(
            f"PostgreSQL, one node:        {pg_n / pg_s:>9,.0f} events/s"
            f"  ({pg_n / pg_s / (base_n / base_s):.2f}x SQLite)"
        )
        if args.nodes > 1:
            per_node = [
                build_groups(args.events // args.nodes, args.sensors, f"n{i}")[0]
                for i in range(args.nodes)
            ]
            c_n, c_s = concurrent(server.new_database(), per_node)
            print(
                f"PostgreSQL, {args.nodes} nodes at once:  {c_n / c_s:>9,.0f} events/s"
                f"  ({c_n / c_s / (base_n / base_s):.2f}x SQLite)"
            )
        server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
