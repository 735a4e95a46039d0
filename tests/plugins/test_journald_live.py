"""The authentication bridge on a real journal: a real systemd-journald (in a namespace the test
makes) receives a real sshd's and sudo's syslog messages, and the bridge, following it with
``journalctl -D DIR -f -o json``, turns them into Authentication events at a real plugin host.

One failed login is in the journal before the bridge starts (read with ``--from-start``); the
rest is appended while it follows.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from aurora import __version__
from aurora.plugins.host import PluginHost

from .helpers import drain, manifest_for, running_host, short_dir
from .journald_lab import journald
from .sshd_lab import PASSWORD, USER, ssh_lab

pytestmark = [pytest.mark.root]


def _start_bridge(host: PluginHost, journal_dir: Path, err: Path) -> subprocess.Popen[bytes]:
    with open(err, "wb") as handle:  # the child keeps its own descriptor
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aurora.plugins.authbridge",
                "--socket",
                str(host.socket_path),
                "--source",
                "journal",
                "--journal-dir",
                str(journal_dir),
                "--from-start",
            ],
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )


def _collect(host: PluginHost, got: list[dict[str, Any]], want: int, what: str, err: Path) -> None:
    deadline = time.monotonic() + 60
    while len(got) < want:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {len(got)} events of {want} ({err.read_text()})")
        got += drain(host, want - len(got), timeout=1.0)


def test_the_bridge_follows_a_real_journal_fed_by_a_real_sshd_and_sudo() -> None:
    with (
        short_dir() as root,
        journald(root / "j") as journal,
        ssh_lab(root / "lab", log_socket=journal.dev_log) as lab,
        running_host(manifest_for("authbridge", version=__version__)) as host,
    ):
        assert lab.login("wrong-before") in (5, 255)
        err = root / "bridge.err"
        bridge = _start_bridge(host, journal.journal_dir, err)
        got: list[dict[str, Any]] = []
        try:
            _collect(host, got, 1, "the failure already in the journal", err)
            assert "authbridge" in host.connected()
            assert lab.login(PASSWORD, "sudo -n /usr/bin/id -u") == 0
            assert lab.login("wrong-after") in (5, 255)
            # The accepted login, sudo, the second failure.
            _collect(host, got, 4, "the entries appended while the bridge follows", err)
        finally:
            bridge.terminate()
            bridge.wait(timeout=10)
        # What the bridge read is what journald holds: the entries came through the journal.
        held = journal.entries("SYSLOG_IDENTIFIER=sshd")

    assert any(m.startswith(f"Failed password for {USER} from 127.0.0.1") for m in held), held
    failures = [e for e in got if e["service"]["name"] == "sshd" and e["status_id"] == 2]
    assert [e["user"]["name"] for e in failures] == [USER, USER]
    assert all(e["src_endpoint"]["ip"] == "127.0.0.1" for e in failures)
    logon = next(e for e in got if e["status_id"] == 1 and e["activity_id"] == 1)
    assert logon["user"]["name"] == USER and logon["auth_protocol"] == "password"
    # _PID is journald's record of the sender (SCM_CREDENTIALS), not the message's claim.
    assert logon["actor"]["process"]["pid"] > 1
    (sudo,) = [e for e in got if e["service"]["name"] == "sudo"]
    assert sudo["actor"]["user"]["name"] == USER and sudo["user"]["name"] == "root"
    assert sudo["unmapped"]["command"] == "/usr/bin/id -u"
    assert all(e["metadata"]["product"]["name"] == "authbridge" for e in got)
