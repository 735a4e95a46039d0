"""Fleet benchmark: 1,000 concurrent idle sensor streams (mTLS, heartbeats) on one collector.

Prints the time to connect the fleet, then the collector's CPU (% of one core) and RSS over a
steady period in which every sensor heartbeats every --interval seconds. The same-run baseline is
the idle collector (no sensors) over an equal period. Anchor: Velociraptor serves about 10k
endpoints from a 2-core VM.

    PYTHONPATH=src .venv/bin/python bench/bench_fleet.py [--sensors 1000] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import random
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import grpc
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "collector"))

from client import new_key_and_csr  # noqa: E402

from aurora.collector.pki import CertificateAuthority  # noqa: E402
from aurora.collector.store import HostRecord  # noqa: E402
from aurora.collector.store.sqlite import SQLiteStore  # noqa: E402
from aurora.v1 import common_pb2, stream_pb2, stream_pb2_grpc  # noqa: E402
from collector_process import start_collector, tree_cpu, tree_rss  # noqa: E402


def make_fleet(state: Path, n: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Register n sensors and issue their certificates directly (enrolment is not measured)."""
    ca = CertificateAuthority.load_or_create(state / "pki")
    key_pem, csr = new_key_and_csr()
    store = SQLiteStore(state / "aurora.db")
    fleet = []
    for i in range(n):
        sid = str(uuid.uuid4())
        cert = ca.issue_sensor_cert(csr, sid, dt.timedelta(hours=2))
        store.register_host(HostRecord(sid, hostname=f"fleet-{i:04d}", os_name="linux"))
        fleet.append((sid, cert.pem))
    store.close()
    return ca.cert_pem, key_pem, fleet


async def sensor(
    addr: str,
    ca: bytes,
    key: bytes,
    sid: str,
    cert: bytes,
    interval: float,
    connected: asyncio.Event,
    counter: list[int],
    stop: asyncio.Event,
) -> None:
    creds = grpc.ssl_channel_credentials(ca, key, cert)
    async with grpc.aio.secure_channel(
        addr, creds, options=[("grpc.use_local_subchannel_pool", 1)]
    ) as ch:
        call = stream_pb2_grpc.SensorStreamStub(ch).Connect()
        await call.write(
            stream_pb2.SensorMessage(
                hello=stream_pb2.Hello(sensor_id=sid, host=common_pb2.HostInfo(hostname=sid[:8]))
            )
        )
        await call.read()  # Welcome
        counter[0] += 1
        if counter[1] == counter[0]:
            connected.set()
        await asyncio.sleep(random.uniform(0, interval))
        while not stop.is_set():
            hb = stream_pb2.Heartbeat(
                sensor_id=sid,
                sent_at_unix_ms=int(time.time() * 1000),
                health=1,
                spool=stream_pb2.SpoolStatus(bytes_used=0, bytes_max=500 << 20),
                counters={"events_captured": 0},
            )
            await call.write(stream_pb2.SensorMessage(heartbeat=hb))
            counter[2] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
        await call.done_writing()
        call.cancel()


def sample(ps: psutil.Process, seconds: float) -> tuple[float, int]:
    """CPU (cores) and peak RSS of the collector and its batch-reader process."""
    c0 = tree_cpu(ps)
    t0 = time.perf_counter()
    peak = 0
    while time.perf_counter() - t0 < seconds:
        peak = max(peak, tree_rss(ps))
        time.sleep(0.5)
    cpu = (tree_cpu(ps) - c0) / (time.perf_counter() - t0)
    return cpu, peak


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "collector"
        ca, key, fleet = make_fleet(state, args.sensors)
        proc, port = start_collector(state)
        try:
            ps = psutil.Process(proc.pid)
            idle_cpu, idle_rss = await asyncio.to_thread(sample, ps, min(10.0, args.seconds))
            connected, stop = asyncio.Event(), asyncio.Event()
            counter = [0, len(fleet), 0]
            t0 = time.perf_counter()
            tasks = [
                asyncio.create_task(
                    sensor(
                        f"localhost:{port}",
                        ca,
                        key,
                        sid,
                        cert,
                        args.interval,
                        connected,
                        counter,
                        stop,
                    )
                )
                for sid, cert in fleet
            ]
            try:
                await asyncio.wait_for(connected.wait(), 300)
            except TimeoutError:
                print(f"only {counter[0]} of {len(fleet)} sensors connected in 300 s")
            t_connect = time.perf_counter() - t0
            hb0 = counter[2]
            cpu, rss = await asyncio.to_thread(sample, ps, args.seconds)
            hb = counter[2] - hb0
            store = SQLiteStore(state / "aurora.db")
            online = sum(1 for h in store.list_hosts() if h.connected)
            store.close()
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print(f"sensors: {len(fleet)} streams, heartbeat every {args.interval:.0f} s")
    print(f"connected {counter[0]} in {t_connect:.1f} s; {online} online in the fleet table")
    print(f"steady {args.seconds:.0f} s: {hb} heartbeats ({hb / args.seconds:.0f}/s)")
    print(
        f"collector CPU: {cpu * 100:.1f}% of one core; RSS {rss / 2**20:.0f} MB"
        " (with its batch-reader process)"
    )
    print(
        f"baseline idle collector: CPU {max(0.0, idle_cpu) * 100:.1f}%,"
        f" RSS {idle_rss / 2**20:.0f} MB"
    )
    print(f"RSS per connected sensor: {(rss - idle_rss) / max(1, counter[0]) / 1024:.0f} KB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sensors", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
