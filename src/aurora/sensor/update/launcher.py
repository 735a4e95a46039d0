"""The launcher: runs the sensor from ``releases/current``, switches versions and rolls back.

It runs from the base install and never imports a downloaded version, so a broken release cannot
take it down. When the sensor exits with :data:`RESTART_FOR_UPDATE` after staging a version, the
launcher swaps ``current`` (one rename) and starts the new one on trial; if that one does not
confirm itself (connected, and the guard's first full check passed: every hook attached and the
one loaded, canaries back, in every family the previous version had healthy) before its
deadline, or exits first, the launcher swaps
back, records why, and starts the previous version, which reports "rolled back" to the collector.

Run it as ``python -m aurora.sensor.update.launcher --state-dir DIR -- ARGS``: ARGS start the
sensor (default ``-m aurora sensor --state-dir DIR``), with ``current/lib`` first on
its PYTHONPATH.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from aurora.sensor.update.layout import BASE, Confirmed, Outcome, Pending, Releases, Staged
from aurora.sensor.update.updater import LAUNCHER_ENV, RESTART_FOR_UPDATE

log = logging.getLogger("aurora.sensor.launcher")

_POLL_S = 0.1
_STOP_GRACE_S = 20.0
_CRASH_BACKOFF_MAX_S = 30.0


class Launcher:
    def __init__(self, state_dir: Path, child_args: Sequence[str]) -> None:
        self.releases = Releases(state_dir)
        self.child_args = list(child_args)
        self.stopping = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None
        # Why the version on trial was stopped, when the launcher stopped it.
        self._trial_failure = ""

    # ------------------------------------------------------------- running
    def run(self) -> int:
        self.releases.ensure()
        self._recover()
        backoff = 1.0
        while not self.stopping.is_set():
            started = time.monotonic()
            rc = self._run_child()
            if self.stopping.is_set():
                return 0
            staged = self.releases.read(Staged)
            pending = self.releases.read(Pending)
            if rc == RESTART_FOR_UPDATE and staged is not None:
                self._switch(staged)
            elif pending is not None:
                reason = self._trial_failure or (
                    f"{pending.version} exited with code {rc} before it reported healthy"
                )
                self._roll_back(pending, reason)
            elif rc == 0:
                return 0
            else:
                # A confirmed version that crashed: supervise it like any service manager would.
                backoff = (
                    1.0
                    if time.monotonic() - started > 60
                    else min(backoff * 2, _CRASH_BACKOFF_MAX_S)
                )
                log.error("sensor exited with code %s; restarting in %.0fs", rc, backoff)
                self.stopping.wait(backoff)
        return 0

    def stop(self) -> None:
        self.stopping.set()
        child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    def _run_child(self) -> int | None:
        version = self.releases.current_version()
        env = dict(os.environ)
        env[LAUNCHER_ENV] = str(self.releases.root)
        if version != BASE:
            lib = str(self.releases.version_dir(version) / "lib")
            env["PYTHONPATH"] = os.pathsep.join(p for p in (lib, env.get("PYTHONPATH")) if p)
        log.info("starting the sensor (%s)", version)
        self.child = subprocess.Popen([sys.executable, *self.child_args], env=env)
        try:
            while (rc := self.child.poll()) is None:
                self._watch_trial()
                self.stopping.wait(_POLL_S)
            return rc
        finally:
            if self.stopping.is_set():
                self._end_child()

    def _end_child(self) -> None:
        child = self.child
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    # --------------------------------------------------------------- trial
    def _watch_trial(self) -> None:
        pending = self.releases.read(Pending)
        if pending is None:
            return
        confirmed = self.releases.read(Confirmed)
        if confirmed is not None and confirmed.command_id == pending.command_id:
            took = pending.confirm_within_s - (pending.deadline_unix - time.time())
            self.releases.write(
                Outcome(pending.command_id, "installed", pending.version, pending.version, "", took)
            )
            self.releases.clear(Pending)
            self.releases.clear(Confirmed)
            self.releases.prune({pending.version, pending.previous})
            log.info(
                "update %s: %s confirmed after %.1fs", pending.command_id, pending.version, took
            )
        elif time.time() > pending.deadline_unix:
            reason = (
                f"{pending.version} did not reconnect and report healthy within "
                f"{pending.confirm_within_s:g}s" + _expected(pending)
            )
            log.error("update %s: %s; rolling back", pending.command_id, reason)
            self._trial_failure = reason
            self._end_child()  # its exit makes run() see the pending trial and roll back

    def _switch(self, staged: Staged) -> None:
        previous = self.releases.current_version()
        if not self.releases.version_dir(staged.version).is_dir():
            log.error("staged version %s is not installed; staying on %s", staged.version, previous)
            self.releases.clear(Staged)
            return
        self.releases.write(
            Pending(
                staged.command_id,
                staged.version,
                staged.from_version,
                previous,
                time.time() + staged.confirm_within_s,
                staged.confirm_within_s,
                staged.expect_families,
            )
        )
        self.releases.clear(Confirmed)
        self.releases.switch(staged.version)
        self.releases.clear(Staged)
        log.info("update %s: switched %s -> %s", staged.command_id, previous, staged.version)

    def _roll_back(self, pending: Pending, reason: str) -> None:
        self.releases.switch(pending.previous)
        took = pending.confirm_within_s - (pending.deadline_unix - time.time())
        self.releases.write(
            Outcome(
                pending.command_id,
                "rolled_back",
                pending.from_version,
                pending.version,
                reason,
                took,
            )
        )
        self.releases.clear(Pending)
        self.releases.clear(Confirmed)
        self._trial_failure = ""
        log.error("update %s rolled back to %s: %s", pending.command_id, pending.previous, reason)

    def _recover(self) -> None:
        """A launcher that died mid-trial rolls the trial back: it cannot know it was confirmed."""
        pending = self.releases.read(Pending)
        confirmed = self.releases.read(Confirmed)
        if pending is not None and not (confirmed and confirmed.command_id == pending.command_id):
            self._roll_back(pending, "the launcher restarted while the update was on trial")
        self.releases.clear(Staged)


def _expected(pending: Pending) -> str:
    if not pending.expect_families:
        return ""
    return f" (hooks healthy in {', '.join(pending.expect_families)}, as before the update)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aurora.sensor.update.launcher")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("child", nargs=argparse.REMAINDER, help="-- then the sensor's arguments")
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    child = args.child[1:] if args.child[:1] == ["--"] else args.child
    if not child:
        child = ["-m", "aurora", "sensor", "--state-dir", str(args.state_dir)]
    launcher = Launcher(args.state_dir, child)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: launcher.stop())
    return launcher.run()


if __name__ == "__main__":
    sys.exit(main())
