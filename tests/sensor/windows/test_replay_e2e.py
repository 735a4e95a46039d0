"""`aurora sensor --replay` end to end: every SigmaHQ regression case raises its rule's alert.

A real collector (mTLS on loopback, SQLite, detection with every SigmaHQ rule set loaded, as in
production) and the real CLI in a child process: `aurora sensor --replay <202 EVTX files>`
normalises each record with the Windows sensor's normaliser, spools it, streams it over mTLS and
exits once the collector acknowledged everything. Each case's rule must then have an alert.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.sensor.enrollment import enroll

REPO = Path(__file__).resolve().parents[3]
SIGMA = REPO.parent / "shared" / "data" / "sigma"

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


def regression_cases() -> list[tuple[str, Path]]:
    out = []
    for info in sorted((SIGMA / "regression_data").rglob("info.yml")):
        meta = yaml.safe_load(info.read_text())
        rule_id = meta["rule_metadata"][0]["id"]
        for test in meta.get("regression_tests_info") or []:
            if test.get("type") == "evtx":
                out.append((rule_id, SIGMA / test["path"]))
    return out


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    state = tmp_path_factory.mktemp("collector")
    rule_dirs = [SIGMA / d for d in ("rules", "rules-emerging-threats", "rules-threat-hunting")]
    cfg = AuroraConfig.model_validate(
        {
            "collector": {"state_dir": str(state), "listen": "127.0.0.1:0"},
            "detection": {"enabled": True, "rule_dirs": [str(d) for d in rule_dirs]},
        }
    )
    c = Collector(cfg)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def _aurora(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    env.pop("AURORA_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "aurora", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_every_regression_case_raises_its_alert_through_the_live_path(
    collector: Collector, tmp_path: Path
) -> None:
    cases = regression_cases()
    assert len(cases) == 202
    assert collector.store is not None
    token = create_token(collector.store, 3600, 1).token
    state = tmp_path / "sensor"
    endpoint = f"127.0.0.1:{collector.port}"
    enroll(endpoint, token, collector.ca_fingerprint, state)
    files = sorted({str(p) for _, p in cases})
    args = ["sensor", "--state-dir", str(state), "--collector", endpoint]
    for f in files:
        args += ["--replay", f]
    proc = _aurora(*args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    raised = {a.rule_uid for a in collector.store.list_alerts(limit=100_000)}
    missing = sorted({rule for rule, path in cases if rule not in raised})
    assert missing == [], f"{len(missing)} of 202 cases raised no alert: {missing}"
    assert len({rule for rule, _ in cases} & raised) == len({rule for rule, _ in cases})


def test_replay_refuses_an_unknown_file_type(tmp_path: Path) -> None:
    bad = tmp_path / "events.txt"
    bad.write_text("x")
    proc = _aurora("sensor", "--stdout", "--replay", str(bad), timeout=60)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "expected a .evtx, .etl or .json file" in lines[0], proc.stderr


def test_replay_to_stdout_prints_one_ocsf_event_per_record() -> None:
    etl = REPO.parent / "shared" / "data" / "windows-samples" / "etw" / "AMSITrace.etl"
    proc = _aurora("sensor", "--stdout", "--replay", str(etl), timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 19  # the trace holds 19 AmsiScript events
    assert all('"class_uid":1009' in ln for ln in lines)


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("missing.evtx", None, "no such file"),
        ("damaged.etl", b"\x00" * 4096, "damaged.etl"),
        ("bad.json", b'{"Event": {}}\nnot json\n', "bad.json:2: not JSON"),
    ],
)
def test_bad_replay_input_is_one_line_and_non_zero(
    tmp_path: Path, name: str, content: bytes | None, needle: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    proc = _aurora("sensor", "--stdout", "--replay", str(path), timeout=60)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_windows_service_install_is_refused_off_windows() -> None:
    # On Linux `aurora sensor install` writes the systemd unit (tests/guard); the Windows
    # service path refuses with one line.
    from aurora.cli.cmd_sensor import windows_service
    from aurora.errors import UsageError

    with pytest.raises(UsageError, match="this is not Windows"):
        windows_service("install")
