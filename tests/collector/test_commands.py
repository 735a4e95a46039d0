"""Commands down the stream, results and uploads back up; alerts raised on ingest within 1 s."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from client import Identity, Stream, enroll, make_event

from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.errors import UsageError
from aurora.v1 import stream_pb2
from conftest import addr, make_config


def _wait(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def test_command_to_live_sensor_and_result(
    collector: Collector, enrolled: Callable[..., Identity]
) -> None:
    ident = enrolled()
    s = Stream(addr(collector), ident)
    try:
        s.hello()
        assert collector.commands is not None and collector.store is not None
        cmd = collector.commands.enqueue(ident.sensor_id, "kill", {"pid": 4242, "tree": True})
        got = s.recv_kind("command")
        assert got.command_id == cmd.command_id and got.kill.pid == 4242 and got.kill.tree
        _wait(lambda: collector.store.get_command(cmd.command_id).state == "sent")  # type: ignore[union-attr]
        s.send(
            progress=stream_pb2.CommandProgress(command_id=cmd.command_id, fraction=0.5, stage="x")
        )
        s.send(
            result=stream_pb2.CommandResult(
                command_id=cmd.command_id,
                status=stream_pb2.COMMAND_STATUS_FAILED,
                error_code="pid_recycled",
                message="start time differs",
                result_json=orjson.dumps({"pid": 4242}),
            )
        )
        _wait(lambda: collector.store.get_command(cmd.command_id).state == "failed")  # type: ignore[union-attr]
        done = collector.store.get_command(cmd.command_id)
        assert done is not None
        assert (done.error_code, done.message, done.result) == (
            "pid_recycled",
            "start time differs",
            {"pid": 4242},
        )
    finally:
        s.close()


def test_commands_queue_while_offline_and_expired_ones_are_not_sent(
    collector: Collector, enrolled: Callable[..., Identity]
) -> None:
    ident = enrolled()
    assert collector.commands is not None
    stale = collector.commands.enqueue(ident.sensor_id, "isolate", {"allow": ["10.0.0.1"]}, ttl_s=1)
    fresh = collector.commands.enqueue(ident.sensor_id, "quarantine", {"path": "/tmp/x"})
    time.sleep(1.1)
    s = Stream(addr(collector), ident)
    try:
        s.hello()
        got = s.recv_kind("command")
        assert got.command_id == fresh.command_id and got.quarantine.path == "/tmp/x"
        assert collector.store is not None
        assert collector.store.get_command(stale.command_id).state == "expired"  # type: ignore[union-attr]
    finally:
        s.close()


def test_bad_commands_are_refused_when_requested(collector: Collector) -> None:
    assert collector.commands is not None
    with pytest.raises(UsageError, match="unknown action"):
        collector.commands.enqueue("x", "format_disk", {})
    with pytest.raises(UsageError, match="needs the parameter 'pid'"):
        collector.commands.enqueue("x", "kill", {})
    with pytest.raises(UsageError, match="no enrolled sensor"):
        collector.commands.enqueue("nobody", "unisolate", {})


def _upload(s: Stream, cid: str, data: bytes, chunk: int, sha: bytes | None = None) -> list[object]:
    acks = []
    for off in range(0, len(data), chunk):
        last = off + chunk >= len(data)
        s.send(
            chunk=stream_pb2.UploadChunk(
                command_id=cid,
                offset=off,
                data=data[off : off + chunk],
                last=last,
                total_size=len(data) if last else 0,
                sha256=(sha or hashlib.sha256(data).digest()) if last else b"",
            )
        )
        acks.append(s.recv_kind("chunk_ack"))
    return acks


def test_upload_in_chunks_is_verified_and_stored(
    collector: Collector, enrolled: Callable[..., Identity]
) -> None:
    ident = enrolled()
    assert collector.commands is not None and collector.store is not None
    cmd = collector.commands.enqueue(ident.sensor_id, "triage", {})
    s = Stream(addr(collector), ident)
    try:
        s.hello()
        s.recv_kind("command")
        data = bytes(range(256)) * 1000
        acks = _upload(s, cmd.command_id, data, 64 * 1024)
        assert all(a.accepted for a in acks)  # type: ignore[attr-defined]
        up = collector.store.get_upload(cmd.command_id)
        assert up is not None and up.complete and up.sha256 == hashlib.sha256(data).hexdigest()
        assert Path(up.path).read_bytes() == data
        # Wrong offset: refused, told where to resume.
        s.send(chunk=stream_pb2.UploadChunk(command_id="nope", offset=0, data=b"x"))
        assert not s.recv_kind("chunk_ack").accepted
        bad = collector.commands.enqueue(ident.sensor_id, "triage", {})
        acks = _upload(s, bad.command_id, b"abc" * 100, 100, sha=b"\0" * 32)
        assert not acks[-1].accepted and "sha256" in acks[-1].reason  # type: ignore[attr-defined]
        assert not (collector.state_dir / "uploads" / f"{bad.command_id}.part").exists()
    finally:
        s.close()


def test_upload_size_cap(tmp_path: Path) -> None:
    c = Collector(make_config(tmp_path / "c", max_upload_bytes=4096))
    c.start()
    try:
        assert c.store is not None and c.ca is not None and c.commands is not None
        ident = enroll(addr(c), create_token(c.store, 60, 1).token, c.ca.cert_pem)
        cmd = c.commands.enqueue(ident.sensor_id, "triage", {})
        s = Stream(addr(c), ident)
        s.hello()
        acks = _upload(s, cmd.command_id, b"z" * 10_000, 3000)
        assert [a.accepted for a in acks[:2]] == [True, False]  # type: ignore[attr-defined]
        assert "cap" in acks[1].reason  # type: ignore[attr-defined]
        s.close()
    finally:
        c.stop()


RULE = """
title: Test evil binary
id: 5b0f6c1e-6c55-4a43-9d0e-3f1f4a7a0001
status: test
level: high
tags: [attack.execution, attack.t1059]
logsource: {product: linux, category: process_creation}
detection:
  sel: {Image|endswith: '/evil'}
  condition: sel
