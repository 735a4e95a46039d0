"""The sensor's side of a self-update: the Update command, and reporting how the last one ended.

On the command: download the package over the stream, verify and install it beside the running
version, leave ``staged.json`` for the launcher and ask the agent to exit so the launcher can
switch. After a switch the new version confirms itself (``confirmed.json``) once it is connected
and the guard's first full check passed (every hook attached and the one loaded, canaries back)
in every hook family the version before it had healthy; whichever version runs after the
launcher's verdict (``outcome.json``) sends the command's result, so "installed" and "rolled
back" both reach the collector.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from aurora import __version__
from aurora.sensor.update import trust
from aurora.sensor.update.download import Downloader, Progress, Send
from aurora.sensor.update.install import install
from aurora.sensor.update.layout import Confirmed, Outcome, Pending, Releases, Staged
from aurora.v1 import stream_pb2
from aurora.wire.release import ReleaseError

log = logging.getLogger(__name__)

LAUNCHER_ENV = "AURORA_UPDATE_LAUNCHER"
# The sensor's exit status asking the launcher to switch to the version it just staged.
RESTART_FOR_UPDATE = 75
DEFAULT_CONFIRM_S = 120.0
MAX_PACKAGE_BYTES = 512 * 1024**2
_VERDICT_WAIT_S = 15.0


def result(
    command_id: str, status: int, code: str = "", message: str = "", data: object = None
) -> stream_pb2.CommandResult:
    return stream_pb2.CommandResult(
        command_id=command_id,
        status=status,  # type: ignore[arg-type]
        error_code=code,
        message=message,
        result_json=orjson.dumps(data or {}),
    )


def outcome_result(outcome: Outcome) -> stream_pb2.CommandResult:
    data = {"version": outcome.version, "target": outcome.target, "took_s": outcome.took_s}
    if outcome.status == "installed":
        return result(
            outcome.command_id,
            stream_pb2.COMMAND_STATUS_SUCCEEDED,
            message=f"running {outcome.version}",
            data=data,
        )
    return result(
        outcome.command_id, stream_pb2.COMMAND_STATUS_FAILED, "rolled_back", outcome.reason, data
    )


class Updater:
    def __init__(
        self,
        state_dir: Path,
        send: Send,
        request_restart: Callable[[], None],
        healthy: Callable[[], bool],
        connected: Callable[[], bool],
        hook_families: Callable[[], list[str]] = list,
    ) -> None:
        self.state_dir = state_dir
        self.releases = Releases(state_dir)
        self._send = send
        self._restart = request_restart
        self._healthy = healthy
        self._connected = connected
        self._hook_families = hook_families
        self._stop = threading.Event()
        self._busy = threading.Lock()  # one update at a time per host
        self.downloader = Downloader(send)

    # ------------------------------------------------------------ command
    def on_package_chunk(self, chunk: stream_pb2.PackageChunk) -> None:
        self.downloader.on_chunk(chunk)

    def run(self, cmd: stream_pb2.Command, progress: Progress) -> stream_pb2.CommandResult | None:
        """The command's final result, or None while the answer waits on a restart."""
        cid = cmd.command_id
        outcome = self.releases.read(Outcome)
        if outcome is not None and outcome.command_id == cid:
            return outcome_result(outcome)
        pending = self.releases.read(Pending)
        if pending is not None and pending.command_id == cid:
            return None  # on trial: the settling thread answers
        if pending is not None or not self._busy.acquire(blocking=False):
            busy = pending.version if pending else "another version"
            return result(
                cid,
                stream_pb2.COMMAND_STATUS_FAILED,
                "update_in_progress",
                f"{busy} is being installed on this host; stage this one again when it is done",
            )
        try:
            return self._update(cmd, progress)
        except ReleaseError as exc:
            log.error("update %s refused: %s", cid, exc.message)
            return result(cid, stream_pb2.COMMAND_STATUS_FAILED, exc.code, exc.message)
        finally:
            self._busy.release()

    def _update(
        self, cmd: stream_pb2.Command, progress: Progress
    ) -> stream_pb2.CommandResult | None:
        cid, body = cmd.command_id, cmd.update
        if not os.environ.get(LAUNCHER_ENV):
            return result(
                cid,
                stream_pb2.COMMAND_STATUS_FAILED,
                "no_launcher",
                "this sensor is not run by the update launcher, which alone can switch and roll "
                "back versions (python -m aurora.sensor.update.launcher)",
            )
        if len(body.package_sha256) != 32:
            return result(
                cid, stream_pb2.COMMAND_STATUS_FAILED, "bad_command", "no package SHA-256"
            )
        pinned = trust.pinned(self.state_dir)
        self.releases.ensure()
        package = self.releases.incoming / f"{cid}.pkg"
        started = time.monotonic()
        self.downloader.fetch(cid, package, body.package_sha256, MAX_PACKAGE_BYTES, progress)
        progress(0.65, "verifying")
        try:
            installed = install(self.releases, package, cid, pinned_pem=pinned, running=__version__)
        finally:
            package.unlink(missing_ok=True)
        if installed.verified.rotated_key_pem is not None:
            new_id = trust.pin(self.state_dir, installed.verified.rotated_key_pem)
            log.warning("release key rotated to %s by a message signed with the pinned key", new_id)
        confirm = float(body.confirm_within_s or DEFAULT_CONFIRM_S)
        expect = self._hook_families()
        self.releases.write(Staged(cid, installed.version, __version__, confirm, expect))
        log.info(
            "update %s: %s installed in %.1fs; restarting into it",
            cid,
            installed.version,
            time.monotonic() - started,
        )
        progress(0.9, "restarting")
        self._restart()
        return None

    # ------------------------------------------------------------ settling
    def start(self) -> None:
        """Confirm a version on trial and report the last outcome, once connected."""
        if self.releases.read(Pending) or self.releases.read(Outcome):
            threading.Thread(target=self._settle, name="aurora-update", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def expected_families(self) -> list[str]:
        """The hook families the version on trial must have healthy (those of the version that
        staged it); empty when nothing is on trial."""
        pending = self.releases.read(Pending)
        return list(pending.expect_families) if pending is not None else []

    def _wait_connected(self, also: Callable[[], bool] = lambda: True) -> bool:
        while not self._stop.is_set():
            if self._connected() and also():
                return True
            self._stop.wait(0.2)
        return False

    def _settle(self) -> None:
        pending = self.releases.read(Pending)
        if pending is not None and pending.version == __version__:
            if not self._wait_connected(self._healthy):
                return
            self.releases.write(Confirmed(pending.command_id, pending.version))
            log.info("update %s: %s connected and healthy", pending.command_id, __version__)
            deadline = time.monotonic() + _VERDICT_WAIT_S
            while time.monotonic() < deadline and not self._stop.is_set():
                outcome = self.releases.read(Outcome)
                if outcome is not None and outcome.command_id == pending.command_id:
                    break
                time.sleep(0.1)
        outcome = self.releases.read(Outcome)
        if outcome is None or not self._wait_connected():
            return
        log.info("update %s: reporting %s", outcome.command_id, outcome.status)
        self._send(stream_pb2.SensorMessage(result=outcome_result(outcome)))
