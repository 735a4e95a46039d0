"""The authentication bridge: log messages -> records -> OCSF 3002 (schema-valid), and the
auth.log follower across rotation (rename and copy-truncate)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from aurora.ocsf.schema import load_schema
from aurora.plugins.authbridge.follow import (
    FileFollower,
    JournalFollower,
    LogLine,
    parse_journal_entry,
    parse_syslog_line,
)
from aurora.plugins.authbridge.ocsf import to_event
from aurora.plugins.authbridge.parse import parse
from aurora.plugins.provenance import local_device, stamp

MESSAGES = [
    ("sshd", "Accepted password for alice from 10.0.0.2 port 51234 ssh2", True, "alice"),
    (
        "sshd",
        "Accepted publickey for root from 10.0.0.2 port 2 ssh2: ED25519 SHA256:x",
        True,
        "root",
    ),
    ("sshd", "Failed password for alice from 10.0.0.2 port 51234 ssh2", False, "alice"),
    ("sshd", "Failed password for invalid user bob from 10.0.0.9 port 5 ssh2", False, "bob"),
    ("sshd-session", "Failed keyboard-interactive/pam for eve from ::1 port 7 ssh2", False, "eve"),
    ("sudo", "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash", True, "root"),
    (
        "sudo",
        "    bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/id",
        False,
        "root",
    ),
    ("su", "(to root) alice on pts/1", True, "root"),
    ("su", "FAILED SU (to postgres) alice on pts/1", False, "postgres"),
]
IGNORED = [
    ("sshd", "Server listening on 0.0.0.0 port 22."),
    ("sshd", "Connection closed by authenticating user alice 10.0.0.2 port 5 [preauth]"),
    ("sudo", "pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)"),
    ("cron", "Accepted password for alice from 10.0.0.2 port 51234 ssh2"),
]


@pytest.mark.parametrize(("program", "message", "success", "user"), MESSAGES)
def test_messages_become_schema_valid_authentication_events(
    shared_data: Path, program: str, message: str, success: bool, user: str
) -> None:
    record = parse(program, message)
    assert record is not None and record.success is success and record.user == user
    event = to_event(record, 1795000000000, 321)
    stamp(event, "authbridge", "0.1.0", local_device())
    assert load_schema(str(shared_data / "ocsf-schema-1.8.0")).validate(event) == []
    assert event["status_id"] == (1 if success else 2)


def test_message_details() -> None:
    sudo = parse("sudo", "alice : TTY=pts/0 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh -c a ; b")
    assert sudo is not None and sudo.actor == "alice" and sudo.command == "/bin/sh -c a ; b"
    ssh = parse("sshd", "Failed password for invalid user bob from 10.0.0.9 port 5 ssh2")
    assert ssh is not None and ssh.detail == "invalid user" and ssh.src_port == 5
    logoff = parse("sshd", "Disconnected from user alice 10.0.0.2 port 51234")
    assert logoff is not None and to_event(logoff, 1, 0)["activity_id"] == 2


@pytest.mark.parametrize(("program", "message"), IGNORED)
def test_other_messages_are_ignored(program: str, message: str) -> None:
    assert parse(program, message) is None


def test_syslog_lines_in_both_timestamp_formats() -> None:
    rfc = parse_syslog_line(
        "2026-12-02T15:52:55.123456+00:00 lab sshd[812]: Failed password for x from 1.2.3.4 "
        "port 1 ssh2"
    )
    assert rfc == LogLine(
        "sshd", 812, "Failed password for x from 1.2.3.4 port 1 ssh2", 1796226775123
    )
    now = 1796226775.0  # 2 Dec 2026
    classic = parse_syslog_line("Dec  2 15:52:55 lab sudo:    alice : TTY=pts/0 ; ...", now)
    assert classic is not None and classic.program == "sudo" and classic.pid == 0
    assert abs(classic.time_ms / 1000 - now) < 86400
    # A "Dec 31" line read on 1 January is last year's.
    january = 1798761600.0 + 3600  # 1 Jan 2027 01:00 UTC
    old = parse_syslog_line("Dec 31 23:59:00 lab su: (to root) a on pts/1", january)
    assert old is not None and old.time_ms / 1000 < january
    assert parse_syslog_line("Dec  2 15:52:55 lab kernel: Accepted password") is None
    assert parse_syslog_line("garbage") is None


def test_journal_entries() -> None:
    entry = {
        "SYSLOG_IDENTIFIER": "sshd",
        "MESSAGE": "Accepted password for a from 1.2.3.4 port 9 ssh2",
        "_PID": "77",
        "__REALTIME_TIMESTAMP": "1796226775123456",
    }
    assert parse_journal_entry(orjson.dumps(entry)) == LogLine(
        "sshd", 77, entry["MESSAGE"], 1796226775123
    )
    assert parse_journal_entry(orjson.dumps({**entry, "MESSAGE": [1, 2]})) is None
    assert parse_journal_entry(orjson.dumps({**entry, "SYSLOG_IDENTIFIER": "cron"})) is None
    assert parse_journal_entry(b"not json") is None


def _line(i: int) -> str:
    stamp = f"2026-12-02T15:52:{i % 60:02d}+00:00"
    return f"{stamp} lab sshd[{i}]: Failed password for u{i} from 10.0.0.1 port {i} ssh2\n"


class _Collect:
    def __init__(self, follower: FileFollower) -> None:
        self.got: list[LogLine] = []
        self.thread = threading.Thread(target=self._run, args=(follower,), daemon=True)
        self.thread.start()

    def _run(self, follower: FileFollower) -> None:
        self.got.extend(follower.lines())

    def users(self) -> list[Any]:
        return [line.message.split()[3] for line in list(self.got)]


def _wait(cond: Any, what: str) -> None:
    deadline = time.monotonic() + 10
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_the_follower_reads_appends_and_survives_both_kinds_of_rotation(tmp_path: Path) -> None:
    log_path = tmp_path / "auth.log"
    log_path.write_text(_line(0))  # before the follower starts: not read (it starts at the end)
    stop = threading.Event()
    follower = FileFollower(log_path, stop)
    collect = _Collect(follower)
    time.sleep(0.3)
    with log_path.open("a") as out:
        out.write(_line(1) + "partial line without end")
        out.flush()
        _wait(lambda: collect.users() == ["u1"], "the appended line")
        out.write(" ... still partial\n" + _line(2))
    _wait(lambda: collect.users() == ["u1", "u2"], "the line after a partial one")
    # logrotate's default: rename, then a new file at the path.
    os.rename(log_path, tmp_path / "auth.log.1")
    with (tmp_path / "auth.log.1").open("a") as old:
        old.write(_line(3))  # written by the daemon before it reopened
    log_path.write_text(_line(4))
    _wait(lambda: collect.users() == ["u1", "u2", "u3", "u4"], "lines across a rename")
    # copytruncate: the same file emptied in place.
    with log_path.open("r+") as same:
        same.truncate(0)
    _wait(lambda: follower.rotations == 2, "the truncation")
    with log_path.open("a") as out:
        out.write(_line(5))
    _wait(lambda: collect.users()[-1:] == ["u5"], "lines after a truncation")
    stop.set()
    collect.thread.join(timeout=5)
    assert collect.users() == ["u1", "u2", "u3", "u4", "u5"]


def test_the_follower_waits_for_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    stop = threading.Event()
    collect = _Collect(FileFollower(tmp_path / "auth.log", stop))
    time.sleep(0.3)
    (tmp_path / "auth.log").write_text(_line(9))
    _wait(lambda: collect.users() == ["u9"], "the new file's line")
    stop.set()
    collect.thread.join(timeout=5)


def test_the_journal_follower_reads_journalctl_json_and_stops(tmp_path: Path) -> None:
    # journald does not run on this machine: a stand-in prints what `journalctl -f -o json`
    # prints, then follows (sleeps) until the follower ends it.
    entry = {
        "SYSLOG_IDENTIFIER": "sudo",
        "MESSAGE": "alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/bash",
        "_PID": "9",
        "__REALTIME_TIMESTAMP": "1796226775000000",
    }
    other = {**entry, "SYSLOG_IDENTIFIER": "cron"}
    fake = tmp_path / "journalctl"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {tmp_path}/args\n'
        f"printf '%s\\n' '{orjson.dumps(other).decode()}' '{orjson.dumps(entry).decode()}'\n"
        "exec sleep 60\n"
    )
    fake.chmod(0o755)
    stop = threading.Event()
    follower = JournalFollower(stop, journalctl=str(fake))
    lines = follower.lines()
    assert next(lines) == LogLine("sudo", 9, entry["MESSAGE"], 1796226775000)
    args = (tmp_path / "args").read_text().split()
    assert args[:6] == ["-f", "-o", "json", "-n", "0", "--no-pager"]
    assert "SYSLOG_IDENTIFIER=sshd" in args and "SYSLOG_IDENTIFIER=su" in args
    stop.set()
    assert list(lines) == []  # journalctl killed, the generator ends
