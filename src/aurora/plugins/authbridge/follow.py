"""Where the bridge reads sshd/sudo/su messages: the journal (``journalctl -f -o json``) when
journald runs, else a syslog file such as /var/log/auth.log, followed across rotation (a new
file at the path, or the old one truncated in place)."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import orjson

from aurora.plugins.authbridge.parse import PROGRAMS

JOURNAL_SOCKET = Path("/run/systemd/journal/socket")
AUTH_LOG = Path("/var/log/auth.log")
_POLL_S = 0.2
_MAX_LINE = 64 * 1024

# RFC 3339 (rsyslog's high-precision format on Debian 12) or classic "Mon dd hh:mm:ss".
_SYSLOG = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\dT\S+|\w{3} [ \d]\d \d\d:\d\d:\d\d) \S+ "
    r"(?P<prog>[\w.-]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$"
)


@dataclass(frozen=True)
class LogLine:
    program: str
    pid: int
    message: str
    time_ms: int


def journal_running() -> bool:
    return JOURNAL_SOCKET.exists()


def _syslog_time(stamp: str, now: float) -> int:
    try:
        if stamp[0].isdigit():
            return int(datetime.fromisoformat(stamp).timestamp() * 1000)
        year = datetime.fromtimestamp(now).year
        parsed = datetime.strptime(f"{year} {stamp}", "%Y %b %d %H:%M:%S")
        if parsed.timestamp() > now + 86400:  # a December line read in January
            parsed = parsed.replace(year=year - 1)
        return int(parsed.timestamp() * 1000)
    except ValueError:
        return int(now * 1000)


def parse_syslog_line(line: str, now: float | None = None) -> LogLine | None:
    m = _SYSLOG.match(line.rstrip("\n"))
    if m is None or m["prog"] not in PROGRAMS:
        return None
    when = _syslog_time(m["ts"], time.time() if now is None else now)
    return LogLine(m["prog"], int(m["pid"] or 0), m["msg"], when)


class FileFollower:
    """Lines appended to a syslog file, from its end at start (or from its beginning)."""

    def __init__(self, path: Path, stop: threading.Event, *, from_start: bool = False) -> None:
        self.path = path
        self.stop = stop
        self.from_start = from_start
        self.rotations = 0

    def lines(self) -> Iterator[LogLine]:
        handle: BinaryIO | None = None
        inode = -1
        pending = b""
        first = True
        while not self.stop.is_set():
            if handle is None:
                handle, inode = self._open(seek_end=first and not self.from_start)
                first = False
                if handle is None:
                    self.stop.wait(_POLL_S)
                    continue
            chunk = handle.read(1 << 16)
            if chunk:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                if len(pending) > _MAX_LINE:  # a line without end: not a syslog line
                    pending = b""
                for raw in complete:
                    if parsed := parse_syslog_line(raw.decode(errors="replace")):
                        yield parsed
                continue
            if self._rotated(handle, inode):
                # The rest of the old file was read above; the new one is read from its start.
                handle.close()
                handle, pending = None, b""
                self.rotations += 1
                self.from_start = True
                continue
            self.stop.wait(_POLL_S)
        if handle is not None:
            handle.close()

    def _open(self, *, seek_end: bool) -> tuple[BinaryIO | None, int]:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - held across the generator's life
        except OSError:
            return None, -1
        if seek_end:
            handle.seek(0, os.SEEK_END)
        return handle, os.fstat(handle.fileno()).st_ino

    def _rotated(self, handle: BinaryIO, inode: int) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False  # moved away, the new file not created yet: keep the old one
        position = handle.tell()
        return st.st_ino != inode or st.st_size < position


class JournalFollower:
    """New journal entries of sshd, sudo and su, read from ``journalctl -f -o json``: the
    system journal, or the journal files under ``directory`` (``journalctl -D``: a container's
    or a namespace's journal). ``from_start`` reads what the journal holds first."""

    def __init__(
        self,
        stop: threading.Event,
        journalctl: str = "journalctl",
        *,
        directory: Path | None = None,
        from_start: bool = False,
    ) -> None:
        self.stop = stop
        self.journalctl = journalctl
        self.directory = directory
        self.from_start = from_start

    def command(self) -> list[str]:
        matches = [f"SYSLOG_IDENTIFIER={p}" for p in sorted(PROGRAMS)]
        where = ["-D", str(self.directory)] if self.directory is not None else []
        lines = "all" if self.from_start else "0"
        return [self.journalctl, *where, "-f", "-o", "json", "-n", lines, "--no-pager", *matches]

    def lines(self) -> Iterator[LogLine]:
        cmd = self.command()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        watcher = threading.Thread(target=self._kill_on_stop, args=(proc,), daemon=True)
        watcher.start()
        try:
            for raw in proc.stdout:
                if parsed := parse_journal_entry(raw):
                    yield parsed
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()

    def _kill_on_stop(self, proc: subprocess.Popen[bytes]) -> None:
        self.stop.wait()
        proc.kill()


def parse_journal_entry(raw: bytes) -> LogLine | None:
    try:
        entry = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(entry, dict):
        return None
    program, message = entry.get("SYSLOG_IDENTIFIER"), entry.get("MESSAGE")
    if program not in PROGRAMS or not isinstance(message, str):
        return None  # MESSAGE is a byte array when not UTF-8: not one of ours
    try:
        when = int(entry.get("__REALTIME_TIMESTAMP", "")) // 1000
    except ValueError:
        when = int(time.time() * 1000)
    pid = entry.get("_PID") or entry.get("SYSLOG_PID") or 0
    return LogLine(str(program), int(pid) if str(pid).isdigit() else 0, message, when)
