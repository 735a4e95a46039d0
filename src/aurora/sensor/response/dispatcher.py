"""The host-side executor the transport calls for each response command.

``ResponseExecutor.execute(action, params)`` validates the parameters, runs the action and always
returns an :class:`ActionResult`: success, or the typed error's code and one-line message. Nothing
an action raises escapes to the transport. State-changing actions run one at a time; triage,
which can take minutes, has its own lock so it never delays an isolation.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aurora
from aurora.config.response import ResponseConfig
from aurora.sensor import platform as host_platform
from aurora.sensor.response import triage as triage_mod
from aurora.sensor.response.artifacts import load_artifacts
from aurora.sensor.response.errors import BadParams, ResponseError, UnknownAction
from aurora.sensor.response.isolation import Isolation, IsolationBackend
from aurora.sensor.response.result import ActionResult
from aurora.wire.actions import REQUESTABLE

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
MIN_TRIAGE_BYTES = 1024**2
PID_MAX_LIMIT = 4 * 1024**2  # the kernel's ceiling for pid_max on 64-bit
# The registry shared with the collector says which actions run here; a test checks that each one
# has a handler below.
ACTIONS = REQUESTABLE


_REQUIRED = object()


def _param(params: dict[str, Any], key: str, kind: type, default: Any = _REQUIRED) -> Any:
    value = params.get(key)
    if value is None:
        if default is _REQUIRED:
            raise BadParams(f"missing parameter {key!r}")
        return default
    # bool is an int in Python; a pid of True is still a mistake.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadParams(f"parameter {key!r} must be {kind.__name__}, got {value!r}")
    return value


def sensor_own_paths(state_dir: Path) -> list[Path]:
    """Files the sensor needs to keep running: quarantine must never take them."""
    paths = [state_dir, Path(aurora.__file__).resolve().parent, Path("/etc/aurora")]
    if sys.prefix != sys.base_prefix:
        paths.append(Path(sys.prefix))  # the sensor's virtualenv
    if sys.executable:
        paths.append(Path(sys.executable).resolve())
    return paths


class ResponseExecutor:
    """Runs isolate, unisolate, kill, quarantine, restore and triage on this host."""

    def __init__(
        self,
        state_dir: Path,
        config: ResponseConfig,
        collector_addr: tuple[str, int] | None,
        backend: IsolationBackend | None = None,
        other_collectors: tuple[tuple[str, int], ...] = (),
    ) -> None:
        """``collector_addr`` is the endpoint streamed to; ``other_collectors`` are the rest of
        the sensor's fail-over endpoints, which isolation keeps reachable too."""
        self._config = config
        self._dir = state_dir / "response"
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self._dir, 0o700)  # also when an older install left it wider
        self._platform = host_platform.current()
        if backend is None:
            backend = self._platform.isolation_backend(config)
        self._isolation = Isolation(
            self._dir,
            backend,
            ((collector_addr,) if collector_addr else ()) + other_collectors,
            tuple(config.isolation_allow),
            config.isolation_allow_dns,
            config.isolation_allow_dhcp,
            config.isolation_check_timeout_s,
        )
        refused = sensor_own_paths(state_dir) + [Path(p) for p in config.quarantine_refuse]
        self.vault = self._platform.quarantine_vault(self._dir / "quarantine", refused)
        self._lock = threading.Lock()
        self._triage_lock = threading.Lock()
        self._handlers: dict[str, Callable[[dict[str, Any], Progress | None], ActionResult]] = {
            "isolate": self._isolate,
            "unisolate": self._unisolate,
            "kill": self._kill,
            "quarantine": self._quarantine,
            "restore": self._restore,
            "triage": self._triage,
        }

    def execute(
        self, action: str, params: dict[str, Any], progress: Progress | None = None
    ) -> ActionResult:
        """Run one action; every failure comes back as a typed result, never as an exception."""
        try:
            handler = self._handlers.get(action)
            if handler is None:
                raise UnknownAction(
                    f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}"
                )
            if not isinstance(params, dict):
                raise BadParams("parameters must be a mapping")
            result = handler(params, progress)
        except ResponseError as exc:
            log.warning("response %s failed: %s (%s)", action, exc.message, exc.code)
            return ActionResult.failure(exc.code, exc.message)
        except Exception as exc:  # the transport must always get a result back
            log.exception("response %s crashed", action)
            return ActionResult.failure("internal_error", f"{action}: {type(exc).__name__}: {exc}")
        log.info("response %s: %s", action, result.message)
        return result

    def reapply_persisted_state(self) -> ActionResult:
        """At sensor start: reinstall isolation if it was on (it survives restarts and reboots)."""
        try:
            with self._lock:
                state = self._isolation.reapply()
        except ResponseError as exc:
            # Not fatal to the sensor, and not silent: heartbeats report "isolation_lost".
            log.error("cannot reapply isolation at start: %s", exc.message)
            return ActionResult.failure(exc.code, exc.message)
        return ActionResult.success(f"isolation state at start: {state}", {"state": state})

    def isolation_state(self) -> str:
        """isolated, not_isolated, isolation_lost or isolated_unverified, for every heartbeat."""
        try:
            return self._isolation.state()
        except ResponseError as exc:
            log.error("isolation state unknown: %s", exc.message)
            return "unknown"

    def _isolate(self, params: dict[str, Any], progress: Progress | None) -> ActionResult:
        allow = _param(params, "allow", list, [])
        for item in allow:
            try:
                if not isinstance(item, str):
                    raise TypeError(item)
                ipaddress.ip_network(item, strict=False)
            except (TypeError, ValueError):
                raise BadParams(
                    f"isolate: {item!r} in 'allow' is not an IP address or CIDR"
                ) from None
        with self._lock:
            data = self._isolation.isolate(tuple(allow))
        return ActionResult.success("host isolated; collector reachable", data)

    def _unisolate(self, params: dict[str, Any], progress: Progress | None) -> ActionResult:
        with self._lock:
            data = self._isolation.unisolate()
        was = "host released from isolation" if data["was_isolated"] else "host was not isolated"
        return ActionResult.success(was, data)

    def _kill(self, params: dict[str, Any], progress: Progress | None) -> ActionResult:
        pid = _param(params, "pid", int)
        if not 0 < pid <= PID_MAX_LIMIT:
            raise BadParams(f"pid must be between 1 and {PID_MAX_LIMIT}, got {pid}")
        start = params.get("start_time")
        if start is not None and (not isinstance(start, int | float) or isinstance(start, bool)):
            raise BadParams(f"parameter 'start_time' must be milliseconds, got {start!r}")
        tree = _param(params, "tree", bool, False)
        tolerance = self._config.kill_start_time_tolerance_ms
        data = self._platform.kill_process(pid, start, tree, tolerance, os.getpid())
        what = f"process tree of {pid}" if tree else f"process {pid}"
        return ActionResult.success(f"killed {what} ({len(data['killed'])} processes)", data)

    def _quarantine(self, params: dict[str, Any], progress: Progress | None) -> ActionResult:
        path = _param(params, "path", str)
        with self._lock:
            record = self.vault.quarantine(path)
        return ActionResult.success(f"quarantined {path} as {record['id']}", record)

    def _restore(self, params: dict[str, Any], progress: Progress | None) -> ActionResult:
        entry_id = _param(params, "id", str)
        with self._lock:
            record = self.vault.restore(entry_id)
        return ActionResult.success(f"restored {record['original_path']}", record)

    def _triage(self, params: dict[str, Any], progress: Progress | None) -> ActionResult:
        names = params.get("artifacts")
        if names is not None and (
            not isinstance(names, list) or not all(isinstance(n, str) for n in names)
        ):
            raise BadParams("parameter 'artifacts' must be a list of artifact names")
        cap = self._config.triage_max_bytes
        asked = _param(params, "max_bytes", int, cap)
        if asked < MIN_TRIAGE_BYTES:
            raise BadParams(f"triage max_bytes must be at least {MIN_TRIAGE_BYTES}, got {asked}")
        # A command may lower the configured cap, never raise it.
        cap = min(cap, asked)
        extra = [Path(d) for d in self._config.triage_artifact_dirs]
        chosen = triage_mod.select(load_artifacts(extra), names)
        with self._triage_lock:
            path, data = self._platform.collect_triage(
                self._dir / "triage",
                chosen,
                cap,
                self._config.triage_max_file_bytes,
                self._config.triage_compression,
                progress,
            )
        return ActionResult.success(
            f"triage archive {path.name} ({data['size']} bytes)", data, path
        )
