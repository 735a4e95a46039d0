"""Detection benchmark: Aurora's engine against pySigma's SQLite backend (Zircolite's approach).

Two workloads, each timed on one core in the same run:

1. windows: the SigmaHQ Windows rules over the regression_data EVTX records (normalised to OCSF),
   repeated to --events (default 1,000,000);
2. linux: SigmaHQ's Linux rules plus Aurora's pack over Linux sensor events (a generated stream
   shaped like the sensor's output: mostly benign launches, file writes, connections and DNS,
   with the golden attack events of tests/data/linux_events mixed in).

Events/s are per CPU second of this single-threaded process (wall-clock figures alongside: on
a shared machine they also count time other jobs held the core). For each workload it prints
events/s and rules loaded for Aurora with its value caches (the production
setting), Aurora with every cache disabled (a lower bound: each event as if never seen), and the
baseline: the same rules converted by pysigma-backend-sqlite and run as SQL over an in-memory
SQLite table holding the same events (insert + every query), as Zircolite does. The baseline runs
on a smaller slice (--baseline-events) because each rule is a full table scan; its events/s is
rate-based, so the ratio stays comparable.

    PYTHONPATH=src .venv/bin/python bench/bench_detection.py [--events N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import sys
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
SIGMA = REPO.parent / "shared" / "data" / "sigma"

from evtx import PyEvtxParser  # noqa: E402
from sigma.backends.sqlite import sqliteBackend  # noqa: E402
from sigma.collection import SigmaCollection  # noqa: E402

from aurora.detection import DetectionEngine  # noqa: E402
from aurora.detection.rules import BUILTIN_RULES, iter_rule_files  # noqa: E402
from aurora.ocsf.field_mapping import default_mapping  # noqa: E402
from aurora.sensor.windows import normalise_record  # noqa: E402

WINDOWS_RULES = [
    SIGMA / "rules" / "windows",
    SIGMA / "rules-threat-hunting" / "windows",
    SIGMA / "rules-emerging-threats",
]
LINUX_RULES = [SIGMA / "rules" / "linux", SIGMA / "rules-threat-hunting" / "linux"]


# -- workloads ---------------------------------------------------------------------------------


def windows_events() -> list[dict[str, Any]]:
    out = []
    for f in sorted((SIGMA / "regression_data").rglob("*.evtx")):
        out.extend(
            normalise_record(json.loads(r["data"])) for r in PyEvtxParser(str(f)).records_json()
        )
    return out


_CMDS = [
    ("/usr/bin/ls", "ls -la /var/log"),
    ("/usr/bin/grep", "grep -r TODO src"),
    ("/usr/bin/git", "git status --short"),
    ("/usr/bin/python3", "python3 manage.py migrate"),
    ("/usr/bin/systemctl", "systemctl status nginx"),
    ("/usr/bin/cat", "cat /etc/os-release"),
    ("/usr/bin/ps", "ps aux"),
    ("/usr/bin/curl", "curl -s https://api.example.com/health"),
    ("/usr/sbin/sshd", "sshd: bob [priv]"),
    ("/usr/bin/apt-get", "apt-get update"),
    ("/usr/bin/tar", "tar czf /backup/home.tgz /home"),
    ("/usr/bin/find", "find / -name *.log"),
    ("/usr/bin/bash", "bash -c ./deploy.sh"),
    ("/usr/bin/sudo", "sudo -u postgres psql"),
    ("/usr/bin/docker", "docker ps"),
    ("/usr/bin/vim", "vim /etc/hosts"),
]
_FILES = [
    "/var/log/syslog",
    "/home/bob/.cache/pip/x",
    "/tmp/build/out.o",
    "/var/lib/dpkg/status",
    "/etc/nginx/nginx.conf",
    "/home/bob/project/app.py",
    "/var/tmp/cache.db",
]
_HOSTS = ["api.example.com", "deb.debian.org", "github.com", "pypi.org", "ntp.ubuntu.com"]


def linux_events(n_distinct: int = 5000, seed: int = 7) -> list[dict[str, Any]]:
    """A sensor-shaped stream: benign activity with every golden attack event mixed in."""
    rng = random.Random(seed)
    dev = {"hostname": "bench-01", "os": {"name": "Linux", "type_id": 200}}

    def proc(exe: str, cmd: str, pid: int) -> dict[str, Any]:
        return {
            "pid": pid,
            "uid": f"b-{pid}",
            "name": exe.rsplit("/", 1)[-1],
            "cmd_line": cmd,
            "file": {"path": exe, "name": exe.rsplit("/", 1)[-1]},
            "user": {"uid": "1000", "name": "bob"},
        }

    out: list[dict[str, Any]] = []
    for i in range(n_distinct):
        exe, cmd = rng.choice(_CMDS)
        pexe, pcmd = rng.choice(_CMDS)
        parent = proc(pexe, pcmd, 1000 + i)
        kind = rng.random()
        base = {
            "time": 1795000000000 + i,
            "severity_id": 1,
            "device": dev,
            "metadata": {"version": "1.8.0"},
        }
        if kind < 0.5:
            p = proc(exe, f"{cmd} --n {rng.randint(0, 50)}", 20000 + i)
            p["parent_process"] = parent
            out.append(
                {
                    **base,
                    "class_uid": 1007,
                    "activity_id": 1,
                    "process": p,
                    "actor": {"process": parent},
                    "unmapped": {"exe_memfd": False},
                }
            )
        elif kind < 0.8:
            path = rng.choice(_FILES)
            out.append(
                {
                    **base,
                    "class_uid": 1001,
                    "activity_id": rng.choice([1, 14, 4]),
                    "file": {"path": path, "name": path.rsplit("/", 1)[-1]},
                    "actor": {"process": parent},
                }
            )
        elif kind < 0.9:
            out.append(
                {
                    **base,
                    "class_uid": 4001,
                    "activity_id": 1,
                    "actor": {"process": parent},
                    "src_endpoint": {"ip": "10.1.0.5", "port": rng.randint(30000, 60000)},
                    "dst_endpoint": {
                        "ip": f"93.184.{rng.randint(0, 9)}.{rng.randint(1, 9)}",
                        "port": rng.choice([80, 443, 22]),
                    },
                    "connection_info": {"direction_id": 2, "protocol_name": "tcp"},
                }
            )
        else:
            out.append(
                {
                    **base,
                    "class_uid": 4003,
                    "activity_id": 1,
                    "actor": {"process": parent},
                    "query": {"hostname": rng.choice(_HOSTS), "type": "A"},
                }
            )
    for f in sorted((REPO / "tests" / "data" / "linux_events").glob("*.json")):
        out.extend(json.loads(f.read_text())["positive"])
    rng.shuffle(out)
    return out


def repeat(events: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    return (events * (n // len(events) + 1))[:n]


# -- Aurora ------------------------------------------------------------------------------------


def run_aurora(eng: DetectionEngine, events: list[dict[str, Any]]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, rule hits)."""
    match = eng.match_rules
    for ev in events[:2000]:  # build route matchers before timing
        match(ev)
    hits = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for ev in events:
        hits += len(match(ev))
    return time.perf_counter() - t0, time.process_time() - c0, hits


