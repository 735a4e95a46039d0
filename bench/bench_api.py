"""API latency for the console's hot paths, over real HTTPS, against a same-run baseline.

Fills a SQLite state with events and alerts, serves the API with ApiServer, then times the
requests the console makes most (alert queue page, alert detail with process tree, event search,
process tree) with one keep-alive client. The baseline is the same store queries called directly
in-process, so the ratio is the cost of HTTP + TLS + auth + JSON on top of the store.

Run: PYTHONPATH=src .venv/bin/python bench/bench_api.py [--events N] [--requests N]
"""

from __future__ import annotations

import argparse
import ssl
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from aurora.api import create_app
from aurora.api.auth import hash_password, hash_secret, new_api_token, now_ms
from aurora.api.processes import process_tree
from aurora.api.server import ApiServer, tls_files
from aurora.collector.store.accounts import SQLiteAccounts
from aurora.collector.store.base import EventQuery, HostRecord, IncomingBatch, NewAlert
from aurora.collector.store.sqlite import SQLiteStore
from aurora.config import AuroraConfig

SENSOR = "bench-sensor"


def fill(store: SQLiteStore, events: int, alerts: int) -> None:
    t0 = int(time.time() * 1000) - events
    store.register_host(HostRecord(sensor_id=SENSOR, hostname="bench-host", connected=True))
    seq = 1
    batch: list[dict[str, Any]] = []
    for i in range(events):
        pid = 1000 + i
        batch.append(
            {
                "class_uid": 1007 if i % 4 == 0 else 4001,
                "time": t0 + i,
                "device": {"hostname": "bench-host"},
                "process": {
                    "pid": pid if i % 4 == 0 else 1000 + (i // 4) * 4,
                    "name": f"proc{i % 50}",
                    "cmd_line": f"/usr/bin/proc{i % 50} --arg {i}",
                    "parent_process": {"pid": 1000 + max(0, i - 4)},
                },
            }
        )
        if len(batch) == 5000:
            store.ingest([IncomingBatch(SENSOR, seq, batch, received_ms=t0)])
            seq += len(batch)
            batch = []
    if batch:
        store.ingest([IncomingBatch(SENSOR, seq, batch, received_ms=t0)])
    finding = {"evidences": [{"process": {"pid": 1000 + (events // 2 // 4) * 4}}]}
    store.add_alerts(
        [
            NewAlert(f"rule-{i % 40}", SENSOR, f"k{i}", 1 + i % 5, f"alert {i}", t0 + i, finding)
            for i in range(alerts)
        ]
    )


def timed(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    """(requests per second, p99 latency in ms)."""
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000
    return n / sum(samples), p99


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--alerts", type=int, default=5_000)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        store = SQLiteStore(state / "aurora.db")
        accounts = SQLiteAccounts(state / "aurora.db")
        t = time.perf_counter()
        fill(store, args.events, args.alerts)
        print(
            f"filled {args.events} events, {args.alerts} alerts in {time.perf_counter() - t:.1f}s"
        )
        user = accounts.add_user("bench", "analyst", hash_password("bench-password-1"), now_ms())
        token = new_api_token()
        accounts.add_api_token(hash_secret(token), user.user_id, "bench", now_ms(), 0)
        config = AuroraConfig()
        server = ApiServer(
            create_app(store, config, state, accounts=accounts),
            "127.0.0.1:0",
            *tls_files(config.api, state),
        )
        server.start()
        ca = ssl.create_default_context(cafile=str(state / "pki" / "ca.crt"))
        newest = store.list_alerts(limit=1)[0]
        alert_id = newest.alert_id
        tree_pid = 1000 + (args.events // 2 // 4) * 4
        cases: list[tuple[str, str, Callable[[], Any]]] = [
            (
                "alert queue page",
                "/api/v1/alerts?status=new&limit=50",
                lambda: store.list_alerts(status="new", limit=51),
            ),
            (
                "alert detail + tree",
                f"/api/v1/alerts/{alert_id}",
                lambda: (
                    store.get_alert(alert_id),
                    process_tree(store, SENSOR, tree_pid, newest.last_seen_ms),
                ),
            ),
            (
                "event search (host+class)",
                "/api/v1/events?host=bench-host&class_uid=1007&limit=50",
                lambda: store.search_events(
                    EventQuery(sensor_ids=[SENSOR], class_uid=1007, limit=51)
                ),
            ),
            (
                "process tree",
                f"/api/v1/hosts/bench-host/processes/{tree_pid}/tree",
                lambda: process_tree(store, SENSOR, tree_pid),
            ),
        ]
        with httpx.Client(
            base_url=server.url, verify=ca, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            print(f"{'request':28} {'API req/s':>10} {'p99 ms':>8} {'store/s':>10} {'ratio':>6}")
            for name, path, direct in cases:
                client.get(path).raise_for_status()
                api_rate, p99 = timed(
                    lambda p=path: client.get(p).raise_for_status(), args.requests
                )
                base_rate, _ = timed(direct, args.requests)
                print(
                    f"{name:28} {api_rate:10.0f} {p99:8.1f} {base_rate:10.0f} "
                    f"{api_rate / base_rate:6.2f}"
                )
            rates = []
            for _ in range(3):
                t = time.perf_counter()
                client.get("/api/v1/events", params={"q": "--arg 12345", "limit": 50})
                rates.append(time.perf_counter() - t)
            median_ms = statistics.median(rates) * 1000
            print(f"text search over the 20000 newest events: median {median_ms:.0f} ms")
        server.stop()
        accounts.close()
        store.close()


if __name__ == "__main__":
    main()
