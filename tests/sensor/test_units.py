"""Pieces of the sensor that need no kernel: kernel probe, DNS parsing, watch rules, the process
table, the OCSF validator and the `aurora sensor` command line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aurora.config.sensor import SensorConfig
from aurora.ocsf.schema import OcsfSchema
from aurora.sensor.linux.kernel import MIN_KERNEL_VERSION, KernelInfo, KernelTooOld, NoBtf
from aurora.sensor.linux.normalise.dns import parse_dns_question
from aurora.sensor.linux.normalise.network import ip_text
from aurora.sensor.linux.proctable import ProcessTable
from aurora.sensor.linux.records import WATCH_F_EXEC_ONLY
from aurora.sensor.linux.watch import build_rules
from aurora.sensor.source import Capability, EventSource

REPO = Path(__file__).resolve().parents[2]


def test_kernel_floor(tmp_path: Path) -> None:
    btf = tmp_path / "vmlinux"
    btf.write_bytes(b"x")
    assert MIN_KERNEL_VERSION == (5, 8)
    assert KernelInfo.probe_running_kernel("5.8.0-1", btf).version == (5, 8)
    with pytest.raises(KernelTooOld, match=r"kernel 5\.4\.0 is too old: .*Linux 5\.8 or later"):
        KernelInfo.probe_running_kernel("5.4.0", btf)
    with pytest.raises(KernelTooOld, match="cannot parse"):
        KernelInfo.probe_running_kernel("garbage", btf)
    with pytest.raises(NoBtf, match="no BTF"):
        KernelInfo.probe_running_kernel("6.1.0", tmp_path / "missing")


def test_dns_question_parser() -> None:
    q = bytes.fromhex("abcd01000001000000000000") + b"\x03www\x07example\x03com\x00\x00\x1c\x00\x01"
    assert parse_dns_question(q) == (0xABCD, "www.example.com", 28)
    assert parse_dns_question(q[:20]) is None  # cut inside a label
    assert parse_dns_question(b"\x00" * 5) is None
    assert (
        parse_dns_question(bytes.fromhex("abcd01000000000000000000") + b"\x00\x00\x01\x00\x01")
        is None
    )


def test_ip_text_writes_mapped_ipv4_as_ipv4() -> None:
    assert ip_text(2, bytes([10, 0, 0, 1]) + b"\0" * 12) == "10.0.0.1"
    assert ip_text(10, b"\0" * 10 + b"\xff\xff" + bytes([127, 0, 0, 1])) == "127.0.0.1"
    assert ip_text(10, b"\0" * 15 + b"\x01") == "::1"


def test_watch_rules_and_config_validation() -> None:
    rules = build_rules(["/etc/", "/home/*/.ssh"], ["/tmp"])
    assert [(r.pattern, r.flags) for r in rules] == [
        (b"/etc", 0),
        (b"/home/*/.ssh", 0),
        (b"/tmp", WATCH_F_EXEC_ONLY),
    ]
    with pytest.raises(ValueError, match="absolute path"):
        SensorConfig(watch_paths=["etc"])
    with pytest.raises(ValueError, match="at most 32"):
        SensorConfig(watch_paths=[f"/p{i}" for i in range(33)])
    with pytest.raises(ValueError, match="unknown family 'usb'"):
        SensorConfig(linux_families=["usb"])
    with pytest.raises(ValueError, match="power of two"):
        SensorConfig(ringbuf_kb=3000)


def test_large_executables_are_hashed_in_the_background(tmp_path: Path) -> None:
    import hashlib

    from aurora.sensor.linux.enrich import INLINE_MAX_BYTES, HashCache

    small, big = tmp_path / "small", tmp_path / "big"
    small.write_bytes(b"x" * 1000)
    big.write_bytes(os.urandom(1024) * (INLINE_MAX_BYTES // 1024 + 1))
    cache = HashCache(max_bytes=64 * 1024 * 1024)
    assert cache.sha256((1, 1, 1), (str(small),)) == hashlib.sha256(small.read_bytes()).hexdigest()
    assert cache.sha256((1, 2, 1), ("/nonexistent", str(big))) is None  # not yet: in the background
    cache.close()  # waits for the hashing thread
    assert cache.cached((1, 2, 1)) == hashlib.sha256(big.read_bytes()).hexdigest()
    too_big = HashCache(max_bytes=1000)
    assert too_big.sha256((1, 3, 1), (str(big),)) is None
    assert too_big.cached((1, 3, 1)) is None  # recorded as unhashable, not retried


def test_process_table_fork_exec_exit_and_ancestry() -> None:
    t = ProcessTable()
    assert t.seed_from_proc() > 0
    me = t.get(os.getpid())
    assert me is not None and me.path == os.path.realpath(sys.executable)
    child = t.fork(999_999_1, os.getpid(), 10**12)
    assert child.path == me.path  # a fork runs its parent's image until it execs
    assert t.ancestry(child)[0].pid == os.getpid()
    t.exit(child.pid, now=0.0)
    t.reap(now=1.0)
    assert t.get(child.pid) is not None  # kept for late records of other families
    t.reap(now=100.0)
    assert t.get(child.pid) is None


def test_linux_sensor_implements_the_event_source_protocol() -> None:
    from aurora.sensor.linux import LinuxSensor

    assert isinstance(LinuxSensor(SensorConfig()), EventSource)
    assert Capability("x", False, "why") == Capability(name="x", loaded=False, reason="why")


def test_schema_validator_catches_each_kind_of_problem(schema: OcsfSchema) -> None:
    good = {
        "class_uid": 1007,
        "category_uid": 1,
        "activity_id": 1,
        "type_uid": 100701,
        "time": 1,
        "severity_id": 1,
        "metadata": {"version": "1.8.0", "product": {"name": "A", "vendor_name": "B"}},
        "device": {"type_id": 0, "os": {"name": "Linux", "type_id": 200}},
        "actor": {"process": {"pid": 1}},
        "process": {"pid": 2, "file": {"name": "x", "type_id": 1, "path": "/x"}},
        "unmapped": {"anything": [1, {"goes": True}]},
    }
    assert schema.validate(good) == []
    cases = {
        "process.pid: expected an integer": {"process": {"pid": "2"}},
        "process.bogus: not an attribute": {"process": {"pid": 2, "bogus": 1}},
        "actor: required attribute is missing": {"actor": None},
        "severity_id: 42 is not one of": {"severity_id": 42},
        "type_uid: expected 100701": {"type_uid": 100702},
        "process.file.type_id: required attribute is missing": {"process": {"file": {"name": "x"}}},
        "dst_endpoint: not an attribute": {"dst_endpoint": {"ip": "1.2.3.4"}},
    }
    for expected, patch in cases.items():
        problems = schema.validate({**good, **patch})
        assert any(p.startswith(expected) for p in problems), (expected, problems)
    net = {
        **good,
        "class_uid": 4001,
        "category_uid": 4,
        "type_uid": 400101,
        "dst_endpoint": {"ip": "not-an-ip", "port": 70000},
    }
    del net["process"]
    problems = schema.validate(net)
    assert "dst_endpoint.ip: 'not-an-ip' is not an IP address" in problems
    assert any(p.startswith("dst_endpoint.port: 70000 out of range") for p in problems)
    assert schema.validate({"class_uid": 12345}) == ["class_uid: unknown event class 12345"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, "-m", "aurora", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_cli_rejects_stdout_with_collector() -> None:
    res = run_cli("sensor", "--stdout", "--collector", "h:1")
    assert res.returncode == 2
    assert res.stderr.strip() == "aurora: --stdout and --collector exclude each other: pick one"


def test_cli_reports_bad_sensor_config_in_one_line() -> None:
    env_bad = {"AURORA__SENSOR__WATCH_PATHS": '["relative/path"]'}
    res = subprocess.run(
        [sys.executable, "-m", "aurora", "sensor", "--stdout"],
        capture_output=True,
        text=True,
        env={**os.environ, **env_bad, "PYTHONPATH": str(REPO / "src")},
        timeout=60,
    )
    assert res.returncode == 2
    assert res.stderr.startswith("aurora: config error: sensor.watch_paths:")
    assert len(res.stderr.strip().splitlines()) == 1
