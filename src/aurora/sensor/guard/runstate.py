"""How the previous run ended: a run record in the state directory says "running" while the
sensor runs and "stopped" once it stopped cleanly. Finding "running" at start means the previous
run ended abnormally; the guard then says how, from what it can still read: a signal the kernel
recorded as sent to that pid (the pinned guard ring), the kernel log's OOM-killer line for it, or
the crash trace Python's faulthandler wrote.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import re
import time
from pathlib import Path
from typing import IO, Any

import orjson

from aurora.atomicfile import write_atomic
from aurora.sensor.guard.events import signal_name
from aurora.sensor.guard.probe_linux import OP_SIGNAL, Aimed

log = logging.getLogger("aurora.sensor.guard")

_FATAL_SIGNALS = {9, 15, 6, 11, 2, 1, 3}


class RunRecord:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir / "guard"
        try:
            self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("cannot create %s: %s", self.dir, exc.strerror or exc)
        self.path = self.dir / "run.json"
        self.crash_log = self.dir / "crash.log"
        self._crash_file: IO[str] | None = None
        self.previous: dict[str, Any] | None = None
        try:
            self.previous = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            self.previous = None

    def previous_was_unclean(self) -> bool:
        return bool(self.previous and self.previous.get("running"))

    def how_previous_ended(self, aimed: list[Aimed]) -> str:
        """One line: how the previous run (known to have ended abnormally) ended."""
        prev = self.previous or {}
        pid = int(prev.get("pid", 0))
        # First: the OOM killer's SIGKILL may also be in the kernel's signal records, sent by
        # whichever task's allocation ran out (the sensor, a child); the log line says why.
        if pid and _oom_killed(pid, _boot_us(int(prev.get("started_ms", 0)))):
            return f"killed by the kernel's OOM killer (pid {pid})"
        for a in reversed(aimed):
            if a.op == OP_SIGNAL and a.target_pid == pid and a.arg in _FATAL_SIGNALS:
                return (
                    f"killed by {signal_name(int(a.arg))} from pid {a.sender_pid} ({a.sender_comm})"
                )
        crash = _first_lines(self.crash_log)
        if crash:
            return f"crashed: {crash}"
        return f"ended without a clean stop (pid {pid}); no signal, OOM or crash record found"

    def _write(self, record: dict[str, Any]) -> bool:
        try:
            write_atomic(self.path, orjson.dumps(record))
        except OSError as exc:
            # A full or failing disk must not stop the sensor.
            log.warning("cannot write the run record %s: %s", self.path, exc.strerror or exc)
            return False
        return True

    def started(self) -> None:
        self._write({"running": True, "pid": os.getpid(), "started_ms": int(time.time() * 1000)})
        # Only when nobody else traces crashes (a test runner, an embedding program) already.
        if not faulthandler.is_enabled():
            try:
                self._crash_file = self.crash_log.open("w")
            except OSError as exc:
                log.warning("no crash trace: cannot open %s: %s", self.crash_log, exc)
                return
            faulthandler.enable(self._crash_file)

    def stopped(self) -> None:
        if not self._write(
            {"running": False, "pid": os.getpid(), "stopped_ms": int(time.time() * 1000)}
        ):
            # No "running" may survive a clean stop: removing the record needs no disk space,
            # and no record reads as a clean start.
            try:
                self.path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("cannot remove the run record %s: %s", self.path, exc)
        if self._crash_file is not None:
            faulthandler.disable()
            self._crash_file.close()
            self._crash_file = None


def _first_lines(path: Path) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return " | ".join(text.splitlines()[:2])


def _boot_us(unix_ms: int) -> int:
    """A wall-clock time as microseconds since boot, the kernel log's clock (0 if before boot)."""
    boot_unix_s = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    return max(0, int((unix_ms / 1000 - boot_unix_s) * 1_000_000))


def _oom_killed(pid: int, since_boot_us: int = 0) -> bool:
    """Whether the kernel log (what is still in its ring) says the OOM killer killed ``pid``
    after ``since_boot_us``: a line about an older process that had the same pid is not it."""
    pattern = re.compile(rf"Killed process {pid}\b".encode())
    try:
        fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        while True:
            try:
                record = os.read(fd, 8192)
            except BlockingIOError:
                return False
            except OSError:  # EPIPE: a record was overwritten while reading; keep going
                continue
            if not record:
                return False
            if pattern.search(record) and _record_us(record) >= since_boot_us:
                return True
    finally:
        os.close(fd)


def _record_us(record: bytes) -> int:
    """The timestamp of one /dev/kmsg record: ``level,seq,usec,flags;text``."""
    try:
        return int(record.split(b";", 1)[0].split(b",")[2])
    except (IndexError, ValueError):
        return 0
