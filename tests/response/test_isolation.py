"""Host isolation with real nftables inside network namespaces the test creates."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from aurora.sensor.response.errors import PermissionDenied, RulesetRejected
from aurora.sensor.response.isolation import IsolationPlan
from aurora.sensor.response.isolation_linux import classify_nft_failure, render_ruleset

from .conftest import (
    ALLOWED_IP,
    COLLECTOR_IP,
    COLLECTOR_IP6,
    COLLECTOR_PORT,
    ECHO_PORT,
    PEER_IP,
    PEER_IP6,
    PEER_PORT,
    Topology,
    sh,
)

pytestmark = [pytest.mark.root, pytest.mark.kernel]

COLLECTOR = f"{COLLECTOR_IP}:{COLLECTOR_PORT}"
COLLECTOR_OTHER_PORT = f"{COLLECTOR_IP}:{PEER_PORT}"
PEER = f"{PEER_IP}:{PEER_PORT}"
ALLOWED = f"{ALLOWED_IP}:{PEER_PORT}"
PROBES = [
    [COLLECTOR_IP, COLLECTOR_PORT],
    [COLLECTOR_IP, PEER_PORT],
    [PEER_IP, PEER_PORT],
    [ALLOWED_IP, PEER_PORT],
]


def spec(state: Path, steps: list[Any], **config: Any) -> dict[str, Any]:
    return {
        "state_dir": str(state),
        "collector": [COLLECTOR_IP, COLLECTOR_PORT],
        "config": {"isolation_check_timeout_s": 2.0, **config},
        "probes": PROBES,
        "steps": steps,
    }


HOST_TABLE = """table inet hostfw {
  chain input { type filter hook input priority 0; policy accept; tcp dport 22 counter accept; }
}
"""


def test_isolate_blocks_peer_keeps_collector_then_unisolate_restores(
    topology: Topology, tmp_path: Path
) -> None:
    (tmp_path / "host.nft").write_text(HOST_TABLE)
    topology.nft("-f", str(tmp_path / "host.nft"))
    before = topology.nft("list", "ruleset").stdout

    out = topology.run_sensor(
        spec(
            tmp_path,
            [
                "probes",
                {"action": "isolate"},
                "probes",
                "state",
                {"action": "isolate"},
                "probes",
            ],
            isolation_allow=[f"{ALLOWED_IP}/32"],
        )
    )
    open_, isolated, again = out[0], out[2], out[5]
    assert all(open_.values()), open_
    assert out[1] == {"ok": True, "error_code": "", "message": "host isolated; collector reachable"}
    assert isolated == {COLLECTOR: True, COLLECTOR_OTHER_PORT: False, PEER: False, ALLOWED: True}
    assert out[3] == "isolated"
    assert out[4]["ok"], "isolating twice must succeed"
    assert again == isolated
    listing = topology.nft("list", "tables").stdout
    assert listing.count("aurora_isolation") == 1 and "hostfw" in listing

    out = topology.run_sensor(
        spec(tmp_path, [{"action": "unisolate"}, "probes", "state", {"action": "unisolate"}])
    )
    assert out[0]["ok"] and out[0]["message"] == "host released from isolation"
    assert all(out[1].values()), out[1]
    assert out[2] == "not_isolated"
    assert out[3] == {"ok": True, "error_code": "", "message": "host was not isolated"}
    # Exactly our table went away: the host's own ruleset is byte-for-byte what it was.
    assert topology.nft("list", "ruleset").stdout == before


def test_isolation_survives_restart_and_reboot(topology: Topology, tmp_path: Path) -> None:
    # The allow-list of this one command must survive too.
    isolate = {"action": "isolate", "params": {"allow": [ALLOWED_IP]}}
    first = topology.run_sensor(spec(tmp_path, [isolate, "probes"]))
    assert first[0]["ok"], first
    assert first[1][ALLOWED] and not first[1][PEER]

    # Restart: a new sensor process, same state directory.
    restart = topology.run_sensor(spec(tmp_path, ["reapply", "state", "probes"]))
    assert restart[0]["ok"] and restart[1] == "isolated"
    assert restart[2][COLLECTOR] and not restart[2][PEER]

    # Reboot: the kernel forgets every rule; the persisted state brings isolation back.
    topology.nft("flush", "ruleset")
    lost = topology.run_sensor(spec(tmp_path, ["state", "probes"]))
    assert lost[0] == "isolation_lost" and lost[1][PEER]
    back = topology.run_sensor(spec(tmp_path, ["reapply", "state", "probes"]))
    assert back[1] == "isolated"
    assert back[2][COLLECTOR] and back[2][ALLOWED] and not back[2][PEER]


def test_unreachable_collector_rolls_back(topology: Topology, tmp_path: Path) -> None:
    state = spec(tmp_path, [{"action": "isolate"}, "state", "probes"])
    state["collector"] = [COLLECTOR_IP, 9444]  # nothing listens there
    out = topology.run_sensor(state)
    assert out[0]["ok"] is False and out[0]["error_code"] == "collector_unreachable"
    assert "rolled back" in out[0]["message"]
    assert out[1] == "not_isolated"
    assert all(out[2].values())
    assert "aurora_isolation" not in topology.nft("list", "tables").stdout


def test_nft_missing_is_a_typed_error(topology: Topology, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-dir" / "nft")
    out = topology.run_sensor(
        spec(
            tmp_path,
            [{"action": "isolate"}, "state", "probes", {"action": "unisolate"}],
            nft_path=missing,
        )
    )
    assert out[0]["ok"] is False and out[0]["error_code"] == "nft_missing"
    assert missing in out[0]["message"]
    assert out[1] == "not_isolated"
    assert all(out[2].values())
    assert out[3]["error_code"] == "nft_missing"


def test_nft_not_in_path_is_a_typed_error(topology: Topology, tmp_path: Path) -> None:
    out = topology.run_sensor(spec(tmp_path, [{"action": "isolate"}], nft_path="nft-not-here"))
    assert out[0]["error_code"] == "nft_missing"
    assert "install nftables" in out[0]["message"]


def test_permission_denied_when_not_root(topology: Topology) -> None:
    # pytest's tmp_path sits under a 0700 directory nobody cannot enter.
    with tempfile.TemporaryDirectory(prefix="aurora-nobody-") as state:
        os.chown(state, 65534, 65534)
        out = topology.run_sensor(spec(Path(state), [{"action": "isolate"}, "probes"]), user=65534)
    assert out[0]["ok"] is False and out[0]["error_code"] == "permission_denied"
    assert "CAP_NET_ADMIN" in out[0]["message"]
    assert all(out[1].values())


def test_no_collector_refuses_to_isolate(topology: Topology, tmp_path: Path) -> None:
    state = spec(tmp_path, [{"action": "isolate"}, "state"])
    state["collector"] = None
    out = topology.run_sensor(state)
    assert out[0]["error_code"] == "no_collector" and out[1] == "not_isolated"


def test_rejected_ruleset_classified_from_real_nft(topology: Topology) -> None:
    # Real nft output for a ruleset the kernel/parser refuses.
    bad = sh(
        "ip",
        "netns",
        "exec",
        topology.sensor,
        "sh",
        "-c",
        "echo 'table inet t { chain c { ip saddr 10.0.0.300 accept; } }' | nft -f -",
        check=False,
    )
    assert bad.returncode != 0
    err = classify_nft_failure(bad.returncode, bad.stderr)
    assert isinstance(err, RulesetRejected) and err.code == "ruleset_rejected"
    assert "Error:" in err.message and "\n" not in err.message
    denied = classify_nft_failure(1, "Error: Could not process rule: Operation not permitted\n")
    assert isinstance(denied, PermissionDenied)


def test_rendered_ruleset_merges_overlapping_allow_entries() -> None:
    plan = IsolationPlan(("10.0.0.1",), 9443, ("10.9.0.0/16", "10.9.1.0/24", "fd00::/64"))
    text = render_ruleset(plan)
    assert "ip saddr { 10.9.0.0/16 } accept" in text and "10.9.1.0/24" not in text
    assert "ip6 daddr { fd00::/64 } accept" in text
    assert text.startswith("table inet aurora_isolation\ndelete table inet aurora_isolation\n")
    no_dns = render_ruleset(IsolationPlan(("10.0.0.1",), 1, allow_dns=False, allow_dhcp=False))
    assert "dport 53" not in no_dns and "dport 67" not in no_dns


def test_every_fail_over_endpoint_stays_reachable_while_isolated(
    topology: Topology, tmp_path: Path
) -> None:
    # The peer stands in for the cluster's second front-end.
    steps = ["probes", {"action": "isolate"}, "probes", {"action": "unisolate"}]
    out = topology.run_sensor({**spec(tmp_path, steps), "other_collectors": [[PEER_IP, PEER_PORT]]})
    assert out[1]["ok"], out[1]
    # Every collector address is open on every collector port: the collector host's second
    # port is reachable too (documented), an address that is no collector is not.
    assert out[2] == {COLLECTOR: True, COLLECTOR_OTHER_PORT: True, PEER: True, ALLOWED: False}
    assert out[3]["ok"] and all(out[0].values())


def test_a_plan_saved_before_fail_over_still_loads() -> None:
    old = {"collector_addrs": ["10.0.0.1"], "collector_port": 9443, "allow": []}
    plan = IsolationPlan.from_json(old)
    assert plan.ports == (9443,)
    assert "tcp dport { 9443 } accept" in render_ruleset(plan)
    both = IsolationPlan(("10.0.0.1", "10.0.0.2"), 9443, collector_ports=(9444,))
    assert IsolationPlan.from_json(both.to_json()) == both
    assert "tcp dport { 9443, 9444 } accept" in render_ruleset(both)


def test_connections_opened_before_isolation_are_cut(topology: Topology, tmp_path: Path) -> None:
    # An attacker's session that predates isolation must not survive it.
    steps = ["hold", {"action": "isolate"}, "echo", {"action": "unisolate"}]
    out = topology.run_sensor({**spec(tmp_path, steps), "echo": [PEER_IP, ECHO_PORT]})
    assert out[0] is True, "the connection works before isolating"
    assert out[1]["ok"], out[1]
    assert out[2] is False, "isolation must cut the established connection"


def test_ipv6_collector_stays_reachable(topology: Topology, tmp_path: Path) -> None:
    v6 = spec(tmp_path, ["probes", {"action": "isolate"}, "probes", {"action": "unisolate"}])
    v6["collector"] = [COLLECTOR_IP6, COLLECTOR_PORT]
    v6["probes"] = [[COLLECTOR_IP6, COLLECTOR_PORT], [PEER_IP6, PEER_PORT], [PEER_IP, PEER_PORT]]
    out = topology.run_sensor(v6)
    collector, peer6, peer4 = (f"{COLLECTOR_IP6}:{COLLECTOR_PORT}", f"{PEER_IP6}:{PEER_PORT}", PEER)
    assert all(out[0].values()), out[0]
    assert out[1]["ok"], out[1]
    assert out[2] == {collector: True, peer6: False, peer4: False}
    assert out[3]["ok"]
