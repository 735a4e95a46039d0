"""Detection efficacy: a corpus of real attack behaviours, one per ATT&CK technique, run under the
real eBPF sensor streaming into a real collector; and a benign workload that must raise nothing
high or critical.

Each action runs in its own process tree and its own login session (opened the way pam_loginuid
does, through /proc/self/loginuid), as separate intrusions would; an alert counts for the action
when its evidence names the action's root process (as the process, its parent or an ancestor).
Printed per technique and tactic: detected or not, by which rules, and the time from the action's
start to the alert being stored; then every alert the benign workload raised. Two passes side by
side in the same run: Aurora's built-in pack alone (the default install when offline), and with
SigmaHQ's Linux rules installed (from ../shared/data/sigma). Needs root and the BPF objects
(`make -C bpf`).

    PYTHONPATH=src:bench .venv/bin/python bench/bench_efficacy.py [--no-sigmahq]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]

from aurora.collector.server import Collector  # noqa: E402
from aurora.collector.tokens import create_token  # noqa: E402
from aurora.config import AuroraConfig  # noqa: E402
from aurora.config.sensor import DEFAULT_WATCH_PATHS, DEFAULT_WATCH_READ_PATHS  # noqa: E402
from aurora.sensor.agent import Agent  # noqa: E402
from aurora.sensor.enrollment import enroll  # noqa: E402
from efficacy_corpus import ATTACKS, BENIGN, Action  # noqa: E402

SIGMA_LINUX = ROOT.parent / "shared" / "data" / "sigma" / "rules" / "linux"
OBJECTS = ROOT / "src" / "aurora" / "sensor" / "linux" / "objects"
WAIT_S = 6.0


@dataclass
class Outcome:
    action: Action
    rules: list[str] = field(default_factory=list)
    levels: list[int] = field(default_factory=list)
    latency_s: float | None = None


def _pids(finding: dict[str, Any]) -> set[int]:
    pids: set[int] = set()
    for ev in finding.get("evidences") or ():
        for proc in (ev.get("process"), (ev.get("actor") or {}).get("process")):
            if not isinstance(proc, dict):
                continue
            chain = [proc, proc.get("parent_process") or {}, *(proc.get("ancestry") or ())]
            pids.update(p["pid"] for p in chain if isinstance(p, dict) and "pid" in p)
    return pids


READ_IN_HOME = (".ssh", ".aws", ".mozilla/firefox/*/logins.json")


class Pipeline:
    """Collector (SQLite, detection on) + agent with the real LinuxSensor, in this process."""

    def __init__(self, work: Path, rule_dirs: list[Path]) -> None:
        from aurora.sensor.linux import LinuxSensor

        self.home = work / "home"
        self.home.mkdir()
        cfg = {
            "collector": {"state_dir": str(work / "c"), "listen": "127.0.0.1:0"},
            "detection": {"rule_dirs": [str(d) for d in rule_dirs], "sigma_auto_install": False},
        }
        self.collector = Collector(AuroraConfig.model_validate(cfg))
        self.collector.start()
        assert self.collector.store is not None
        self.store = self.collector.store
        token = create_token(self.store, 3600, 1)
        ident = enroll(
            f"127.0.0.1:{self.collector.port}", token.token, self.collector.ca_fingerprint,
            work / "s",
        )  # fmt: skip
        self.sensor_id = ident.sensor_id
        sensor_cfg = AuroraConfig.model_validate(
            {
                "sensor": {
                    "state_dir": str(work / "s"),
                    "watch_paths": [*DEFAULT_WATCH_PATHS, str(self.home)],
                    # the per-user read patterns the corpus uses, for the stand-in home
                    "watch_read_paths": [
                        *DEFAULT_WATCH_READ_PATHS,
                        *(f"{self.home}/*/{p}" for p in READ_IN_HOME),
                    ],
                    "heartbeat_interval_s": 1.0,
                    "batch_max_delay_ms": 50,
                    "spool_fsync": False,
                }
            }
        )
        sensor = LinuxSensor(sensor_cfg.sensor, objects_dir=OBJECTS)
        self.agent = Agent(sensor_cfg, sensor, executor_factory=lambda: None)
        self.thread = threading.Thread(target=self.agent.run, daemon=True)
        self.thread.start()
        self.seen: set[int] = set()
        deadline = time.monotonic() + 30
        while not self.agent.transport.connected.is_set():
            if time.monotonic() > deadline:
                raise SystemExit("the sensor did not connect")
            time.sleep(0.1)
        time.sleep(1.0)  # the sensor's start-up events drain first

    def run(self, action: Action, work: Path) -> Outcome:
        keep = Path(tempfile.mkdtemp(prefix="aurora-eff-", dir="/var/cache"))
        tmp = Path(tempfile.mkdtemp(prefix="eff-", dir="/tmp"))
        script = action.script.format(
            home=self.home, tmp=tmp, keep=keep, py=sys.executable, bpf=OBJECTS / "dns.bpf.o"
        )
        start = time.monotonic()
        session = "echo 0 > /proc/self/loginuid || exit 97\n"
        proc = subprocess.Popen(["/bin/sh", "-c", session + script], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        proc.wait(30)
        out = Outcome(action)
        while time.monotonic() - start < WAIT_S:
            for alert in self.store.list_alerts(sensor_id=self.sensor_id, limit=500):
                if alert.alert_id in self.seen or proc.pid not in _pids(alert.finding):
                    continue
                self.seen.add(alert.alert_id)
                out.rules.append(alert.title)
                out.levels.append(alert.severity_id)
                if out.latency_s is None:
                    out.latency_s = time.monotonic() - start
            time.sleep(0.05)
        shutil.rmtree(keep, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        return out

    def stop(self) -> None:
        self.agent.stop()
        self.thread.join(20)
        self.collector.stop()


def one_pass(label: str, rule_dirs: list[Path]) -> tuple[list[Outcome], list[Outcome]]:
    with tempfile.TemporaryDirectory(prefix="aurora-eff-") as tmp:
        pipe = Pipeline(Path(tmp), rule_dirs)
        try:
            attacks = [pipe.run(a, Path(tmp)) for a in ATTACKS]
            benign = [pipe.run(b, Path(tmp)) for b in BENIGN]
        finally:
            pipe.stop()
    print(f"\n== {label}: {len(ATTACKS)} techniques, {len(BENIGN)} benign actions")
    for o in attacks:
        took = f"{o.latency_s:5.2f} s" if o.latency_s is not None else "  -   "
        mark = "DETECTED" if o.rules else "missed  "
        print(f"  {o.action.technique:<10} {o.action.tactic:<21} {mark} {took}  "
              f"{o.action.name:<30} {'; '.join(sorted(set(o.rules)))[:90]}")  # fmt: skip
    return attacks, benign


def summary(label: str, attacks: list[Outcome], benign: list[Outcome]) -> dict[str, Any]:
    hit = [o for o in attacks if o.rules]
    lat = sorted(o.latency_s for o in hit if o.latency_s is not None)
    tactics: dict[str, list[bool]] = {}
    for o in attacks:
        tactics.setdefault(o.action.tactic, []).append(bool(o.rules))
    noisy = [
        (o.action.name, r, lvl) for o in benign for r, lvl in zip(o.rules, o.levels, strict=True)
    ]
    return {
        "label": label,
        "rate": len(hit) / len(attacks),
        "p50": statistics.median(lat) if lat else float("nan"),
        "p99": lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan"),
        "tactics": {t: f"{sum(v)}/{len(v)}" for t, v in sorted(tactics.items())},
        "benign_high": [n for n in noisy if n[2] >= 4],
        "benign_lower": [n for n in noisy if n[2] < 4],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-sigmahq", action="store_true", help="only the built-in pass")
    args = parser.parse_args()
    passes = [("built-in pack (default install)", [])]
    if not args.no_sigmahq and SIGMA_LINUX.is_dir():
        passes.append(("built-in + SigmaHQ Linux rules", [SIGMA_LINUX]))
    results = [summary(label, *one_pass(label, dirs)) for label, dirs in passes]
    print("\n== efficacy, side by side")
    for r in results:
        print(f"  {r['label']:<34} detected {r['rate']:6.1%}   action-to-alert p50 "
              f"{r['p50']:.2f} s  p99 {r['p99']:.2f} s   benign high/critical: "
              f"{len(r['benign_high'])}")  # fmt: skip
        print(f"    per tactic: {r['tactics']}")
        for name, rule, level in r["benign_high"] + r["benign_lower"]:
            print(f"    benign alert: {name!r} -> {rule} (severity {level})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
