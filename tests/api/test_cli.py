"""The analyst CLI as a user runs it (real subprocesses): `aurora user ...` and the response
actions, locally on a state directory and remotely through the API."""

from __future__ import annotations

import hashlib
import io
import os
import pty
import subprocess
import sys
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.apienv import SENSOR, Env, seed
from aurora.cli.main import main
from aurora.collector.store.base import UploadRecord
from aurora.collector.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def aurora(*args: str, stdin: str | None = None) -> Result:
    """Run the `aurora` entry point in-process (a subprocess per call costs seconds of imports)."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.StringIO()
    saved_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(args))
    finally:
        sys.stdin = saved_stdin
    out.flush()
    return Result(code, out.buffer.getvalue().decode(), err.getvalue())  # type: ignore[attr-defined]


class FakeSensorSide:
    """Plays the collector's stream service: answers the next queued command as a sensor would."""

    def __init__(self, state_dir: Path, outcome: str, *, error_code: str = "", upload: bytes = b""):
        self.store = SQLiteStore(state_dir / "aurora.db")
        self.state_dir = state_dir
        self.outcome, self.error_code, self.upload = outcome, error_code, upload
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pending = self.store.pending_commands(SENSOR, int(time.time() * 1000))
            if pending:
                cmd = pending[0]
                now = int(time.time() * 1000)
                self.store.update_command(
                    cmd.command_id, now_ms=now, state="running", progress=0.5, stage="working"
                )
                time.sleep(0.6)
                if self.upload:
                    path = self.state_dir / "uploads" / f"{cmd.command_id}.tar.zst"
                    path.parent.mkdir(exist_ok=True)
                    path.write_bytes(self.upload)
                    digest = hashlib.sha256(self.upload).hexdigest()
                    self.store.record_upload(
                        UploadRecord(
                            cmd.command_id, SENSOR, str(path), len(self.upload), digest, True, now
                        )
                    )
                self.store.update_command(
                    cmd.command_id,
                    now_ms=int(time.time() * 1000),
                    state=self.outcome,
                    progress=1.0,
                    error_code=self.error_code,
                    message="done" if self.outcome == "succeeded" else "nft is missing",
                )
                return
            time.sleep(0.1)

    def close(self) -> None:
        self.thread.join(10)
        self.store.close()


def test_user_add_list_remove_token(tmp_path: Path) -> None:
    state = str(tmp_path)
    added = aurora(
        "user",
        "--state-dir",
        state,
        "add",
        "alice",
        "--role",
        "analyst",
        stdin="a-long-password-1\n",
    )
    assert added.returncode == 0, added.stderr
    assert "password" not in added.stdout  # it came from stdin, nothing to reveal
    listed = aurora("user", "--state-dir", state, "list", "--json")
    assert '"name":"alice"' in listed.stdout and '"role":"analyst"' in listed.stdout
    dup = aurora(
        "user", "--state-dir", state, "add", "ALICE", "--role", "viewer", stdin="another-password\n"
    )
    assert dup.returncode == 2 and dup.stderr.strip() == "aurora: user 'ALICE' already exists"
    weak = aurora("user", "--state-dir", state, "add", "bob", "--role", "viewer", stdin="short\n")
    assert weak.returncode == 1 and "at least 12" in weak.stderr and weak.stderr.count("\n") == 1
    token = aurora("user", "--state-dir", state, "token", "alice")
    assert token.returncode == 0 and token.stdout.startswith("aur_")
    removed = aurora("user", "--state-dir", state, "remove", "alice")
    assert removed.returncode == 0
    gone = aurora("user", "--state-dir", state, "remove", "alice")
    assert gone.returncode == 1 and "no user named 'alice'" in gone.stderr
    missing = aurora("user", "--state-dir", str(tmp_path / "nope"), "list")
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_user_add_generates_a_password_on_a_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    environ = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "aurora",
            "user",
            "--state-dir",
            str(tmp_path),
            "add",
            "root-admin",
            "--role",
            "admin",
        ],
        stdin=slave,
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )
    os.close(master)
    os.close(slave)
    assert proc.returncode == 0, proc.stderr
    assert "password (shown once): " in proc.stdout
    password = proc.stdout.rsplit(": ", 1)[1].strip()
    from aurora.api.auth import verify_password
    from aurora.collector.store.accounts import SQLiteAccounts

    accounts = SQLiteAccounts(tmp_path / "aurora.db")
    user = accounts.get_user("root-admin")
    assert user is not None and verify_password(user.password_hash, password)
    # The last admin cannot be removed from the CLI either.
    accounts.close()
    last = aurora("user", "--state-dir", str(tmp_path), "remove", "root-admin")
    assert last.returncode == 2 and "last admin" in last.stderr


