"""Real ssh logins, good and bad, against a real sshd in a test-made network namespace, through
rsyslog, the authentication bridge plugin, the sensor's plugin host, the gRPC/mTLS stream and the
collector's detection: Authentication events are stored and the brute-force correlation fires.

The plugin is enabled and removed with `aurora plugin` on the collector, as an operator would.
"""

from __future__ import annotations

import getpass
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.agent.helpers import wait_until

from aurora import __version__
from aurora.collector.store.accounts import AuditQuery, SQLiteAccounts
from aurora.plugins.attach import manifest_dir

from .deployment import Deployment, deployment
from .helpers import PYTHON_EXE, PYTHON_SHA256
from .sshd_lab import PASSWORD, USER, SshLab, ssh_lab

pytestmark = [pytest.mark.root]
__all__ = ["deployment"]  # the fixture

BRUTE_FORCE = "9e41a7c3-6b2f-4d8e-a0c5-71f3b9d2e864"
AUTH_FAILURE = "5b0c1f9e-2d7a-4c1e-9a51-3f6d8e2b7a10"
ROOT_LOGIN = "2f8d6c41-9a3e-4b75-8e12-c6a0d4f7b953"
SUDO_SHELL = "7c3a9e15-4d86-4f2b-b1e7-0a5c8d9f6e22"
# The Linux pack's rules over plugin events, proven here on real actions (the eBPF pack's live
# test, tests/integration/test_linux_pack_live.py, counts them as covered).
LIVE_RULES = frozenset(
    {
        "authentication_lnx_aurora_ssh_bruteforce",
        "authentication_lnx_aurora_root_login",
        "authentication_lnx_aurora_sudo_shell",
    }
)


def _manifest(root: Path) -> Path:
    path = root / "authbridge.toml"
    path.write_text(
        f'name = "authbridge"\nversion = "{__version__}"\nexecutable = "{PYTHON_EXE}"\n'
        f'sha256 = "{PYTHON_SHA256}"\nclasses = [3002]\nuid = 0\n'
    )
    return path


def _failures(dep: Deployment) -> list[dict[str, Any]]:
    return [e for e in dep.auth_events() if e.get("status_id") == 2]


def _start_bridge(dep: Deployment, lab: SshLab) -> subprocess.Popen[bytes]:
    with open(dep.root / "bridge.err", "wb") as err:  # the child keeps its own descriptor
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aurora.plugins.authbridge",
                "--socket",
                str(dep.sensor_dir / "plugins.sock"),
                "--source",
                "file",
                "--auth-log",
                str(lab.auth_log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def test_ssh_and_sudo_flow_to_the_collector_and_the_rules_fire(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    dep = deployment
    wait_until(lambda: "plugins" in dep.capabilities(), 30, "the sensor's plugin host")
    code, out = dep.aurora(
        "plugin", "add", str(_manifest(dep.root)), "--host", dep.sensor_id, capsys=capsys
    )
    assert code == 0 and f"plugin add authbridge {dep.sensor_id} queued" in out
    manifests = manifest_dir(dep.sensor_dir)
    wait_until(lambda: manifests.get("authbridge") is not None, 30, "the manifest on the sensor")

    with ssh_lab(dep.root / "lab") as lab:
        bridge = _start_bridge(dep, lab)
        try:
            wait_until(
                lambda: "plugin:authbridge" in dep.capabilities(),
                30,
                f"the bridge to connect ({(dep.root / 'bridge.err').read_text()})",
            )
            assert lab.login(PASSWORD, "true") == 0
            wrong = [lab.login(f"wrong-{i}") for i in range(6)]
            assert all(code == 5 or code == 255 for code in wrong), wrong
            wait_until(lambda: len(_failures(dep)) >= 6, 60, "six failed logins in the collector")
            wait_until(lambda: dep.alerts(BRUTE_FORCE), 30, "the brute-force alert")
            assert not dep.alerts(ROOT_LOGIN) and not dep.alerts(SUDO_SHELL)
            # A benign sudo, then sudo to a shell, then root straight in over ssh.
            assert lab.login(PASSWORD, "sudo -n /usr/bin/id -u") == 0
            assert lab.login(PASSWORD, "sudo -n /bin/bash -c true") == 0
            wait_until(lambda: dep.alerts(SUDO_SHELL), 60, "the sudo-to-shell alert")
            assert lab.login(PASSWORD, "true", user="root") == 0
            wait_until(lambda: dep.alerts(ROOT_LOGIN), 60, "the root-login alert")
        finally:
            bridge.terminate()
            bridge.wait(timeout=10)

    events = dep.auth_events()
    ssh = [e for e in events if e["service"]["name"] == "sshd" and e["activity_id"] == 1]
    logons = [e for e in ssh if e["status_id"] == 1]
    assert sorted(e["user"]["name"] for e in logons) == sorted(["root", USER, USER, USER])
    sudo = [e for e in events if e["service"]["name"] == "sudo"]
    assert sorted(e["unmapped"]["command"] for e in sudo) == ["/bin/bash -c true", "/usr/bin/id -u"]
    assert {(e["actor"]["user"]["name"], e["user"]["name"]) for e in sudo} == {(USER, "root")}
    assert len(dep.alerts(SUDO_SHELL)) == 1  # the benign sudo raised none
    logon = min(logons, key=lambda e: e["time"])
    assert logon["user"]["name"] == USER and logon["service"]["name"] == "sshd"
    assert logon["src_endpoint"]["ip"] == "127.0.0.1" and logon["auth_protocol"] == "password"
    assert logon["metadata"]["product"] == {
        "name": "authbridge",
        "version": __version__,
        "vendor_name": "Aurora plugin",
    }
    assert {e["user"]["name"] for e in _failures(dep)} == {USER}
    assert len(dep.alerts(AUTH_FAILURE)) >= 1 and len(dep.alerts(ROOT_LOGIN)) == 1
    # Per-plugin counts reach the collector (and the console's host view) with heartbeats.
    wait_until(
        lambda: (
            dep.store.get_host(dep.sensor_id).counters.get("plugin_events.authbridge", 0)
            == len(events)
        ),
        10,
        "the heartbeat counting the bridge's events",
    )

    code, out = dep.aurora("plugin", "list", "--json", capsys=capsys)
    (row,) = [orjson.loads(line) for line in out.splitlines()]
    assert row["name"] == "authbridge" and row["enabled"] and row["version"] == __version__
    code, out = dep.aurora("plugin", "remove", "authbridge", "--all", capsys=capsys)
    assert code == 0
    wait_until(lambda: manifests.get("authbridge") is None, 30, "the manifest to be removed")
    accounts = SQLiteAccounts(dep.collector_dir / "aurora.db")
    try:
        query = AuditQuery(actor=f"cli:{getpass.getuser()}")
        actions = [e.action for e in accounts.query(query)]
    finally:
        accounts.close()
    assert "plugin.add" in actions and "plugin.remove" in actions
