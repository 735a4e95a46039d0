"""The plugin side of bench_plugins.py: varied Authentication events, made from realistic sshd,
sudo and su log lines by the bridge's own parser, sent through the SDK's Runner.

    python bench/plugin_sender.py SOCKET COUNT   (stops when stdin closes)
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from aurora.plugins.authbridge.ocsf import to_event
from aurora.plugins.authbridge.parse import parse
from aurora.plugins.sdk import EventSink, Plugin, Runner

USERS = [f"user{i:03d}" for i in range(300)] + ["root", "postgres", "deploy"]
COMMANDS = [
    "/usr/bin/apt update",
    "/bin/systemctl restart nginx",
    "/bin/bash",
    "/usr/bin/id",
    "/usr/bin/journalctl -u ssh --since today",
    "/usr/bin/tail -f /var/log/syslog",
]


def log_lines(n: int, rng: random.Random) -> Iterator[tuple[str, str]]:
    """(program, message) pairs in the proportions of a busy bastion host."""
    for _ in range(n):
        user = rng.choice(USERS)
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        port, k = rng.randrange(1024, 65535), rng.random()
        if k < 0.45:
            who = f"invalid user {user}" if k < 0.1 else user
            yield "sshd", f"Failed password for {who} from {ip} port {port} ssh2"
        elif k < 0.7:
            method = rng.choice(["password", "publickey"])
            yield "sshd", f"Accepted {method} for {user} from {ip} port {port} ssh2"
        elif k < 0.8:
            yield "sshd", f"Disconnected from user {user} {ip} port {port}"
        elif k < 0.95:
            tty, cmd = rng.randrange(9), rng.choice(COMMANDS)
            yield "sudo", f"{user} : TTY=pts/{tty} ; PWD=/home/{user} ; USER=root ; COMMAND={cmd}"
        else:
            failed = "FAILED SU " if k > 0.98 else ""
            yield "su", f"{failed}(to root) {user} on pts/{rng.randrange(9)}"


class BenchPlugin(Plugin):
    name: ClassVar[str] = "bench"
    version: ClassVar[str] = "1.0"
    classes: ClassVar[tuple[int, ...]] = (3002,)

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def run(self, sink: EventSink, stop: threading.Event) -> None:
        for event in self.events:
            sink.emit(event)
        stop.wait()


def main() -> int:
    socket_path, count = Path(sys.argv[1]), int(sys.argv[2])
    now = int(time.time() * 1000)
    events = []
    for i, (program, message) in enumerate(log_lines(count, random.Random(7))):
        record = parse(program, message)
        assert record is not None, message
        events.append(to_event(record, now + i, 1000 + i % 30000))
    # A sink holding the whole run: the socket and the sensor are measured, not a plugin drop.
    runner = Runner(BenchPlugin(events), socket_path, sink=EventSink(count), batch_max=512)
    thread = threading.Thread(target=runner.run)
    thread.start()
    sys.stdin.read()
    runner.stop()
    thread.join()  # says goodbye to the sensor before the process ends
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