def test_isolate_local_waits_for_the_result(env: Env) -> None:
    seed(env)
    sensor = FakeSensorSide(env.state_dir, "succeeded")
    r = aurora("isolate", "web-1", "--state-dir", str(env.state_dir))
    sensor.close()
    assert r.returncode == 0, r.stderr
    assert "isolate on sensor-0001: running 50% (working)" in r.stderr  # progress was shown
    assert r.stdout.strip().endswith("isolate sensor-0001 succeeded - done")
    audit = env.client("admin").get("/api/v1/audit", params={"action": "action.isolate"}).json()
    entry = audit["items"][0]
    assert entry["actor"].startswith("cli:") and entry["command_state"] == "succeeded"


def test_failed_action_exits_1_with_the_reason(env: Env) -> None:
    seed(env)
    sensor = FakeSensorSide(env.state_dir, "failed", error_code="nft_missing")
    r = aurora("unisolate", "web-1", "--state-dir", str(env.state_dir), "--json")
    sensor.close()
    assert r.returncode == 1
    assert (
        r.stderr.strip().splitlines()[-1]
        == "aurora: unisolate failed [nft_missing]: nft is missing"
    )
    assert '"state":"failed"' in r.stdout


def test_no_wait_and_timeout(env: Env) -> None:
    seed(env)
    queued = aurora(
        "kill", "web-1", "300", "--tree", "--state-dir", str(env.state_dir), "--no-wait"
    )
    assert queued.returncode == 0 and " kill sensor-0001 queued" in queued.stdout
    [cmd] = env.store.list_commands(SENSOR)
    assert cmd.params == {"pid": 300, "start_time": 0, "tree": True}
    waited = aurora(
        "quarantine", "web-1", "/tmp/evil", "--state-dir", str(env.state_dir), "--timeout", "1"
    )
    assert waited.returncode == 1 and "still queued after 1 s" in waited.stderr


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("isolate", "ghost"), 1, "no enrolled sensor matches 'ghost'"),
        (("quarantine", "web-1", "relative.txt"), 2, "absolute path"),
        (("kill", "web-1", "1"), 2, "pid 1 is never killed"),
        (("isolate", "web-1", "--timeout", "0"), 2, "--timeout must be positive"),
    ],
)
def test_bad_requests_are_one_line_errors(
    env: Env, args: tuple[str, ...], code: int, needle: str
) -> None:
    seed(env)
    r = aurora(*args, "--state-dir", str(env.state_dir))
    assert r.returncode == code, r.stderr
    assert needle in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert env.store.list_commands(SENSOR) == []


def test_missing_state_dir_is_explained(tmp_path: Path) -> None:
    r = aurora("isolate", "web-1", "--state-dir", str(tmp_path / "empty"))
    assert r.returncode == 2 and "--server URL --token T" in r.stderr


def test_remote_mode_through_the_api(env: Env) -> None:
    seed(env)
    ca = str(env.state_dir / "pki" / "ca.crt")
    remote = ("--server", env.server.url, "--ca-cert", ca)
    r = aurora("isolate", "web-1", *remote, "--token", env.tokens["analyst"], "--no-wait")
    assert r.returncode == 0, r.stderr
    [cmd] = env.store.list_commands(SENSOR)
    assert cmd.requested_by == "analyst" and cmd.action == "isolate"
    viewer = aurora("isolate", "web-1", *remote, "--token", env.tokens["viewer"], "--no-wait")
    assert viewer.returncode == 1 and "403" in viewer.stderr and "may not" in viewer.stderr
    bad = aurora("isolate", "web-1", *remote, "--token", "aur_wrong", "--no-wait")
    assert bad.returncode == 1 and "401" in bad.stderr
    plain = aurora("isolate", "web-1", "--server", "http://x", "--token", "t")
    assert plain.returncode == 1 and "https://" in plain.stderr


def test_triage_out_locally_and_remotely(env: Env, tmp_path: Path) -> None:
    seed(env)
    payload = os.urandom(3000)
    sensor = FakeSensorSide(env.state_dir, "succeeded", upload=payload)
    out = tmp_path / "local.tar.zst"
    r = aurora("triage", "web-1", "--state-dir", str(env.state_dir), "--out", str(out))
    sensor.close()
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == payload and f"saved {len(payload)} bytes" in r.stderr
    sensor = FakeSensorSide(env.state_dir, "succeeded", upload=payload[::-1])
    remote_out = tmp_path / "remote.tar.zst"
    ca = str(env.state_dir / "pki" / "ca.crt")
    r = aurora(
        "triage",
        "web-1",
        "--server",
        env.server.url,
        "--ca-cert",
        ca,
        "--token",
        env.tokens["analyst"],
        "--out",
        str(remote_out),
    )
    sensor.close()
    assert r.returncode == 0, r.stderr
    assert remote_out.read_bytes() == payload[::-1]
    nodir = aurora(
        "triage", "web-1", "--state-dir", str(env.state_dir), "--out", str(tmp_path / "x" / "y")
    )
    assert nodir.returncode == 2 and "does not exist" in nodir.stderr