def no_caches(eng: DetectionEngine) -> DetectionEngine:
    cold = DetectionEngine(eng.rules, eng.errors, eng.config, value_cache=0)
    return cold


# -- SQLite baseline ---------------------------------------------------------------------------


def sigma_row(ev: dict[str, Any]) -> dict[str, Any]:
    """The event as Zircolite flattens it: Sigma field names -> values."""
    row: dict[str, Any] = dict(ev.get("unmapped") or {})
    route = default_mapping().route_of(ev)
    if route.primary is not None:
        for name, paths in route.primary.fields.items():
            node: Any = ev
            for part in paths[0].split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                row.setdefault(name, node)
    return {k: (json.dumps(v) if isinstance(v, list | dict) else v) for k, v in row.items()}


def convert_rules(paths: list[Path]) -> tuple[list[str], int]:
    backend = sqliteBackend()
    queries: list[str] = []
    failed = 0
    for f in iter_rule_files(paths):
        try:
            coll = SigmaCollection.from_yaml(f.read_text())
            queries.extend(q for q in backend.convert(coll) if isinstance(q, str))
        except Exception:  # conversion gaps are the baseline's, counted not fatal
            failed += 1
    return queries, failed


def _regexp(pattern: str, value: Any) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


def run_sqlite(queries: list[str], events: list[dict[str, Any]]) -> tuple[float, float, int, int]:
    return run_sqlite_rows(queries, [sigma_row(e) for e in events])


