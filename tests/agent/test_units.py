"""The agent's smaller parts: backoff, health verdicts, command plumbing, identity swaps."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aurora.errors import UsageError
from aurora.sensor.capabilities import assess, build_heartbeat, isolation_enum
from aurora.sensor.enrollment import new_key_and_csr, normalise_fingerprint, parse_endpoint
from aurora.sensor.identity import (
    CERT_FILE,
    KEY_FILE,
    Identity,
    NotEnrolledError,
    load_identity,
    save_identity,
    save_renewed,
)
from aurora.sensor.source import Capability
from aurora.sensor.spool import SpoolStatus
from aurora.sensor.transport.channel import Backoff
from aurora.sensor.transport.commands import CommandRunner, command_params
from aurora.v1 import common_pb2, stream_pb2
from fulldisk import fill

from .helpers import wait_until


def test_backoff_grows_with_jitter_and_caps() -> None:
    b = Backoff(0.5, 8.0)
    ceilings = [0.5, 1, 2, 4, 8, 8, 8]
    for ceiling in ceilings:
        d = b.next_delay()
        assert ceiling / 2 <= d <= ceiling
    b.reset()
    assert b.next_delay() <= 0.5
    spread = {round(Backoff(1, 1).next_delay(), 6) for _ in range(20)}
    assert len(spread) > 1, "no jitter"


def _status(used: int = 0) -> SpoolStatus:
    return SpoolStatus(
        bytes_used=used, bytes_max=1000, events_queued=0, next_seq=1, acked_through=0
    )


def test_health_verdicts() -> None:
    ok = [Capability("process", True), Capability("dns", True)]
    assert assess(ok, _status(), 0, "not_isolated").health == stream_pb2.HEALTH_OK
    part = [Capability("process", True), Capability("dns", False, "kprobes off")]
    v = assess(part, _status(), 0, "not_isolated")
    assert v.health == stream_pb2.HEALTH_DEGRADED and "dns" in v.reasons[0]
    assert assess(ok, _status(950), 0, "").health == stream_pb2.HEALTH_DEGRADED
    assert assess(ok, _status(), 5, "").health == stream_pb2.HEALTH_DEGRADED
    none = [Capability("process", False, "x")]
    assert assess(none, _status(), 0, "").health == stream_pb2.HEALTH_FAILING
    hb = build_heartbeat("s1", part, _status(10), {"events_sent": 4}, "isolated", 0)
    assert hb.isolation == common_pb2.ISOLATION_STATE_ISOLATED
    assert hb.spool.bytes_used == 10 and hb.counters["events_sent"] == 4
    assert [c.name for c in hb.capabilities] == ["process", "dns", "health"]
    assert isolation_enum("isolation_lost") == common_pb2.ISOLATION_STATE_FAILED
    assert isolation_enum("weird") == common_pb2.ISOLATION_STATE_UNSPECIFIED


def test_command_params_for_every_action() -> None:
    c = stream_pb2.Command(command_id="1")
    c.kill.pid = 42
    c.kill.tree = True
    c.kill.start_time_unix_ms = 99
    assert command_params(c) == ("kill", {"pid": 42, "tree": True, "start_time": 99})
    c = stream_pb2.Command(command_id="2")
    c.restore.quarantine_id = "q1"
    assert command_params(c) == ("restore", {"id": "q1"})
    c = stream_pb2.Command(command_id="3")
    c.isolate.allow.append("10.0.0.0/8")
    assert command_params(c) == ("isolate", {"allow": ["10.0.0.0/8"]})
    c = stream_pb2.Command(command_id="4")
    c.update.version = "2"
    assert command_params(c) == (None, {})


class _Outcome:
    def __init__(self, ok: bool, data: dict[str, Any]) -> None:
        self.ok, self.data = ok, data
        self.error_code = "" if ok else "boom"
        self.message = "done" if ok else "failed"
        self.artifact_path: Path | None = None


class _SlowExecutor:
    """A real executor stand-in for plumbing tests: counts runs, reports progress, can block."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.release = threading.Event()

    def execute(self, action: str, params: dict[str, Any], progress: Any = None) -> _Outcome:
        self.calls.append((action, params))
        if progress is not None:
            progress(0.5, "half")
        self.release.wait(10)
        return _Outcome(action != "quarantine", {"action": action})


def _runner() -> tuple[CommandRunner, list[stream_pb2.SensorMessage], _SlowExecutor]:
    sent: list[stream_pb2.SensorMessage] = []
    ex = _SlowExecutor()
    return CommandRunner(sent.append, lambda: ex), sent, ex


def _results(sent: list[stream_pb2.SensorMessage]) -> list[stream_pb2.CommandResult]:
    return [m.result for m in sent if m.WhichOneof("body") == "result"]


