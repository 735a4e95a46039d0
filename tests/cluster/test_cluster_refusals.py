"""A cluster node that cannot reach PostgreSQL (down, or a wrong password) or NATS at start says
so in one line, naming the server but never the password, and exits 1 having written nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.natsserver import NatsServer, nats_server

from agent.helpers import free_port
from pgserver import PgServer

from .cluster import collector_section
from .nodes import AuroraNode

pytestmark = [pytest.mark.postgresql, pytest.mark.nats]
__all__ = ["nats_server"]


def _start_alone(root: Path, name: str, role: str, store: str, bus: str) -> AuroraNode:
    return AuroraNode(
        root,
        name,
        {
            "collector": collector_section(
                store, bus, role=role, state_dir=str(root / name), listen="127.0.0.1:0"
            ),
            "api": {"listen": f"127.0.0.1:{free_port()}"},
            "detection": {"enabled": False},
        },
    )


@pytest.mark.parametrize(
    ("fault", "role"),
    [
        ("postgresql-unreachable", "worker"),
        ("postgresql-wrong-password", "frontend"),
        ("nats-unreachable", "frontend"),
        ("nats-unreachable", "worker"),
    ],
)
def test_a_node_that_cannot_reach_the_cluster_says_so_in_one_line(
    tmp_path: Path, pg_server: PgServer, nats_server: NatsServer, fault: str, role: str
) -> None:
    store, bus = pg_server.new_database(), nats_server.url
    if fault == "postgresql-unreachable":
        store = re.sub(r":\d+/", f":{free_port()}/", store)
    elif fault == "postgresql-wrong-password":
        store = store.replace(":aurora-test-password@", ":not-the-password@")
    else:
        bus = f"nats://127.0.0.1:{free_port()}"
    node = _start_alone(tmp_path, f"bad-{fault}-{role}", role, store, bus)
    with pytest.raises(AssertionError, match="did not start"):
        node.start(timeout=60)
    assert node.proc is not None and node.proc.returncode == 1
    lines = node.log_path.read_text().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aurora: "), lines
    if fault.startswith("postgresql"):
        # The server named, never the password.
        assert lines[0].startswith("aurora: cannot open the store postgresql://aurora@127.0.0.1:")
        why = "password authentication failed" if "password" in fault else "Connection refused"
        assert why in lines[0], lines
        assert "password@" not in lines[0] and "not-the-password" not in lines[0], lines
    else:
        assert lines[0].startswith(f"aurora: cannot reach NATS at {bus}: "), lines
    assert not (tmp_path / f"bad-{fault}-{role}" / "aurora.db").exists()
