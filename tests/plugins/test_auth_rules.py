"""The Linux pack's authentication rules over events made by the bridge from real log lines:
the brute-force correlation by source address and window, root login, sudo to a shell."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from aurora.detection import DetectionEngine
from aurora.plugins.authbridge.ocsf import to_event
from aurora.plugins.authbridge.parse import parse
from aurora.plugins.provenance import local_device, stamp

BRUTE_FORCE = "9e41a7c3-6b2f-4d8e-a0c5-71f3b9d2e864"
ROOT_LOGIN = "2f8d6c41-9a3e-4b75-8e12-c6a0d4f7b953"
SUDO_SHELL = "7c3a9e15-4d86-4f2b-b1e7-0a5c8d9f6e22"
T0 = 1_795_000_000_000


def event(program: str, message: str, at_s: float = 0) -> dict[str, Any]:
    record = parse(program, message)
    assert record is not None, message
    ev = to_event(record, T0 + int(at_s * 1000), 4242)
    stamp(ev, "authbridge", "0.1.0", local_device())
    return ev


def failed(ip: str, at_s: float, user: str = "root") -> dict[str, Any]:
    return event("sshd", f"Failed password for {user} from {ip} port 4{int(at_s)} ssh2", at_s)


@pytest.fixture
def pack() -> DetectionEngine:
    return DetectionEngine.load([], include_builtin=True)


def fired(pack: DetectionEngine, events: list[dict[str, Any]], rule_id: str) -> list[int]:
    return [i for i, e in enumerate(events) for f in pack.match(e) if f.rule.id == rule_id]


def test_five_failures_from_one_address_within_a_minute_is_brute_force(
    pack: DetectionEngine,
) -> None:
    events = [failed("203.0.113.7", 5 * i, user=f"u{i}") for i in range(6)]
    assert fired(pack, events, BRUTE_FORCE) == [4]


def test_failures_from_many_addresses_or_spread_out_are_not(pack: DetectionEngine) -> None:
    spread = [failed(f"198.51.100.{i}", i) for i in range(8)]
    assert fired(pack, spread, BRUTE_FORCE) == []
    slow = [failed("203.0.113.9", 20 * i) for i in range(6)]  # 4 in any minute
    assert fired(pack, slow, BRUTE_FORCE) == []
    successes = [event("sshd", f"Accepted password for a from 203.0.113.8 port {i} ssh2", i)
                 for i in range(6)]  # fmt: skip
    assert fired(pack, successes, BRUTE_FORCE) == []


def test_root_login_and_its_look_alikes(pack: DetectionEngine) -> None:
    root = event("sshd", "Accepted publickey for root from 10.0.0.1 port 22 ssh2: ED25519 x")
    assert fired(pack, [root], ROOT_LOGIN) == [0]
    su_root = event("su", "(to root) alice on pts/1")  # local, through su: not this rule
    failed_root = failed("10.0.0.1", 0)
    assert fired(pack, [su_root, failed_root], ROOT_LOGIN) == []


def test_sudo_to_a_shell_and_its_look_alikes(pack: DetectionEngine) -> None:
    line = "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND="
    shells = [event("sudo", line + c) for c in ("/bin/bash", "/usr/bin/zsh", "/bin/sh -c id")]
    assert fired(pack, shells, SUDO_SHELL) == [0, 1, 2]
    benign = [event("sudo", line + c) for c in ("/usr/bin/ssh host", "/usr/bin/bashtop")]
    refused = event("sudo", "alice : user NOT in sudoers ; TTY=pts/0 ; PWD=/ ; USER=root ; "
                    "COMMAND=/bin/bash")  # fmt: skip
    assert fired(pack, [*benign, refused], SUDO_SHELL) == []


def test_rules_list_shows_the_correlation_as_routed(capsys: pytest.CaptureFixture[str]) -> None:
    from aurora.cli.main import main

    assert main(["rules", "list", "--json"]) == 0
    rows = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    (row,) = [r for r in rows if r["id"] == BRUTE_FORCE]
    assert row["correlation"] == "event_count" and row["routed"] is True
    assert row["rules"] == ["5b0c1f9e-2d7a-4c1e-9a51-3f6d8e2b7a10"]