def test_expired_command_refused_without_running() -> None:
    runner, sent, ex = _runner()
    cmd = stream_pb2.Command(command_id="c1", expires_at_unix_ms=int(time.time() * 1000) - 5000)
    cmd.unisolate.SetInParent()
    runner.handle(cmd)
    (res,) = _results(sent)
    assert res.status == stream_pb2.COMMAND_STATUS_EXPIRED and res.error_code == "expired"
    assert ex.calls == []


def test_duplicate_delivery_runs_once_and_resends_result() -> None:
    runner, sent, ex = _runner()
    cmd = stream_pb2.Command(command_id="c2")
    cmd.kill.pid = 1234
    runner.handle(cmd)
    runner.handle(cmd)  # re-sent by the collector while still running
    ex.release.set()
    wait_until(lambda: len(_results(sent)) == 1, 10, "the result")
    runner.handle(cmd)  # re-sent after a reconnect: same answer, no second run
    assert len(ex.calls) == 1
    first, again = _results(sent)
    assert first == again and first.status == stream_pb2.COMMAND_STATUS_SUCCEEDED
    assert orjson.loads(first.result_json) == {"action": "kill"}
    progress = [m.progress for m in sent if m.WhichOneof("body") == "progress"]
    assert progress and progress[0].stage == "half"
    runner.close()


def test_failed_action_and_missing_executor() -> None:
    runner, sent, ex = _runner()
    ex.release.set()
    cmd = stream_pb2.Command(command_id="c3")
    cmd.quarantine.path = "/tmp/x"
    runner.handle(cmd)
    wait_until(lambda: len(_results(sent)) == 1, 10, "the result")
    (res,) = _results(sent)
    assert res.status == stream_pb2.COMMAND_STATUS_FAILED and res.error_code == "boom"
    bare_sent: list[stream_pb2.SensorMessage] = []
    bare = CommandRunner(bare_sent.append, lambda: None)
    bare.handle(cmd)
    wait_until(lambda: len(_results(bare_sent)) == 1, 10, "the result")
    assert _results(bare_sent)[0].status == stream_pb2.COMMAND_STATUS_UNSUPPORTED


def _self_signed_identity(tmp_path: Path) -> Identity:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sid-1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Identity("sid-1", ("127.0.0.1:9443",), key_pem, pem, pem, "00" * 32)


def test_interrupted_certificate_swap_is_completed(tmp_path: Path) -> None:
    ident = _self_signed_identity(tmp_path)
    save_identity(tmp_path, ident)
    new = _self_signed_identity(tmp_path)
    # A crash after the new key replaced the old one but before the certificate did.
    (tmp_path / (CERT_FILE + ".new")).write_bytes(new.cert_pem)
    (tmp_path / KEY_FILE).write_bytes(new.key_pem)
    loaded = load_identity(tmp_path)
    assert loaded.cert_pem == new.cert_pem and loaded.key_pem == new.key_pem
    assert not (tmp_path / (CERT_FILE + ".new")).exists()


def test_a_renewal_that_cannot_be_saved_keeps_the_current_pair(small_disk: Path) -> None:
    ident = _self_signed_identity(small_disk)
    save_identity(small_disk, ident)
    new = _self_signed_identity(small_disk)
    fill(small_disk)
    with pytest.raises(OSError):
        save_renewed(small_disk, new.key_pem, b"x" * 100_000 + new.cert_pem)
    loaded = load_identity(small_disk)
    assert loaded.key_pem == ident.key_pem and loaded.cert_pem == ident.cert_pem
    assert not [p.name for p in small_disk.iterdir() if p.name.endswith((".new", ".tmp"))]


def test_mismatched_or_missing_identity_is_not_enrolled(tmp_path: Path) -> None:
    with pytest.raises(NotEnrolledError, match="aurora enroll"):
        load_identity(tmp_path / "nothing")
    ident = _self_signed_identity(tmp_path)
    save_identity(tmp_path, ident)
    other_key, _ = new_key_and_csr("x")
    (tmp_path / KEY_FILE).write_bytes(other_key)
    with pytest.raises(NotEnrolledError, match="does not match"):
        load_identity(tmp_path)
    os.unlink(tmp_path / "identity.json")
    with pytest.raises(NotEnrolledError, match="not enrolled"):
        load_identity(tmp_path)


def test_endpoint_and_fingerprint_parsing() -> None:
    assert parse_endpoint("[::1]:9443") == ("::1", 9443)
    assert parse_endpoint("collector.example:1") == ("collector.example", 1)
    for bad in ("nohost", ":9443", "h:0", "h:x"):
        with pytest.raises(UsageError):
            parse_endpoint(bad)
    assert normalise_fingerprint("AB:" * 31 + "AB") == "ab" * 32
    with pytest.raises(UsageError):
        normalise_fingerprint("ab" * 31)
