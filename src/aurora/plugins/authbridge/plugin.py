"""The bridge as an SDK plugin: read the log source, turn each sshd/sudo/su message into an
OCSF Authentication event, emit it."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from typing import ClassVar

from aurora import __version__
from aurora.plugins.authbridge.follow import (
    AUTH_LOG,
    FileFollower,
    JournalFollower,
    LogLine,
    journal_running,
)
from aurora.plugins.authbridge.ocsf import AUTHENTICATION, to_event
from aurora.plugins.authbridge.parse import parse
from aurora.plugins.sdk import EventSink, Plugin, Runner
from aurora.plugins.sdk.runner import DEFAULT_SOCKET

log = logging.getLogger(__name__)


class AuthBridge(Plugin):
    name: ClassVar[str] = "authbridge"
    version: ClassVar[str] = __version__
    classes: ClassVar[tuple[int, ...]] = (AUTHENTICATION,)

    def __init__(
        self,
        source: str = "auto",
        auth_log: Path = AUTH_LOG,
        *,
        journal_dir: Path | None = None,
        from_start: bool = False,
    ) -> None:
        self.source = source
        self.auth_log = auth_log
        self.journal_dir = journal_dir
        self.from_start = from_start
        self.emitted = 0

    def follower(self, stop: threading.Event) -> FileFollower | JournalFollower:
        if self.source == "journal" or (self.source == "auto" and journal_running()):
            log.info("authbridge: following the journal %s", self.journal_dir or "")
            return JournalFollower(stop, directory=self.journal_dir, from_start=self.from_start)
        log.info("authbridge: following %s", self.auth_log)
        return FileFollower(self.auth_log, stop, from_start=self.from_start)

    def run(self, sink: EventSink, stop: threading.Event) -> None:
        for line in self.follower(stop).lines():
            self.handle(line, sink)

    def handle(self, line: LogLine, sink: EventSink) -> None:
        record = parse(line.program, line.message)
        if record is not None:
            sink.emit(to_event(record, line.time_ms, line.pid))
            self.emitted += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="aurora-authbridge",
        description="Aurora plugin: sshd, sudo and su logins as OCSF Authentication events.",
    )
    parser.add_argument("--socket", type=Path, default=DEFAULT_SOCKET, help="sensor socket")
    parser.add_argument("--source", choices=("auto", "journal", "file"), default="auto")
    parser.add_argument("--auth-log", type=Path, default=AUTH_LOG, help="syslog file to follow")
    parser.add_argument(
        "--journal-dir", type=Path, help="journal files to follow (journalctl -D; default: system)"
    )
    parser.add_argument(
        "--from-start", action="store_true", help="read what the source holds, then follow"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    bridge = AuthBridge(
        args.source, args.auth_log, journal_dir=args.journal_dir, from_start=args.from_start
    )
    runner = Runner(bridge, args.socket)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    signal.signal(signal.SIGINT, lambda *_: runner.stop())
    return runner.run()