"""


@pytest.fixture
def detecting(tmp_path: Path) -> Iterator[Collector]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "evil.yml").write_text(RULE)
    cfg = make_config(tmp_path / "c", detection=True)
    cfg = cfg.model_copy(
        update={"detection": cfg.detection.model_copy(update={"rule_dirs": [rules]})}
    )
    c = Collector(cfg)
    c.start()
    yield c
    c.stop()


def test_alert_within_one_second_and_suppression(detecting: Collector) -> None:
    c = detecting
    assert c.store is not None and c.ca is not None
    ident = enroll(addr(c), create_token(c.store, 60, 1).token, c.ca.cert_pem)
    s = Stream(addr(c), ident)
    try:
        s.hello()
        evil = make_event(1)
        evil["process"]["file"]["path"] = "/usr/local/bin/evil"
        sent = time.monotonic()
        s.batch(1, [evil, make_event(2)])
        while not c.store.list_alerts():
            assert time.monotonic() - sent < 1.0, "no alert within 1 s"
            time.sleep(0.01)
        alerts = c.store.list_alerts()
        assert len(alerts) == 1, [(a.rule_uid, a.title) for a in alerts]
        [alert] = alerts
        assert alert.rule_uid == "5b0f6c1e-6c55-4a43-9d0e-3f1f4a7a0001"
        assert alert.status == "new" and alert.sensor_id == ident.sensor_id
        f = alert.finding
        assert f["class_uid"] == 2004
        assert f["finding_info"]["analytic"]["uid"] == alert.rule_uid
        assert s.recv_kind("ack").accepted
        # The same rule on the same host inside the window: counted, not a new alert.
        again = make_event(3)
        again["process"]["file"]["path"] = "/opt/evil"
        s.batch(3, [again])
        s.recv_kind("ack")
        _wait(lambda: c.store.get_alert(alert.alert_id).count == 2)  # type: ignore[union-attr]
        assert len(c.store.list_alerts()) == 1
        # A resend of the evidence (duplicate seq) does not raise it again.
        s.batch(1, [evil])
        s.recv_kind("ack")
        assert c.store.get_alert(alert.alert_id).count == 2  # type: ignore[union-attr]
    finally:
        s.close()


def test_scan_detection_sees_network_events_matched_in_the_reader_process(
    tmp_path: Path,
) -> None:
    """No Sigma rule matches these connections; the scan detector (which keeps its state in the
    collector process) must still be handed every one of them by the batch reader."""
    cfg = make_config(tmp_path / "c", detection=True)
    cfg = cfg.model_copy(
        update={"detection": cfg.detection.model_copy(update={"scan_distinct_ports": 8})}
    )
    c = Collector(cfg)
    c.start()
    try:
        assert c.store is not None and c.ca is not None
        ident = enroll(addr(c), create_token(c.store, 60, 1).token, c.ca.cert_pem)
        s = Stream(addr(c), ident)
        try:
            s.hello()
            probes = []
            for i in range(8):
                ev = make_event(i + 1, class_uid=4001)
                ev.update(
                    src_endpoint={"ip": "10.9.9.9", "port": 40000},
                    dst_endpoint={"ip": "10.0.0.1", "port": 1000 + i},
                    connection_info={"direction_id": 1},
                )
                probes.append(ev)
            s.batch(1, probes[:4])  # the scan spans two batches
            assert s.recv_kind("ack").accepted
            assert c.store.list_alerts() == []
            s.batch(5, probes[4:])
            assert s.recv_kind("ack").accepted
            [alert] = c.store.list_alerts()
            assert "10.9.9.9" in json.dumps(alert.finding)
        finally:
            s.close()
    finally:
        c.stop()


def test_rules_uploaded_through_the_console_run_after_restart(tmp_path: Path) -> None:
    """The console saves uploaded rules in <state>/rules; the collector loads them at start."""
    cfg = make_config(tmp_path / "c", detection=True)
    uploaded = cfg.collector.state_dir / "rules"
    uploaded.mkdir(parents=True)
    (uploaded / "evil.yml").write_text(RULE)
    c = Collector(cfg)
    c.start()
    try:
        assert c.detection is not None
        assert "5b0f6c1e-6c55-4a43-9d0e-3f1f4a7a0001" in {
            str(r.id) for r in c.detection.engine.rules
        }
    finally:
        c.stop()
