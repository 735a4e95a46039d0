"""The collector-side commands as real processes: collector, token, hosts, events, alerts."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from client import Stream, enroll, make_event

from aurora.cli.main import main
from aurora.cli.timespec import parse_time_ms
from aurora.collector.store import AlertRecord, NewAlert
from aurora.collector.store.sqlite import SQLiteStore
from aurora.v1 import stream_pb2

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src")
    env.pop("AURORA_CONFIG", None)
    env["AURORA__DETECTION__ENABLED"] = "false"
    return env


def aurora(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `aurora ARGS` in this process (a subprocess costs a second of imports per call)."""
    out, err = io.StringIO(), io.StringIO()
    env = {"AURORA__DETECTION__ENABLED": "false"}
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.delenv("AURORA_CONFIG", raising=False)
        for k, v in env.items():
            mp.setenv(k, v)
        # print_json_line writes to sys.stdout.buffer; give it one.
        buf = io.BytesIO()
        mp.setattr(sys, "stdout", _Tee(out, buf))
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse errors
            code = int(exc.code or 0)
        out.write(buf.getvalue().decode())
    proc = subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"aurora {args} failed ({code}): {proc.stderr}")
    return proc


class _Tee(io.TextIOWrapper):
    def __init__(self, text: io.StringIO, buf: io.BytesIO) -> None:
        super().__init__(buf, encoding="utf-8", write_through=True)
        self._text = text

    def write(self, s: str) -> int:
        return self._text.write(s)


def _json_lines(text: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in text.splitlines() if line.strip()]


class Running:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aurora",
                "collector",
                "--state-dir",
                str(state),
                "--listen",
                "127.0.0.1:0",
                "--api-listen",
                "127.0.0.1:0",
            ],
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        self.lines: list[str] = []
        assert self.proc.stderr is not None
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"collector ready on [\d.]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                return
        raise AssertionError("collector did not get ready: " + "".join(self.lines))

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        return "".join(self.lines) + err


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    r = Running(tmp_path / "state")
    yield r
    if r.proc.poll() is None:
        r.proc.kill()
        r.proc.communicate()


def test_token_create_json_and_permissions(tmp_path: Path) -> None:
    state = tmp_path / "st"
    out = aurora(
        "token", "create", "--ttl", "2h", "--uses", "3", "--json", "--state-dir", str(state)
    )
    [obj] = _json_lines(out.stdout)
    assert str(obj["token"]).startswith("aet_") and re.fullmatch(
        r"[0-9a-f]{64}", str(obj["ca_fingerprint"])
    )
    assert state.stat().st_mode & 0o777 == 0o700
    assert (state / "pki" / "ca.key").stat().st_mode & 0o777 == 0o600
    # Only the hash is stored.
    assert str(obj["token"]).encode() not in (state / "aurora.db").read_bytes()
    again = _json_lines(aurora("token", "create", "--json", "--state-dir", str(state)).stdout)[0]
    assert again["ca_fingerprint"] == obj["ca_fingerprint"]
    human = aurora("token", "create", "--state-dir", str(state)).stdout
    assert "ca_fingerprint:" in human and str(obj["ca_fingerprint"]) in human


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["token", "create", "--ttl", "forever"], "invalid duration 'forever'"),
        (["token", "create", "--uses", "0"], "must be at least 1"),
        (["hosts"], "no collector state in"),
        (["events", "--since", "yesterday-ish"], "invalid time 'yesterday-ish'"),
        (["alerts", "--status", "open"], "invalid choice: 'open'"),
        (["collector", "--listen", "nowhere"], "is not HOST:PORT"),
    ],
)
def test_bad_input_is_one_clear_line_and_non_zero(
    tmp_path: Path, args: list[str], message: str
) -> None:
    proc = aurora(*args, "--state-dir", str(tmp_path / "empty"), check=False)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert message in last


