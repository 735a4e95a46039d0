"""`aurora collector` with ``[collector] store = "postgresql://…"``, against the real server.

A collector whose database cannot be reached, or refuses its password, says so in one line and
exits non-zero before listening; one that can, keeps its state and its console's accounts there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from client import Stream, enroll, make_event

from agent.helpers import free_port
from aurora.collector.server import Collector
from aurora.collector.store.postgresql import PostgreSQLStore
from aurora.collector.store.postgresql.migrate import STORE_MIGRATIONS
from aurora.collector.store.sqlite.migrate import load_migrations
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from pgserver import PASSWORD, PgServer

pytestmark = [pytest.mark.postgresql, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]


def collector(state_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "aurora",
        "collector",
        "--state-dir",
        str(state_dir),
        "--listen",
        "127.0.0.1:0",
        "--api-listen",
        "127.0.0.1:0",
    ]


def env(store: str) -> dict[str, str]:
    out = dict(
        os.environ,
        PYTHONPATH=str(REPO / "src"),
        AURORA__DETECTION__ENABLED="false",
        AURORA__COLLECTOR__STORE=store,
    )
    out.pop("AURORA_CONFIG", None)
    return out


def refused(tmp_path: Path, store: str) -> str:
    """Run a collector expected to refuse at start; its one stderr line."""
    done = subprocess.run(
        collector(tmp_path / "state"),
        capture_output=True,
        text=True,
        env=env(store),
        timeout=120,
    )
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("aurora: ")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_unreachable_server_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, pg_server: PgServer
) -> None:
    nobody_there = free_port()
    line = refused(tmp_path, f"postgresql://aurora:{PASSWORD}@127.0.0.1:{nobody_there}/aurora")
    assert f"cannot open the store postgresql://aurora@127.0.0.1:{nobody_there}/aurora" in line
    assert "refused" in line.lower() and PASSWORD not in line


def test_wrong_password_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, pg_server: PgServer
) -> None:
    url = pg_server.new_database().replace(f":{PASSWORD}@", ":not-the-password@")
    line = refused(tmp_path, url)
    assert "password authentication failed" in line and "not-the-password" not in line


def test_a_store_that_is_neither_sqlite_nor_postgresql_is_a_config_error(tmp_path: Path) -> None:
    line = refused(tmp_path, "mysql://root@127.0.0.1/aurora")
    assert "collector.store" in line


def test_collector_keeps_state_and_accounts_in_postgresql(
    tmp_path: Path, pg_server: PgServer
) -> None:
    url = pg_server.new_database()
    log_path = tmp_path / "collector.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(collector(tmp_path / "state"), stdout=log, stderr=log, env=env(url))
    try:
        deadline = time.monotonic() + 90
        while "api listening" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        with psycopg.connect(url) as conn:
            users = conn.execute("SELECT name, role FROM api_users").fetchall()
            versions = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        latest = len(load_migrations(STORE_MIGRATIONS))
        assert users == [("admin", "admin")] and versions == (latest,)
        assert not (tmp_path / "state" / "aurora.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0, log_path.read_text()


def test_sensor_stream_into_a_collector_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    """The whole ingest path on PostgreSQL: enrolment token, mTLS stream, acks after commit,
    a resend discarded, a gap recorded, the mark handed back at the next hello."""
    config = AuroraConfig.model_validate(
        {
            "collector": {
                "state_dir": str(tmp_path / "state"),
                "listen": "127.0.0.1:0",
                "store": pg_url,
            },
            "detection": {"enabled": False},
        }
    )
    node = Collector(config)
    node.start()
    try:
        assert node.store is not None and node.ca is not None
        token = create_token(node.store, 3600, 1)
        ident = enroll(f"localhost:{node.port}", token.token, node.ca.cert_pem, "pg-host")
        stream = Stream(f"localhost:{node.port}", ident)
        stream.hello(hostname="pg-host")
        events = [make_event(seq) for seq in range(1, 41)]
        stream.batch(1, events[:20])
        stream.batch(1, events[:20])  # a resend after a lost ack
        stream.batch(31, events[30:])  # 21..30 never arrive
        acks = [stream.recv_kind("ack") for _ in range(3)]
        stream.close()
        assert all(a.accepted for a in acks)
        # Acked means committed: another connection to the database sees every event.
        other = PostgreSQLStore(pg_url)
        try:
            assert other.count_events(ident.sensor_id) == 30
            assert [(g.first_missing, g.last_missing) for g in other.gaps()] == [(21, 30)]
            assert other.get_host(ident.sensor_id).hostname == "pg-host"  # type: ignore[union-attr]
        finally:
            other.close()
        again = Stream(f"localhost:{node.port}", ident)
        try:
            assert again.hello().acked_through_seq == 40
        finally:
            again.close()
    finally:
        node.stop()
