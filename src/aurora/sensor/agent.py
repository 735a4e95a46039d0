"""The connected sensor: event source -> spool -> collector, plus heartbeats and commands.

Two threads do the work. The producer polls the event source and appends to the spool, so events
are kept on disk whether or not the collector is reachable. The transport (on the calling thread)
streams the spool to the collector, reconnecting as needed. Commands run on worker threads.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from aurora.config import AuroraConfig
from aurora.errors import AuroraError
from aurora.plugins.attach import with_plugin_admin, with_plugins
from aurora.sensor import platform as host_platform
from aurora.sensor.capabilities import build_heartbeat
from aurora.sensor.enrollment import parse_endpoint
from aurora.sensor.guard import Guard
from aurora.sensor.hostinfo import host_info
from aurora.sensor.identity import load_identity
from aurora.sensor.source import EventSource
from aurora.sensor.spool import Spool
from aurora.sensor.transport import CommandRunner, Counters, Transport, TransportSettings
from aurora.sensor.transport.commands import Executor
from aurora.sensor.update import RESTART_FOR_UPDATE, Updater
from aurora.statelock import StateDirLock
from aurora.v1 import common_pb2, stream_pb2

log = logging.getLogger(__name__)

_POLL_MS = 100
_DROP_CHECK_S = 1.0

ExecutorFactory = Callable[[], Executor | None]


def default_executor_factory(
    state_dir: Path, config: AuroraConfig, endpoints: tuple[str, ...]
) -> ExecutorFactory:
    """Build the response executor on first use; None when this build has none. Isolation keeps
    every collector endpoint reachable, so fail-over still works on an isolated host."""

    def make() -> Executor | None:
        try:
            from aurora.sensor.response import ResponseExecutor
        except ImportError as exc:
            log.warning("response actions unavailable: %s", exc)
            return None
        first, *others = [parse_endpoint(e) for e in endpoints]
        try:
            executor: Executor = ResponseExecutor(
                state_dir, config.response, first, other_collectors=tuple(others)
            )
        except (AuroraError, OSError) as exc:
            log.error("response actions unavailable: %s", exc)
            return None
        return executor

    return make


class Agent:
    def __init__(
        self,
        config: AuroraConfig,
        source: EventSource,
        *,
        state_dir: Path | None = None,
        executor_factory: ExecutorFactory | None = None,
    ) -> None:
        sc = config.sensor
        self.config = config
        self.source = source
        self.state_dir = state_dir or sc.state_dir
        identity = load_identity(self.state_dir)  # fail now, not in the transport thread
        self.sensor_id = identity.sensor_id
        self.settings = TransportSettings.from_config(sc)
        endpoints = self.settings.endpoints(identity.endpoints)
        try:
            self.spool = Spool(self.state_dir / "spool", sc.spool_max_bytes, fsync=sc.spool_fsync)
        except OSError as exc:
            raise AuroraError(
                f"cannot open the spool in {self.state_dir / 'spool'}: {exc.strerror or exc}"
            ) from None
        self.counters = Counters()
        factory = executor_factory or default_executor_factory(self.state_dir, config, endpoints)
        self.updater = Updater(
            self.state_dir,
            self._send,
            self._restart_for_update,
            self._update_healthy,
            lambda: self.transport.connected.is_set(),
            self._hook_families,
        )
        factory = with_plugin_admin(factory, self.state_dir)  # the `plugin` command runs here
        self.runner = CommandRunner(self._send, factory, self.updater)
        self.transport = Transport(
            self.state_dir,
            self.settings,
            self.spool,
            host_info(),
            self._heartbeat,
            self.runner,
            self.counters,
        )
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._producer: threading.Thread | None = None
        self._kernel_drops = 0
        self._plugin_drops = 0
        self._losses_at_last_heartbeat = 0
        self._exit_code = 0
        self.guard: Guard | None = None

    # ---------------------------------------------------------------- running
    def run(self) -> int:
        """Run until stop() or a fatal error (raised as an AuroraError)."""
        try:
            executor = self.runner.executor()
            reapply = getattr(executor, "reapply_persisted_state", None)
            if callable(reapply):
                # Isolation must be back before anything else happens on this host.
                reapply()
            self.source.start()
            isolation = self._isolation_hook()
            self.guard = Guard(
                self.config.sensor, self.state_dir, self.source, isolation, self.spool
            )
            self._flush(self._serialise(self.guard.start()))
            self._producer = threading.Thread(
                target=self._produce, name="aurora-producer", daemon=True
            )
            self._producer.start()
            self.updater.start()
            self.transport.run()
        finally:
            self.updater.stop()
            self._stop.set()
            self.transport.stop()
            if self._producer is not None:
                self._producer.join(timeout=10)
            self.source.stop()
            if self.guard is not None:
                self.guard.stop(clean=self._error is None)
            self.runner.close()
            self.spool.close()
        if self._error is not None:
            raise self._error
        return self._exit_code

    def stop(self) -> None:
        self._stop.set()
        self.transport.stop()

    def _restart_for_update(self) -> None:
        """A new version is staged: stop cleanly (spool flushed) so the launcher can switch."""
        self._exit_code = RESTART_FOR_UPDATE
        # The "restarting" progress goes out first, so the console sees why the host drops.
        self.transport.drain(2.0)
        self.stop()

    def _update_healthy(self) -> bool:
        """A version on trial is healthy once the guard's first full check passed in every hook
        family the version before it had healthy (not merely "a capability loaded")."""
        guard = self.guard
        return guard is not None and guard.passed_full_check(self.updater.expected_families())

    def _hook_families(self) -> list[str]:
        return self.guard.hook_families() if self.guard is not None else []

    def _send(self, msg: stream_pb2.SensorMessage) -> None:
        self.transport.send(msg)

    # --------------------------------------------------------------- producing
    def _produce(self) -> None:
        sc = self.config.sensor
        delay = sc.batch_max_delay_ms / 1000
        buf: list[bytes] = []
        deadline = 0.0
        next_drop_check = 0.0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                wait_ms = _POLL_MS if not buf else max(1, int((deadline - now) * 1000))
                events = self.source.poll(min(_POLL_MS, wait_ms))
                if self.guard is not None:
                    events = self.guard.consume(events) + self.guard.tick()
                if events:
                    if not buf:
                        deadline = time.monotonic() + delay
                    buf.extend(self._serialise(events))
                now = time.monotonic()
                if buf and (len(buf) >= sc.batch_max_events or now >= deadline):
                    self._flush(buf)
                    buf = []
                if now >= next_drop_check:
                    self._collect_kernel_drops()
                    next_drop_check = now + _DROP_CHECK_S
            if self.guard is not None:
                # What the kernel recorded up to the stop (the SIGTERM that asked for it).
                buf.extend(self._serialise(self.guard.tick()))
            self._flush(buf)
            self._collect_kernel_drops()
        except Exception as exc:  # the sensor must not run on without its source
            log.exception("event source failed")
            self._error = (
                exc
                if isinstance(exc, AuroraError)
                else AuroraError(f"event source failed: {type(exc).__name__}: {exc}")
            )
            self.stop()

    def _serialise(self, events: list[dict[str, Any]]) -> list[bytes]:
        out = []
        for event in events:
            try:
                out.append(orjson.dumps(event, default=str))
            except (TypeError, orjson.JSONEncodeError):
                self.counters.add("events_unserialisable", 1)
        self.counters.add("events_captured", len(events))
        return out

    def _flush(self, buf: list[bytes]) -> None:
        if not buf:
            return
        if not self.spool.append_or_count(buf):
            # A full or failing disk: the spool has counted these as lost and carries on.
            self.counters.add("spool_write_errors", 1)
            return
        self.counters.add("events_spooled", len(buf))
        self.transport.wake.set()

    def _collect_kernel_drops(self) -> None:
        total = sum(self.source.drop_counts().values())
        if total > self._kernel_drops:
            self.spool.add_drops("kernel", total - self._kernel_drops)
            self._kernel_drops = total
        plugin_losses = getattr(self.source, "plugin_losses", None)
        if callable(plugin_losses):
            lost = sum(plugin_losses().values())
            if lost > self._plugin_drops:
                self.spool.add_drops("plugin", lost - self._plugin_drops)
                self._plugin_drops = lost

    def _isolation_hook(self) -> Callable[[], tuple[str, Callable[[], object]]] | None:
        """The guard's view of isolation: its state, and how to put the rules back."""
        executor = self.runner.executor()
        state_fn = getattr(executor, "isolation_state", None)
        reapply = getattr(executor, "reapply_persisted_state", None)
        if not callable(state_fn) or not callable(reapply):
            return None

        def hook() -> tuple[str, Callable[[], object]]:
            return str(state_fn()), reapply

        return hook

    # -------------------------------------------------------------- heartbeat
    def _heartbeat(self) -> stream_pb2.Heartbeat:
        executor = self.runner.executor()
        isolation = ""
        if executor is not None:
            state_fn = getattr(executor, "isolation_state", None)
            isolation = str(state_fn()) if callable(state_fn) else ""
        totals = self.spool.drop_totals()
        losses = sum(totals.values())
        counters = self.counters.snapshot()
        # Named lost_* rather than drops_*: the collector accounts drops from the batch deltas,
        # and a second, cumulative copy under the same name would be counted on top of them.
        counters.update({f"lost_{k}": v for k, v in totals.items()})
        counters["commands_completed"] = self.runner.completed
        plugin_counters = getattr(self.source, "plugin_counters", None)
        if callable(plugin_counters):
            counters.update(plugin_counters())  # events and losses per plugin, for the console
        hb = build_heartbeat(
            self.sensor_id,
            self.source.capabilities(),
            self.spool.status(),
            counters,
            isolation,
            losses - self._losses_at_last_heartbeat,
        )
        self._losses_at_last_heartbeat = losses
        if self.guard is not None:
            hb.hook_health.CopyFrom(self.guard.report())
            hb.capabilities.extend(
                common_pb2.Capability(name=c.name, loaded=c.loaded, reason=c.reason)
                for c in self.guard.caps
            )
        return hb