def test_collector_process_end_to_end(running: Running, tmp_path: Path) -> None:
    state = str(running.state)
    tok = _json_lines(aurora("token", "create", "--json", "--state-dir", state).stdout)[0]
    ca_pem = (running.state / "pki" / "ca.crt").read_bytes()
    ident = enroll(f"localhost:{running.port}", str(tok["token"]), ca_pem, "cli-host")
    s = Stream(f"localhost:{running.port}", ident)
    try:
        s.hello(hostname="cli-host")
        events = [make_event(i, hostname="cli-host") for i in range(1, 6)]
        events[0]["class_uid"] = 4001
        s.batch(1, events)
        assert s.recv_kind("ack").accepted
        s.send(heartbeat=stream_pb2.Heartbeat(sensor_id=ident.sensor_id, health=1))
        time.sleep(0.3)

        [host] = _json_lines(aurora("hosts", "--json", "--state-dir", state).stdout)
        assert host["sensor_id"] == ident.sensor_id and host["status"] == "online"
        assert host["hostname"] == "cli-host" and host["high_water_seq"] == 5
        table = aurora("hosts", "--state-dir", state).stdout
        assert "cli-host" in table and "online" in table

        got = _json_lines(
            aurora("events", "--host", "cli-host", "--json", "--state-dir", state).stdout
        )
        assert len(got) == 5
        only = _json_lines(
            aurora("events", "--class", "4001", "--json", "--state-dir", state).stdout
        )
        assert [e["class_uid"] for e in only] == [4001]
        two = aurora("events", "--limit", "2", "--json", "--state-dir", state).stdout
        assert len(_json_lines(two)) == 2
        none = aurora("events", "--since", "1h", "--json", "--state-dir", state).stdout
        assert none == ""  # the test events are from 2023
        unknown = aurora("events", "--host", "nope", "--state-dir", state, check=False)
        assert unknown.returncode != 0 and "no enrolled sensor matches 'nope'" in unknown.stderr

        assert aurora("hosts", "revoke", ident.sensor_id, "--state-dir", state).returncode == 0
        s.send(heartbeat=stream_pb2.Heartbeat(sensor_id=ident.sensor_id))
        assert s.recv_kind("goodbye").reason == stream_pb2.Goodbye.REASON_REVOKED
        [host] = _json_lines(aurora("hosts", "--json", "--state-dir", state).stdout)
        assert host["status"] == "revoked"
    finally:
        s.close()
    log = running.stop()
    assert running.proc.returncode == 0
    assert re.search(rf"sensor {ident.sensor_id} \(cli-host\) connected from", log)
    assert re.search(rf"sensor {ident.sensor_id} \(cli-host\) disconnected", log)


def test_alerts_listing_filters_and_status_changes(tmp_path: Path) -> None:
    state = tmp_path / "st"
    store = SQLiteStore(state / "aurora.db")
    now = int(time.time() * 1000)
    finding = {"class_uid": 2004, "finding_info": {"analytic": {"uid": "r1"}}, "severity": "High"}
    store.add_alerts(
        [
            NewAlert("r1", "s1", "", 4, "Recent", now - 60_000, finding),
            NewAlert("r2", "s1", "", 2, "Old", now - 3 * 86_400_000, {"class_uid": 2004}),
        ]
    )
    store.close()
    st = str(state)
    all_ = _json_lines(aurora("alerts", "--json", "--state-dir", st).stdout)
    assert [f["message"] if "message" in f else f["class_uid"] for f in all_]
    assert len(all_) == 2 and all(f["class_uid"] == 2004 for f in all_)
    recent = _json_lines(aurora("alerts", "--since", "1d", "--json", "--state-dir", st).stdout)
    assert len(recent) == 1 and recent[0]["finding_info"]["analytic"]["uid"] == "r1"  # type: ignore[index]
    assert recent[0]["status"] == "New"
    alert_id = recent[0]["unmapped"]["aurora_alert_id"]  # type: ignore[index]
    aurora("alerts", "ack", str(alert_id), "--state-dir", st)
    acked = _json_lines(
        aurora("alerts", "--status", "acknowledged", "--json", "--state-dir", st).stdout
    )
    assert len(acked) == 1 and acked[0]["status_id"] == 2
    bad = aurora("alerts", "resolve", "999", "--state-dir", st, check=False)
    assert bad.returncode != 0 and "no alert has id 999" in bad.stderr
    assert "Recent" in aurora("alerts", "--state-dir", st).stdout
    assert isinstance(AlertRecord, type)


def test_time_parsing() -> None:
    now = 1_000_000_000_000
    assert parse_time_ms("15m", now_ms=now) == now - 900_000
    assert parse_time_ms("7d", now_ms=now) == now - 7 * 86_400_000
    assert parse_time_ms("2026-01-31T12:00:00Z") == 1769860800000
    assert parse_time_ms("2026-01-31T12:00:00") == 1769860800000


def test_unusable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = aurora("token", "create", "--state-dir", str(blocker / "state"), check=False)
    assert proc.returncode != 0
    assert "cannot use" in proc.stderr and "Traceback" not in proc.stderr
