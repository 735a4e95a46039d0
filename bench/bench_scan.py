"""`aurora scan` benchmark: wall time cold and with the rule cache warm, against Zircolite's
approach (pySigma's SQLite backend) on the same EVTX records in the same run.

Corpus: the SigmaHQ regression EVTX files, repeated (as symbolic links, each a distinct input
file) to --records records (default 25,000: some 200 different files, 13 channels and a few
hundred distinct attacks, so no event is the only one of its kind); rules: SigmaHQ's
Windows rules (~2,400). Timed for Aurora, each as a real `aurora scan` process writing JSON lines:

1. cold: an empty rule cache (pySigma parses and Aurora compiles every rule);
2. warm: the same command again (compiled rules read from the cache), with every core;
3. warm, one process (--jobs 1), to show what the pool adds.

Baseline, as Zircolite runs: EVTX read with the same parser and flattened to one row per record
(leaf names of System and EventData), rules converted by pysigma-backend-sqlite (conversion
timed apart: Zircolite ships converted rule sets), rows inserted into an in-memory SQLite table
and every query run over it. Events/s are records over wall seconds; CPU seconds (Aurora's
process and its workers; the baseline's) are printed beside them, since on a shared machine wall
time also counts the time other jobs held the cores.

    .venv/bin/python bench/bench_scan.py [--records N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from evtx import PyEvtxParser

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
SIGMA = REPO.parent / "shared" / "data" / "sigma"
RULES = SIGMA / "rules" / "windows"

from bench_detection import convert_rules, run_sqlite_rows  # noqa: E402


def regression_files() -> list[tuple[Path, int]]:
    """Each regression EVTX file with its number of records."""
    out = []
    for f in sorted((SIGMA / "regression_data").rglob("*.evtx")):
        out.append((f, sum(1 for _ in PyEvtxParser(str(f)).records())))
    return out


def build_corpus(into: Path, records: int) -> tuple[list[Path], int]:
    """Links to the regression files, round after round, until ``records`` are reached."""
    files = regression_files()
    made: list[Path] = []
    total = 0
    while total < records:
        for src, n in files:
            link = into / f"{len(made):06d}-{src.name}"
            link.symlink_to(src)
            made.append(link)
            total += n
            if total >= records:
                break
    return made, total


def aurora_scan(corpus: Path, cache: Path, *extra: str) -> tuple[float, float, dict[str, str]]:
    """Wall and CPU seconds (its own and its workers') of one `aurora scan` process, and its
    summary figures."""
    env = {**os.environ, "AURORA_RULE_CACHE": str(cache), "PYTHONPATH": str(REPO / "src")}
    cmd = [sys.executable, "-m", "aurora", "scan", "--no-builtin", "--rules", str(RULES)]
    cmd += ["--format", "jsonl", "--out", os.devnull, *extra, str(corpus)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"aurora scan failed: {proc.stderr.strip()}")
    figures = {}
    for line in proc.stderr.splitlines():
        parts = [p.strip() for p in line.strip("|").split("|")]
        if len(parts) == 2 and line.startswith("|"):
            figures[parts[0]] = parts[1]
    return wall, cpu, figures


def _flatten(node: Any, row: dict[str, Any]) -> None:
    """Leaf names -> values, as Zircolite flattens evtx_dump's JSON (SQLite column names are
    case-insensitive: the first of ProcessId and ProcessID is kept)."""
    for key, value in node.items():
        if isinstance(value, dict):
            _flatten(value, row)
        else:
            name = key.lstrip("#").lower()
            row.setdefault(name, json.dumps(value) if isinstance(value, list) else value)


def zircolite_rows(files: list[Path]) -> list[dict[str, Any]]:
    rows = []
    for f in files:
        for record in PyEvtxParser(str(f)).records_json():
            event = json.loads(record["data"]).get("Event", {})
            row: dict[str, Any] = {}
            for part in ("System", "EventData", "UserData"):
                if isinstance(event.get(part), dict):
                    _flatten(event[part], row)
            rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=25_000)
    ap.add_argument("--quick", action="store_true", help="2,500 records, for a smoke run")
    args = ap.parse_args()
    if args.quick:
        args.records = 2_500
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="aurora-bench-scan-") as tmp:
        corpus, cache = Path(tmp) / "corpus", Path(tmp) / "cache"
        corpus.mkdir()
        files, records = build_corpus(corpus, args.records)
        print(f"corpus: {records:,} EVTX records in {len(files):,} files; rules: {RULES}")
        cold, cold_cpu, cold_fig = aurora_scan(corpus, cache)
        warm, warm_cpu, warm_fig = aurora_scan(corpus, cache)
        warm1, warm1_cpu, warm1_fig = aurora_scan(corpus, cache, "--jobs", "1")
        for name, wall, cpu, fig in (
            ("aurora cold (empty rule cache)", cold, cold_cpu, cold_fig),
            ("aurora warm (rule cache, pool)", warm, warm_cpu, warm_fig),
            ("aurora warm, --jobs 1", warm1, warm1_cpu, warm1_fig),
        ):
            print(
                f"  {name:<32} {wall:7.2f} s wall = {records / wall:9,.0f} events/s, "
                f"{cpu:6.2f} CPU s (scan itself {fig.get('events/s', '?')} events/s; "
                f"{fig.get('rules loaded', '?')} rules, {fig.get('findings', '?')} findings)"
            )
        sys.stdout.flush()
        t0 = time.perf_counter()
        queries, failed = convert_rules([RULES])
        convert_s = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        rows = zircolite_rows(files)
        read_s, read_cpu = time.perf_counter() - t0, time.process_time() - c0
        sql_s, sql_cpu, hits, runnable = run_sqlite_rows(queries, rows)
        base, base_cpu = read_s + sql_s, read_cpu + sql_cpu
        print(
            f"  {'zircolite approach (sqlite)':<32} {base:7.2f} s wall = "
            f"{records / base:9,.0f} events/s, {base_cpu:6.2f} CPU s "
            f"(read+flatten {read_s:.2f} s, insert+"
            f"{runnable} queries {sql_s:.2f} s; {hits} hits; rule conversion {convert_s:.1f} s "
            f"apart, {failed} rule files failed to convert)"
        )
        print(
            f"  ratio zircolite/aurora, wall: warm {base / warm:,.1f}x, warm one process "
            f"{base / warm1:,.1f}x, cold {base / cold:,.1f}x; "
            f"CPU: warm {base_cpu / warm_cpu:,.1f}x, "
            f"warm one process {base_cpu / warm1_cpu:,.1f}x, cold {base_cpu / cold_cpu:,.1f}x; "
            f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
