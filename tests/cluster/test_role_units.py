"""`aurora collector install --role frontend|worker|all`: one hardened unit per role, the
workers as a template with a state directory per instance, each passing `systemd-analyze
verify`; uninstall removes the role's unit and keeps the state."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aurora.cli.service_units import verify

from .nodes import REPO


def aurora(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    env.pop("AURORA_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "aurora", *args], capture_output=True, text=True, env=env
    )


@pytest.mark.parametrize(
    ("role", "unit", "exec_tail"),
    [
        ("all", "aurora-collector.service", "collector --state-dir {state}"),
        (
            "frontend",
            "aurora-collector-frontend.service",
            "collector --role frontend --state-dir {state}",
        ),
        (
            "worker",
            "aurora-collector-worker@.service",
            "collector --role worker --state-dir {state}/worker-%i",
        ),
    ],
)
def test_each_role_gets_its_own_verified_hardened_unit(
    tmp_path: Path, role: str, unit: str, exec_tail: str
) -> None:
    units, state = tmp_path / "units", tmp_path / "state"
    res = aurora(
        "collector", "install", "--role", role, "--unit-dir", str(units), "--state-dir", str(state)
    )
    assert res.returncode == 0, res.stderr
    assert [p.name for p in units.iterdir()] == [unit]  # that role's unit, no other
    text = (units / unit).read_text()
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert exec_line.endswith(exec_tail.format(state=state)), exec_line
    assert f"ReadWritePaths={state}\n" in text  # a worker instance's directory is under it
    for line in ("Restart=always", "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes"):
        assert line in text
    assert "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" in text
    if role == "worker":
        assert "aurora-collector-worker@1.service" in res.stdout
        assert "aurora-collector-worker@2.service" in res.stdout  # how to run a second one
    if shutil.which("systemd-analyze"):
        assert verify(units / unit) is None
    res = aurora(
        "collector", "uninstall", "--role", role, "--unit-dir", str(units), "--state-dir",
        str(state),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert not (units / unit).exists() and state.is_dir()


def test_a_unit_systemd_would_reject_is_not_left_behind(tmp_path: Path) -> None:
    """What the verification guards: a worker unit with a bad line is refused and removed."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    bad = tmp_path / "aurora-collector-worker@.service"
    bad.write_text("[Service]\nExecStart=/bin/true\nRestart=sometimes\n")
    assert verify(bad) is not None