def run_sqlite_rows(
    queries: list[str], rows: list[dict[str, Any]]
) -> tuple[float, float, int, int]:
    """Zircolite's run over flat rows: (wall s, CPU s, hits, runnable queries); the clock
    covers the inserts and every query, as Zircolite's does once its table is defined."""
    columns = sorted({k for r in rows for k in r})
    conn = sqlite3.connect(":memory:")
    conn.create_function("regexp", 2, _regexp, deterministic=True)
    cols = ", ".join(f'"{c}" TEXT COLLATE NOCASE' for c in columns)
    conn.execute(f"CREATE TABLE logs (row_id INTEGER PRIMARY KEY, {cols})")
    runnable: list[str] = []
    for q in queries:  # add the columns rules name that no event has (as ensure_fields does)
        for _ in range(20):
            try:
                conn.execute(q + " LIMIT 0").fetchall()
                runnable.append(q)
                break
            except sqlite3.OperationalError as exc:
                m = re.search(r"no such column: (\S+)", str(exc))
                if not m:
                    break
                conn.execute(f'ALTER TABLE logs ADD COLUMN "{m.group(1)}" TEXT COLLATE NOCASE')
    names = [r[1] for r in conn.execute("PRAGMA table_info(logs)")][1:]
    sql = (
        f"INSERT INTO logs ({', '.join(chr(34) + n + chr(34) for n in names)}) VALUES "
        f"({', '.join('?' * len(names))})"
    )
    t0, c0 = time.perf_counter(), time.process_time()
    conn.executemany(sql, ([r.get(n) for n in names] for r in rows))
    hits = 0
    for q in runnable:
        hits += len(conn.execute(q).fetchall())
    return time.perf_counter() - t0, time.process_time() - c0, hits, len(runnable)


# -- main --------------------------------------------------------------------------------------


def bench(
    name: str,
    rule_dirs: list[Path],
    builtin: bool,
    events: list[dict[str, Any]],
    n_events: int,
    n_cold: int,
    n_base: int,
) -> None:
    t0 = time.perf_counter()
    eng = DetectionEngine.load(rule_dirs, include_builtin=builtin)
    load_s = time.perf_counter() - t0
    stream = repeat(events, n_events)
    warm_s, warm_cpu, hits = run_aurora(eng, stream)
    cold_s, cold_cpu, _ = run_aurora(no_caches(eng), repeat(events, n_cold))
    queries, conv_failed = convert_rules(rule_dirs + ([BUILTIN_RULES] if builtin else []))
    base_s, base_cpu, base_hits, runnable = run_sqlite(queries, repeat(events, n_base))
    # CPU seconds of this (single-threaded) process: on a shared machine, wall time also counts
    # the time other jobs held the core.
    warm, cold, base = n_events / warm_cpu, n_cold / cold_cpu, n_base / base_cpu
    print(f"== {name}: {len(events)} distinct events")
    print(f"  aurora:  {len(eng.rules)} rules loaded ({len(eng.errors)} failed) in {load_s:.1f} s")
    print(
        f"  aurora:  {n_events:>9} events, {warm_cpu:7.2f} CPU s = {warm:10,.0f} events/s "
        f"(wall {n_events / warm_s:,.0f}/s; {hits} rule hits)"
    )
    print(
        f"  aurora, no caches: {n_cold:>9} events = {cold:10,.0f} events/s "
        f"(wall {n_cold / cold_s:,.0f}/s)"
    )
    print(
        f"  sqlite:  {runnable} queries ({conv_failed} rule files failed to convert), "
        f"{n_base} events, {base_cpu:.2f} CPU s = {base:10,.0f} events/s "
        f"(wall {n_base / base_s:,.0f}/s; {base_hits} hits)"
    )
    print(f"  ratio aurora/sqlite: {warm / base:,.1f}x   (no caches: {cold / base:,.1f}x)")
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--cold-events", type=int, default=50_000)
    ap.add_argument("--baseline-events", type=int, default=4_760)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--only", choices=("windows", "linux"))
    args = ap.parse_args()
    if args.quick:
        args.events, args.cold_events, args.baseline_events = 20_000, 5_000, 1_000
    warnings.simplefilter("ignore")
    if args.only in (None, "windows"):
        bench(
            "windows (SigmaHQ Windows rules, regression_data Sysmon/EVTX events)",
            WINDOWS_RULES,
            False,
            windows_events(),
            args.events,
            args.cold_events,
            args.baseline_events,
        )
    if args.only in (None, "linux"):
        bench(
            "linux (SigmaHQ Linux rules + Aurora pack, sensor-shaped events)",
            LINUX_RULES,
            True,
            linux_events(),
            args.events,
            args.cold_events,
            args.baseline_events,
        )


if __name__ == "__main__":
    main()
