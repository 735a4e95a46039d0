"""The agent against an in-process collector: heartbeats, revocation, renewal, commands, uploads.

Everything crosses real gRPC with mutual TLS on loopback; commands run through the real response
executor against real processes.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.sensor.agent import Agent, default_executor_factory
from aurora.sensor.enrollment import enroll
from aurora.sensor.identity import Identity, load_identity
from aurora.sensor.transport import SensorRevoked

from .helpers import AgentThread, CountingSource, in_process_collector, sensor_config, wait_until


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    with in_process_collector(tmp_path / "collector") as c:
        yield c


@pytest.fixture
def identity(tmp_path: Path, collector: Collector) -> Identity:
    assert collector.store is not None
    tok = create_token(collector.store, 3600, 1)
    return enroll(
        f"127.0.0.1:{collector.port}", tok.token, collector.ca_fingerprint, tmp_path / "s"
    )


def run_agent(
    tmp_path: Path, source: CountingSource, *, real_executor: bool = False, **cfg: object
) -> AgentThread:
    config = sensor_config(tmp_path / "s", **cfg)
    factory = (
        default_executor_factory(tmp_path / "s", config, ("127.0.0.1:1",))
        if real_executor
        else (lambda: None)
    )
    return AgentThread(Agent(config, source, executor_factory=factory)).start()


def test_heartbeat_reports_health_spool_counters(
    tmp_path: Path, collector: Collector, identity: Identity
) -> None:
    source = CountingSource(500)
    source.kernel_drops = 3
    agent = run_agent(tmp_path, source)
    store = collector.store
    assert store is not None
    try:
        wait_until(
            lambda: (
                (h := store.get_host(identity.sensor_id)) is not None
                and h.counters.get("events_acked", 0) >= 500
            ),
            20,
            "a heartbeat after the events",
        )
        host = store.get_host(identity.sensor_id)
        assert host is not None
        assert host.connected
        assert {"name": "counting", "loaded": True, "reason": ""} in host.capabilities
        assert host.spool_max_bytes == 500 * 1024 * 1024
        assert host.counters["events_captured"] == 500
        assert host.counters["lost_kernel"] == 3
        assert host.drops_kernel == 3  # the delta travelled with a batch
        assert host.high_water == 500
    finally:
        agent.stop()
    assert agent.error is None


def test_revocation_ends_live_stream_and_refuses_reconnect(
    tmp_path: Path, collector: Collector, identity: Identity
) -> None:
    agent = run_agent(tmp_path, CountingSource(10), heartbeat_interval_s=0.3)
    wait_until(lambda: agent.agent.transport.connected.is_set(), 20, "the stream")
    t0 = time.monotonic()
    assert collector.revoke(identity.sensor_id)
    agent.thread.join(10)
    assert not agent.thread.is_alive()
    assert time.monotonic() - t0 < 5
    assert isinstance(agent.error, SensorRevoked)
    assert "revoked" in str(agent.error) and "\n" not in str(agent.error)
    # At the next start the collector refuses the handshake: the agent stops, it does not spin.
    again = run_agent(tmp_path, CountingSource(0))
    again.thread.join(15)
    assert isinstance(again.error, SensorRevoked)


def test_certificate_renewed_over_stream_and_used_at_reconnect(
    tmp_path: Path, collector: Collector, identity: Identity
) -> None:
    old_cert = (tmp_path / "s" / "sensor.crt").read_bytes()
    old_key = (tmp_path / "s" / "sensor.key").read_bytes()
    # Renew as soon as the stream is up.
    agent = run_agent(tmp_path, CountingSource(100), cert_renew_fraction=0.0)
    try:
        wait_until(
            lambda: agent.agent.counters.snapshot().get("cert_renewals", 0) >= 1, 20, "a renewal"
        )
    finally:
        agent.stop()
    new = load_identity(tmp_path / "s")
    assert new.cert_pem != old_cert and new.key_pem != old_key
    assert new.sensor_id == identity.sensor_id
    ca = x509.load_pem_x509_certificate(new.ca_pem)
    x509.load_pem_x509_certificate(new.cert_pem).verify_directly_issued_by(ca)
    for f in ("sensor.crt", "sensor.key"):
        assert (tmp_path / "s" / f).stat().st_mode & 0o777 == 0o600
    # The next connection authenticates with the renewed pair.
    store = collector.store
    assert store is not None
    agent = run_agent(tmp_path, CountingSource(200))
    try:
        wait_until(lambda: store.high_water(identity.sensor_id) >= 200, 20, "events")
    finally:
        agent.stop()
    assert agent.error is None


def test_kill_command_runs_on_real_process_and_result_returns(
    tmp_path: Path, collector: Collector, identity: Identity
) -> None:
    victim = subprocess.Popen(["sleep", "60"])
    agent = run_agent(tmp_path, CountingSource(0), real_executor=True)
    assert collector.commands is not None and collector.store is not None
    store = collector.store
    try:
        cmd = collector.commands.enqueue(
            identity.sensor_id, "kill", {"pid": victim.pid}, requested_by="test"
        )
        wait_until(
            lambda: (
                (c := store.get_command(cmd.command_id)) is not None
                and c.state in ("succeeded", "failed")
            ),
            20,
            "the kill result",
        )
        rec = store.get_command(cmd.command_id)
        assert rec is not None and rec.state == "succeeded", rec
        assert victim.wait(5) != 0
        assert victim.pid in rec.result.get("killed", [])
        unsupported = collector.commands.enqueue(identity.sensor_id, "config", {"toml": ""})
        wait_until(
            lambda: (
                (c := store.get_command(unsupported.command_id)) is not None
                and c.state == "unsupported"
            ),
            20,
            "the unsupported answer",
        )
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
        agent.stop()


def test_triage_archive_uploaded_in_chunks(
    tmp_path: Path, collector: Collector, identity: Identity
) -> None:
    agent = run_agent(tmp_path, CountingSource(0), real_executor=True)
    assert collector.commands is not None and collector.store is not None
    store = collector.store
    try:
        cmd = collector.commands.enqueue(
            identity.sensor_id, "triage", {"artifacts": ["Linux.Sys.Users"]}
        )
        wait_until(
            lambda: (
                (c := store.get_command(cmd.command_id)) is not None
                and c.state in ("succeeded", "failed")
            ),
            60,
            "the triage result",
        )
        rec = store.get_command(cmd.command_id)
        assert rec is not None and rec.state == "succeeded", rec
        upload = store.get_upload(cmd.command_id)
        assert upload is not None
        assert upload.size == rec.result["upload"]["size"] > 0
        assert upload.sha256 == rec.result["upload"]["sha256"]
    finally:
        agent.stop()


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_other_compressions_deliver(
    tmp_path: Path, collector: Collector, identity: Identity, compression: str
) -> None:
    store = collector.store
    assert store is not None
    agent = run_agent(tmp_path, CountingSource(3000), transport_compression=compression)
    try:
        wait_until(lambda: store.high_water(identity.sensor_id) >= 3000, 20, "events")
    finally:
        agent.stop()
    assert store.count_events(identity.sensor_id) == 3000


def test_rejected_batch_is_logged_counted_and_not_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A collector with a batch limit that no batch of these events fits in.
    cfg = AuroraConfig.model_validate(
        {
            "collector": {
                "state_dir": str(tmp_path / "collector"),
                "listen": "127.0.0.1:0",
                "max_batch_bytes": 1024,
            },
            "detection": {"enabled": False},
        }
    )
    c = Collector(cfg)
    c.start()
    try:
        assert c.store is not None
        tok = create_token(c.store, 3600, 1)
        enroll(f"127.0.0.1:{c.port}", tok.token, c.ca_fingerprint, tmp_path / "s")
        agent = run_agent(tmp_path, CountingSource(50), batch_max_events=10)
        try:
            wait_until(
                lambda: agent.agent.counters.snapshot().get("events_rejected", 0) == 50,
                20,
                "every batch rejected",
            )
            assert agent.agent.spool.status().events_queued == 0  # not retried forever
            assert agent.agent.counters.snapshot()["batches_rejected"] == 5
            assert any("collector rejected batch" in r.getMessage() for r in caplog.records)
        finally:
            agent.stop()
        assert agent.error is None
    finally:
        c.stop()