def _make_source(config: AuroraConfig) -> EventSource:
    return host_platform.current().event_source(config.sensor)


def run_agent(args: argparse.Namespace, config: AuroraConfig) -> int:
    """`aurora sensor` without --stdout: stream to the enrolled collector until SIGTERM/SIGINT."""
    state_dir = Path(args.state_dir) if getattr(args, "state_dir", None) else None
    collector = getattr(args, "collector", None)
    if collector:
        parse_endpoint(collector)  # a bad address is a usage error now, not a retry loop
        sensor = config.sensor.model_copy(update={"collector_endpoint": collector})
        config = config.model_copy(update={"sensor": sensor})
    load_identity(state_dir or config.sensor.state_dir)  # not enrolled: say so before loading BPF
    # One sensor per state directory, for the life of this process: two would append to one
    # spool and rewrite one state file.
    lock = StateDirLock.acquire(state_dir or config.sensor.state_dir, "sensor")
    try:
        source = getattr(args, "source", None) or _make_source(config)
        source = with_plugins(
            source, state_dir or config.sensor.state_dir, pipe_name=config.sensor.plugin_pipe
        )
        agent = Agent(config, source, state_dir=state_dir)
        watch = getattr(args, "watch", None)  # e.g. --replay: stop once everything is delivered
        if watch is not None:
            watch(agent)
        return _run_with_signals(agent)
    finally:
        lock.release()


def _run_with_signals(agent: Agent) -> int:
    if threading.current_thread() is threading.main_thread():

        def _on_signal(signum: int, _frame: object) -> None:
            log.info("signal %d: stopping the sensor", signum)
            agent.stop()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    return agent.run()
