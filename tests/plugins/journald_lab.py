"""A real systemd-journald for tests, in a mount namespace the test creates.

systemd is not PID 1 here, so nothing starts journald; Debian's ``systemd-journald`` binary runs
alone once it has its own ``/run/systemd/journal`` (where it binds ``socket``, ``stdout`` and
``dev-log``) and its own storage. Both are bind-mounted from the test's directory, so the sockets
are reachable from outside the namespace and ``journalctl -D`` reads the journal it writes; a
tmpfs over ``/var/log/journal`` keeps the host's persistent journal out of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

JOURNALD = Path("/lib/systemd/systemd-journald")

_NAMESPACE_SCRIPT = """set -e
mount -t tmpfs -o mode=755 tmpfs /run/systemd
mkdir /run/systemd/journal
mount --bind {root}/run /run/systemd/journal
mount --bind {root}/log /run/log
if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
exec {journald}
"""


@dataclass
class Journald:
    pid: int
    dev_log: Path  # the syslog socket: point a program's /dev/log here
    journal_dir: Path  # what `journalctl -D` reads

    def entries(self, *matches: str) -> list[str]:
        """MESSAGE of every entry matching ``matches`` (journalctl's own reading)."""
        out = subprocess.run(
            ["journalctl", "-D", str(self.journal_dir), "--no-pager", "-o", "cat", *matches],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        return out.splitlines()


@contextmanager
def journald(root: Path) -> Iterator[Journald]:
    if os.geteuid() != 0:
        pytest.skip("a private journald needs root (mount namespace)")
    for tool in (JOURNALD, Path("/usr/bin/journalctl"), Path("/usr/bin/unshare")):
        if not tool.exists():
            pytest.skip(f"missing {tool} (Debian package systemd)")
    (root / "run").mkdir(parents=True)
    (root / "log").mkdir()
    script = root / "journald.sh"
    script.write_text(_NAMESPACE_SCRIPT.format(root=root, journald=JOURNALD))
    with open(root / "journald.err", "wb") as err:
        proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", str(script)],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        dev_log = root / "run" / "dev-log"
        deadline = time.monotonic() + 20
        while not (dev_log.exists() and any((root / "log").glob("journal/*/system.journal"))):
            if proc.poll() is not None or time.monotonic() > deadline:
                why = (root / "journald.err").read_text(errors="replace")
                raise AssertionError(f"journald did not start: {why or proc.returncode}")
            time.sleep(0.05)
        yield Journald(proc.pid, dev_log, root / "log" / "journal")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root / "run", ignore_errors=True)
