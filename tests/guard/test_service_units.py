"""`aurora sensor|collector install|uninstall`: the units they write restart always, keep the
state directory writable under ProtectSystem=strict, pass `systemd-analyze verify`, and every
refusal is one line with a non-zero exit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.agent.helpers import REPO

from aurora.cli.service_units import verify

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def aurora(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run(
        [sys.executable, "-m", "aurora", *args], capture_output=True, text=True, env=env
    )


@pytest.mark.parametrize(
    ("command", "unit", "must_have"),
    [
        ("sensor", "aurora-sensor.service", ["/sys/fs/bpf", "LimitMEMLOCK=infinity"]),
        ("collector", "aurora-collector.service", ["ProtectHome=yes", "PrivateTmp=yes"]),
    ],
)
def test_install_writes_a_verified_unit_and_uninstall_removes_it(
    tmp_path: Path, command: str, unit: str, must_have: list[str]
) -> None:
    units, state = tmp_path / "units", tmp_path / "state"
    res = aurora(command, "install", "--unit-dir", str(units), "--state-dir", str(state))
    assert res.returncode == 0, res.stderr
    text = (units / unit).read_text()
    assert "Restart=always" in text and "StartLimitIntervalSec=0" in text
    assert "ProtectSystem=strict" in text and "NoNewPrivileges=yes" in text
    assert f"ReadWritePaths={state}" in text
    assert f"{command} --state-dir {state}" in text
    for line in must_have:
        assert line in text
    assert state.is_dir()
    if shutil.which("systemd-analyze"):
        assert verify(units / unit) is None
    res = aurora(command, "uninstall", "--unit-dir", str(units), "--state-dir", str(state))
    assert res.returncode == 0, res.stderr
    assert not (units / unit).exists()
    assert state.is_dir()  # the state (spool, identity) is never removed with the unit


def test_uninstall_of_a_unit_not_installed_is_one_line_and_non_zero(tmp_path: Path) -> None:
    res = aurora("sensor", "uninstall", "--unit-dir", str(tmp_path), "--state-dir", str(tmp_path))
    assert res.returncode == 1
    assert res.stderr.strip().count("\n") == 0
    assert "nothing to uninstall" in res.stderr


def test_install_into_an_unwritable_place_is_one_line_and_non_zero(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    res = aurora(
        "collector",
        "install",
        "--unit-dir",
        str(blocker / "units"),
        "--state-dir",
        str(tmp_path / "state"),
    )
    assert res.returncode == 1
    assert "cannot write" in res.stderr and "Traceback" not in res.stderr


@needs_analyze
def test_verify_catches_a_mistake_systemd_would_only_warn_about(tmp_path: Path) -> None:
    bad = tmp_path / "bad.service"
    bad.write_text("[Service]\nExecStart=/bin/true\nRestartt=always\n")
    problem = verify(bad)
    assert problem is not None and "Restartt" in problem
