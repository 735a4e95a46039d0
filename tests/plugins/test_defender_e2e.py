"""The Windows Defender bridge end to end on Linux: the plugin process replays the recorded EVTX
files (and the documented tamper records), connects to a real sensor's plugin socket, and its
findings travel the sensor's spool and gRPC/mTLS stream to a real collector, where the Windows
pack's Defender rules raise alerts; the benign records raise none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.agent.helpers import wait_until

from aurora import __version__
from aurora.plugins.attach import manifest_dir

from .defender_records import BENIGN, RECORDINGS, TAMPER, write_json
from .deployment import Deployment, deployment
from .helpers import PYTHON_EXE, PYTHON_SHA256
from .test_defender_bridge import DISABLED, MALWARE, NOT_REMEDIATED, TAMPER_BLOCKED, WEAKENED

pytestmark = [pytest.mark.shared_data]
__all__ = ["deployment"]  # the fixture

# 17 recorded 1116/1117s, the tamper records, and the two benign 5007s (5000/5011 are no finding).
FINDINGS = 17 + len(TAMPER) + 2


def _manifest(root: Path) -> Path:
    path = root / "defender-bridge.toml"
    path.write_text(
        f'name = "defender-bridge"\nversion = "{__version__}"\nexecutable = "{PYTHON_EXE}"\n'
        f'sha256 = "{PYTHON_SHA256}"\nclasses = [2004]\nuid = {os.getuid()}\n'
    )
    return path


def _record_ids(alerts: list[Any]) -> set[int]:
    ids = set()
    for alert in alerts:
        for evidence in alert.finding.get("evidences", []):
            ids.add(int(evidence["data"]["unmapped"]["EventRecordID"]))
    return ids


def test_recorded_defender_events_reach_the_collector_and_raise_alerts(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    dep = deployment
    wait_until(lambda: "plugins" in dep.capabilities(), 30, "the sensor's plugin host")
    code, _ = dep.aurora(
        "plugin", "add", str(_manifest(dep.root)), "--host", dep.sensor_id, capsys=capsys
    )
    assert code == 0
    manifests = manifest_dir(dep.sensor_dir)
    wait_until(lambda: manifests.get("defender-bridge") is not None, 30, "the manifest")

    extra = write_json(dep.root / "tamper.json", [*TAMPER.values(), *BENIGN.values()])
    err = dep.root / "bridge.err"
    with open(err, "wb") as handle:
        bridge = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aurora.plugins.defender_bridge",
                "--socket",
                str(dep.sensor_dir / "plugins.sock"),
                "--replay",
                *map(str, RECORDINGS),
                str(extra),
            ],
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )
    try:
        wait_until(
            lambda: len(dep.events(2004)) >= FINDINGS,
            60,
            f"the bridge's findings in the collector ({err.read_text()})",
        )
        for rule in (MALWARE, NOT_REMEDIATED, DISABLED, TAMPER_BLOCKED, WEAKENED):
            wait_until(lambda rule=rule: dep.alerts(rule), 30, f"an alert of rule {rule}")
    finally:
        bridge.terminate()
        bridge.wait(timeout=10)

    events = dep.events(2004)
    assert len(events) == FINDINGS
    assert {e["metadata"]["product"]["name"] for e in events} == {"defender-bridge"}
    assert {e["device"]["hostname"] for e in events} >= {"MSEDGEWIN10", "WS-042.corp.example"}
    # The benign configuration changes and the clean quarantines are in the store, not in alerts.
    fired = _record_ids(
        [a for r in (NOT_REMEDIATED, WEAKENED, TAMPER_BLOCKED) for a in dep.alerts(r)]
    )
    assert fired and not fired & {9103, 9104}
    clean = {
        int(e["unmapped"]["EventRecordID"])
        for e in events
        if e["unmapped"]["EventID"] == 1117 and e["unmapped"]["ErrorCode"] == "0x00000000"
    }
    assert clean and not clean & _record_ids(dep.alerts(NOT_REMEDIATED))
    counters = dep.store.get_host(dep.sensor_id).counters
    wait_until(
        lambda: (
            dep.store.get_host(dep.sensor_id).counters.get("plugin_events.defender-bridge")
            == FINDINGS
        ),
        10,
        f"the heartbeat counting the bridge's findings ({counters})",
    )
