"""Distinct alerts per attack, live: the same rule fired by two login sessions on one host raises
two alerts, and a repeat inside one session is merged into its session's alert.

Each "attacker" is a shell that opens its own audit session the way pam_loginuid does at login
(root writes /proc/self/loginuid, and the kernel hands out a new session id), then runs the
marked command; the real eBPF sensor reports the session with each exec.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.agent.helpers import wait_until
from tests.integration.live_pipeline import LivePipeline, marker_rule

pytestmark = [pytest.mark.root, pytest.mark.kernel]

RULE_ID = "6b0f1d2e-3c4a-4b5d-9e6f-708192a3b4c5"


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[tuple[LivePipeline, str]]:
    marker = f"aurora-attack-{uuid.uuid4().hex}"
    live = LivePipeline(tmp_path, {"marker": marker_rule(RULE_ID, marker)}, {})
    try:
        yield live, marker
    finally:
        live.stop()


def login_session(marker: str, *words: str) -> None:
    """Echo ``marker`` once per word, one process each, in a new audit session as a login would.

    The marker reaches the shell through its environment, so only the echo processes carry it
    in their command lines, not the shell that runs them.
    """
    script = "echo 0 > /proc/self/loginuid || exit 97\n"
    script += "\n".join(f'/bin/echo "$MARKER" {word}' for word in words)
    done = subprocess.run(
        ["/bin/sh", "-c", script], env={"MARKER": marker}, capture_output=True, timeout=30
    )
    assert done.returncode == 0, done.stderr


def test_two_sessions_two_alerts_and_a_repeat_merged(pipeline: tuple[LivePipeline, str]) -> None:
    live, marker = pipeline
    login_session(marker, "first", "again")
    login_session(marker, "second")
    wait_until(
        lambda: sum(a.count for a in live.alerts(RULE_ID)) >= 3, 20, "three sightings", step=0.2
    )
    alerts = sorted(live.alerts(RULE_ID), key=lambda a: a.first_seen_ms)
    assert len(alerts) == 2, [a.dedup_key for a in alerts]
    assert [a.count for a in alerts] == [2, 1]
    sessions = [a.finding["evidences"][0]["process"]["session"]["uid"] for a in alerts]
    assert sessions[0] != sessions[1]
    assert alerts[0].finding["evidences"][0]["process"]["cmd_line"].endswith("again")
    assert alerts[1].finding["evidences"][0]["process"]["cmd_line"].endswith("second")


def test_a_look_alike_command_raises_nothing(pipeline: tuple[LivePipeline, str]) -> None:
    live, marker = pipeline
    login_session(marker[:-1], "look-alike")  # one character short of the marker
    login_session(marker, "real")
    wait_until(lambda: bool(live.alerts(RULE_ID)), 20, "the marked command's alert", step=0.2)
    [alert] = live.alerts(RULE_ID)
    assert alert.count == 1
