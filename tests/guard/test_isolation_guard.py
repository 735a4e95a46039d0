"""The isolation table altered or removed while the host is isolated, inside a test network
namespace: the guard writes it back within one check and raises the tamper finding."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.response.conftest import (
    COLLECTOR_IP,
    COLLECTOR_PORT,
    PEER_IP,
    PEER_PORT,
    REPO,
    SENSOR_ENV,
    Topology,
)

pytestmark = [pytest.mark.root]

DRIVER = Path(__file__).resolve().parent / "drivers" / "isolation_guard.py"
PEER = f"{PEER_IP}:{PEER_PORT}"
COLLECTOR = f"{COLLECTOR_IP}:{COLLECTOR_PORT}"


def run(topo: Topology, state: Path, steps: list[object]) -> list[object]:
    spec = {
        "state_dir": str(state),
        "collector": [COLLECTOR_IP, COLLECTOR_PORT],
        "config": {"isolation_check_timeout_s": 2.0},
        "probes": [[PEER_IP, PEER_PORT], [COLLECTOR_IP, COLLECTOR_PORT]],
        "steps": steps,
    }
    cmd = ["ip", "netns", "exec", topo.sensor, sys.executable, str(DRIVER), json.dumps(spec)]
    # The repository root too: the driver reuses the response tests' probe.
    env = {**SENSOR_ENV, "PYTHONPATH": f"{REPO / 'src'}:{REPO}"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out: list[object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


# Flushing the table leaves its chains' drop policy: the host is cut off from the collector too,
# so the sensor could no longer be told to unisolate. Removing it opens the host to everyone.
CUT_OFF = {PEER: False, COLLECTOR: False}
OPEN = {PEER: True, COLLECTOR: True}


@pytest.mark.parametrize(
    ("attack", "was", "attacked_state"),
    [
        (["flush", "table", "inet", "aurora_isolation"], "altered", CUT_OFF),
        (["delete", "table", "inet", "aurora_isolation"], "removed", OPEN),
        (["flush", "ruleset"], "removed", OPEN),
    ],
)
def test_isolation_table_tampered_is_restored_and_reported(
    topology: Topology,
    tmp_path: Path,
    attack: list[str],
    was: str,
    attacked_state: dict[str, bool],
) -> None:
    out = run(
        topology,
        tmp_path,
        [
            {"action": "isolate"},
            "check",
            "probes",
            ["attack", *attack],
            "probes",
            "check",
            "probes",
            "check",
        ],
    )
    isolated, first_check, before, _, attacked, check, after, quiet = out
    assert isolated is True
    assert first_check == []  # isolated as written: nothing to report
    assert before == {PEER: False, COLLECTOR: True}
    assert attacked == attacked_state
    assert len(check) == 1, check  # type: ignore[arg-type]
    finding = check[0]  # type: ignore[index]
    assert finding["check"] == "isolation_restored" and finding["was"] == was
    assert finding["after"] == "isolated"
    assert after == {PEER: False, COLLECTOR: True}  # restored within the one check
    assert quiet == []  # and reported once


def test_a_host_not_isolated_is_left_alone(topology: Topology, tmp_path: Path) -> None:
    out = run(topology, tmp_path, ["check", "probes", "check"])
    assert out == [[], {PEER: True, COLLECTOR: True}, []]
