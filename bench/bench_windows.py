"""Windows sensor throughput on recorded data: normalisation per source and replay end to end.

* Channel records: rendered XML (what EvtRender gives the live sensor) -> OCSF, against the evtx
  JSON path (what `aurora scan` reads) over the same records, side by side.
* ETW records: payload decoding + OCSF for the recorded AMSI and kernel traces.
* Replay end to end: `ReplaySource` over the 202 SigmaHQ regression EVTX files (cycled) through
  the real agent (spool, mTLS transport) into an in-process collector with every SigmaHQ rule
  loaded; baseline: the same source drained without any transport. A third of the passes is
  replayed first by another sensor: throughput must not fall as repeats accumulate (before the
  detection stage kept its repeated alerts' ids: 1,251 ev/s over 4 rounds, 407 over 12). Also
  the zstd ratio of one batch of those events, as the transport sends it.

    PYTHONPATH=src .venv/bin/python bench/bench_windows.py [--seconds 5] [--rounds 10]
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
from evtx import PyEvtxParser

from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.sensor.agent import Agent
from aurora.sensor.enrollment import enroll
from aurora.sensor.windows import normalise_record, record_from_xml
from aurora.sensor.windows.etl_file import EtlFile
from aurora.sensor.windows.etw_decode import decode
from aurora.sensor.windows.etw_normalise import normalise_etw
from aurora.sensor.windows.replay import ReplaySource
from aurora.wire.codec import encode_batch

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SIGMA = DATA / "sigma"
DETECTION = True


def rate(fn: Any, items: list[Any], seconds: float) -> float:
    done, t0 = 0, time.perf_counter()
    for item in itertools.cycle(items):
        fn(item)
        done += 1
        if done % 256 == 0 and time.perf_counter() - t0 >= seconds:
            break
    return done / (time.perf_counter() - t0)


def channel_rates(seconds: float) -> None:
    xml, js = [], []
    for path in sorted((SIGMA / "regression_data").rglob("*.evtx")):
        xml += [r["data"] for r in PyEvtxParser(str(path)).records()]
        js += [r["data"] for r in PyEvtxParser(str(path)).records_json()]
    base = rate(lambda s: normalise_record(json.loads(s)), js, seconds)
    ours = rate(lambda s: normalise_record(record_from_xml(s)), xml, seconds)
    print(f"channel records ({len(xml)} distinct: Sysmon, Security, System, PowerShell, ...)")
    print(f"  XML path (EvtRender)   {ours:10,.0f} events/s")
    print(f"  JSON path (baseline)   {base:10,.0f} events/s   ratio {ours / base:.2f}")


def etw_rates(seconds: float) -> None:
    for name in ("AMSITrace.etl", "ShutdownPerfDiagLogger.etl"):
        records = list(EtlFile(DATA / "windows-samples" / "etw" / name).records())
        events = sum(1 for r in records if normalise_etw(decode(r)) is not None)
        r = rate(lambda rec: normalise_etw(decode(rec)), records, seconds)
        print(f"ETW {name}: {len(records)} records ({events} become events)  {r:10,.0f} records/s")


def replay_through(
    collector: Collector, endpoint: str, token: str, state: Path, files: list[Path]
) -> tuple[ReplaySource, float]:
    enroll(endpoint, token, collector.ca_fingerprint, state)
    sensor = AuroraConfig.model_validate(
        {"sensor": {"state_dir": str(state), "spool_fsync": False, "batch_max_delay_ms": 50}}
    )
    source = ReplaySource(files)
    agent = Agent(sensor, source)
    thread = threading.Thread(target=agent.run, daemon=True)
    t0 = time.perf_counter()
    thread.start()
    while not (source.exhausted and agent.spool.status().acked_through >= source.replayed):
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    agent.stop()
    thread.join(30)
    return source, elapsed


def replay_rates(rounds: int) -> None:
    files = sorted((SIGMA / "regression_data").rglob("*.evtx")) * rounds
    t0 = time.perf_counter()
    base_src = ReplaySource(files)
    base_src.start()
    drained: list[dict[str, Any]] = []
    while not base_src.exhausted:
        drained += base_src.poll(0)
    base = len(drained) / (time.perf_counter() - t0)
    batch = drained[:500]
    raw = len(orjson.dumps(batch))
    packed = len(encode_batch("bench", 1, batch).events)
    with tempfile.TemporaryDirectory() as tmp:
        rules = [SIGMA / d for d in ("rules", "rules-emerging-threats", "rules-threat-hunting")]
        cfg = AuroraConfig.model_validate(
            {
                "collector": {"state_dir": f"{tmp}/c", "listen": "127.0.0.1:0"},
                "detection": {"enabled": DETECTION, "rule_dirs": [str(r) for r in rules]},
            }
        )
        collector = Collector(cfg)
        collector.start()
        assert collector.store is not None
        try:
            token = create_token(collector.store, 3600, 3).token
            endpoint = f"127.0.0.1:{collector.port}"
            # The first sensor warms the collector up (its detection worker loads the rules on
            # the first batch); the second is timed.
            replay_through(collector, endpoint, token, Path(tmp) / "warm", files[:5])
            # A third of the passes first, then all of them, each by a sensor of its own: the
            # longer replay accumulates three times the repeats and must not be slower.
            short, short_s = replay_through(
                collector, endpoint, token, Path(tmp) / "short", files[: len(files) // 3]
            )
            source, elapsed = replay_through(collector, endpoint, token, Path(tmp) / "s", files)
            alerts = len(collector.store.list_alerts(limit=1_000_000))
        finally:
            collector.stop()
    mode = "on, every SigmaHQ rule" if DETECTION else "off"
    print(f"replay end to end ({source.replayed} events, {len(files)} files, detection {mode})")
    live = source.replayed / elapsed
    print(f"  spool + mTLS + collector      {live:10,.0f} events/s  ({alerts} alerts)")
    print(f"  normalisation only (baseline) {base:10,.0f} events/s   ratio {live / base:.2f}")
    # Repeats accumulate as the passes repeat: a store read per repeated alert key used to make
    # the full replay several times slower than a third of it (1,251 -> 407 ev/s, 12 rounds).
    short_rate = short.replayed / short_s
    print(f"  a third of the passes          {short_rate:10,.0f} events/s", end="")
    print(f"   all passes / a third: {live / short_rate:.2f}")
    print(f"  batch of {len(batch)} events: {raw:,} bytes JSON -> {packed:,} zstd", end="")
    print(f", ratio {raw / packed:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=10, help="passes over the 202 EVTX files")
    parser.add_argument("--no-detection", action="store_true")
    args = parser.parse_args()
    global DETECTION
    DETECTION = not args.no_detection
    channel_rates(args.seconds)
    etw_rates(args.seconds)
    replay_rates(args.rounds)


if __name__ == "__main__":
    main()
