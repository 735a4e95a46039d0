"""Start-up guards on the collector's state directory, through the real `aurora collector`.

A second collector on a directory already in use refuses (one line, non-zero exit) instead of
writing beside the first; a damaged database or write-ahead log is named with what to do, and
left exactly as it was found.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora.collector.store import open_store
from aurora.collector.store.sqlite.file_check import DamagedDatabase, check_database_files

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), AURORA__DETECTION__ENABLED="false")
    env.pop("AURORA_CONFIG", None)
    return env


def collector_cmd(state_dir: Path) -> list[str]:
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


def run_collector(state_dir: Path) -> subprocess.CompletedProcess[str]:
    """A collector expected to refuse at start (a timeout here means it did not)."""
    return subprocess.run(
        collector_cmd(state_dir), capture_output=True, text=True, env=_env(), timeout=60
    )


@pytest.fixture
def running_collector(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    log = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen(
        collector_cmd(tmp_path / "state"), stdout=log, stderr=log, text=True, env=_env()
    )
    log.close()
    deadline = time.monotonic() + 60
    while "collector ready" not in (tmp_path / "first.log").read_text():
        assert proc.poll() is None, (tmp_path / "first.log").read_text()
        assert time.monotonic() < deadline, "the first collector did not start"
        time.sleep(0.1)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("aurora: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.slow
def test_second_collector_on_one_state_dir_refuses(
    tmp_path: Path, running_collector: subprocess.Popen[str]
) -> None:
    state = tmp_path / "state"
    db = state / "aurora.db"
    line = one_line_error(run_collector(state))
    assert "another collector" in line and str(state) in line
    assert f"pid {running_collector.pid}" in line
    assert running_collector.poll() is None, "the refusal disturbed the running collector"
    # The lock dies with its holder, however it exits: no stale lock after a SIGKILL.
    running_collector.send_signal(signal.SIGKILL)
    running_collector.wait(10)
    third = subprocess.Popen(
        collector_cmd(state),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert third.stderr is not None
        for line in third.stderr:
            if "collector ready" in line:
                break
        else:
            raise AssertionError(f"the collector did not start after its holder died: {line}")
    finally:
        third.send_signal(signal.SIGTERM)
        third.wait(30)
        if third.stderr is not None:
            third.stderr.close()
    assert db.exists()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _state_with_store(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    open_store(state).close()
    return state


def _assert_refused_and_untouched(state: Path, damaged: Path) -> None:
    files = {p: _digest(p) for p in state.glob("aurora.db*")}
    line = one_line_error(run_collector(state))
    assert str(damaged) in line, line
    assert "backup" in line and "move" in line, line
    assert {p: _digest(p) for p in state.glob("aurora.db*")} == files, "a damaged file was changed"


@pytest.mark.slow
def test_garbage_database_is_named_and_kept(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "aurora.db").write_bytes(os.urandom(64 * 1024))
    _assert_refused_and_untouched(state, state / "aurora.db")


@pytest.mark.slow
def test_truncated_database_is_named_and_kept(tmp_path: Path) -> None:
    state = _state_with_store(tmp_path)
    db = state / "aurora.db"
    with db.open("r+b") as fh:
        fh.truncate(db.stat().st_size // 3)
    _assert_refused_and_untouched(state, db)


@pytest.mark.slow
def test_garbage_wal_is_named_and_kept(tmp_path: Path) -> None:
    state = _state_with_store(tmp_path)
    wal = state / "aurora.db-wal"
    wal.write_bytes(os.urandom(20_000))
    _assert_refused_and_untouched(state, wal)


def test_wal_with_committed_transactions_passes_and_is_replayed(tmp_path: Path) -> None:
    """No false alarm: a real WAL left by a process that died before checkpointing is accepted."""
    live = tmp_path / "live.db"
    conn = sqlite3.connect(live)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (v INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(1000)])
    conn.commit()
    copy = tmp_path / "copy.db"
    copy.write_bytes(live.read_bytes())  # as a crash would leave them: WAL not checkpointed
    (tmp_path / "copy.db-wal").write_bytes((tmp_path / "live.db-wal").read_bytes())
    conn.close()
    check_database_files(copy)
    assert sqlite3.connect(copy).execute("SELECT COUNT(*) FROM t").fetchone() == (1000,)
    header = bytearray((tmp_path / "copy.db-wal").read_bytes())
    header[20] ^= 0xFF  # one flipped bit in the salt: SQLite would drop all 1000 rows silently
    (tmp_path / "copy.db-wal").write_bytes(bytes(header))
    with pytest.raises(DamagedDatabase, match="checksum"):
        check_database_files(copy)
