"""The guard: every ``[sensor] health_interval_s`` it checks the sensor's hooks, canaries, files,
kernel filter and isolation, and between checks it reads what the kernel saw aimed at the sensor.

It runs on the agent's producer thread: :meth:`Guard.tick` returns tamper events to spool with the
telemetry, :meth:`Guard.consume` removes the canaries' markers from it, and :meth:`Guard.report`
is the hook-health section of every heartbeat. Nothing here can stop the sensor: a check that
fails is reported as a finding, a part that cannot load as a capability with its reason.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from aurora.config.sensor import SensorConfig
from aurora.errors import AuroraError
from aurora.sensor.guard import events as tev
from aurora.sensor.guard.canary import Canaries
from aurora.sensor.guard.integrity import FileIntegrity
from aurora.sensor.guard.probe_linux import OP_PTRACE, OP_SIGNAL, Aimed, GuardProbe
from aurora.sensor.guard.runstate import RunRecord
from aurora.sensor.guard.status import OK, Entry, Observation, StateBook
from aurora.sensor.source import Capability, EventSource
from aurora.sensor.spool import Spool
from aurora.v1 import stream_pb2

log = logging.getLogger("aurora.sensor.guard")

_CHECK_OF_STATE = {
    "detached": "hook_detached",
    "replaced": "hook_replaced",
    "altered": "map_altered",
    "blind": "family_blind",
    "stalled": "family_blind",
}

Event = dict[str, Any]
#: Returns the isolation state and a function that puts the rules back.
IsolationHook = Callable[[], tuple[str, Callable[[], object]]]


def isolation_listing() -> str | None:
    """The isolation table as the kernel holds it now (None: absent, or no nftables here)."""
    try:
        from aurora.sensor.response.isolation_linux import NftIsolation

        return NftIsolation().table_listing()
    except (ImportError, AuroraError):
        return None


class Guard:
    def __init__(
        self,
        config: SensorConfig,
        state_dir: Path,
        source: EventSource,
        isolation: IsolationHook | None = None,
        spool: Spool | None = None,
    ) -> None:
        self.config = config
        self.spool = spool
        self.state_dir = state_dir
        self.source = source
        self.isolation = isolation
        self.interval_s = config.health_interval_s
        self.hooks_book = StateBook()
        self.families_book = StateBook()
        self.run = RunRecord(state_dir)
        self.previous_run = ""
        self.caps: list[Capability] = []
        self._probe: GuardProbe | None = None
        self._hooks: Any = None
        self._canaries: Canaries | None = None
        self._files: FileIntegrity | None = None
        self._windows: Any = None  # windows.guard_checks.WindowsGuardChecks on Windows sources
        self._next_check = 0.0
        self._checked_ms = 0
        self._last_good_ms = 0
        self._cpu_us = 0
        self._isolation_listing: str | None = None
        self.checks = 0
        self.failures = 0
        # The first full check: every hook ok and every canary back (an update's confirmation).
        self._full_check_ok = False
        self._early_check = False
        self._healthy_families: tuple[str, ...] = ()

    # ------------------------------------------------------------------ life cycle
    def start(self) -> list[Event]:
        """After the source started: take the baselines; returns the events to spool first
        (what the previous run left in the pinned ring, how it ended)."""
        out: list[Event] = []
        aimed: list[Aimed] = []
        if not self._start_windows_parts():
            self._start_linux_parts()
        if self._probe is not None:
            aimed = self._probe.drain()
        if self.run.previous_was_unclean():
            self.previous_run = self.run.how_previous_ended(aimed)
            log.warning("the previous run ended abnormally: %s", self.previous_run)
            out.append(tev.tamper_event("previous_run_abnormal", self.previous_run))
        out.extend(self._aimed_events(aimed))
        self.run.started()
        try:
            self._files = FileIntegrity()
            families = list(self.config.linux_families) if self._hooks is not None else []
            loaded = {c.name for c in self.source.capabilities() if c.loaded}
            if self._windows is None:  # Windows has its own canary (a Sysmon-reported process)
                self._canaries = Canaries(
                    [f for f in families if f in loaded],
                    list(self.config.watch_paths),
                    self.config.canary_timeout_s,
                )
        except (OSError, AuroraError) as exc:
            log.warning("guard checks partly unavailable: %s", exc)
            self.caps.append(Capability("guard/canaries", False, str(exc)))
        return out

    def _start_windows_parts(self) -> bool:
        """The Windows checks when the source is the Windows sensor; whether it is."""
        try:
            from aurora.sensor.windows.guard_checks import (
                WindowsGuardChecks,
                windows_device,
                windows_source,
            )
        except ImportError as exc:  # pragma: no cover - a build without the Windows sensor
            self.caps.append(Capability("guard/windows", False, str(exc)))
            return False
        sensor = windows_source(self.source)
        if sensor is None:
            return False
        self._windows = WindowsGuardChecks(sensor, self.config.canary_timeout_s)
        tev.use_device(windows_device())
        self.caps.append(Capability("guard/windows", True))
        return True

    def _start_linux_parts(self) -> None:
        try:
            from aurora.sensor.guard.hooks_linux import LinuxHooks
            from aurora.sensor.linux.sensor import LinuxSensor
        except ImportError as exc:  # pragma: no cover - a build without the Linux sensor
            self.caps.append(Capability("guard/hooks", False, str(exc)))
            return
        # The platform source may sit inside a wrapper that adds others (the plugin host).
        platform_source = self.source
        while not isinstance(platform_source, LinuxSensor) and hasattr(platform_source, "primary"):
            platform_source = platform_source.primary
        if not isinstance(platform_source, LinuxSensor):
            self.caps.append(Capability("guard/hooks", False, "the event source is not eBPF"))
            return
        try:
            self._hooks = LinuxHooks(platform_source)
            self.caps.append(Capability("guard/hooks", True))
        except AuroraError as exc:
            self.caps.append(Capability("guard/hooks", False, str(exc)))
        try:
            self._probe = GuardProbe(platform_source.objects_dir, self.state_dir)
            self.caps.append(Capability("guard/kernel", True))
        except (AuroraError, OSError) as exc:
            log.warning("guard probe not loaded: %s", exc)
            self.caps.append(Capability("guard/kernel", False, str(exc)))

    def stop(self, clean: bool) -> None:
        if self._probe is not None:
            self._probe.close(clean)
            self._probe = None
        if self._canaries is not None:
            self._canaries.close()
        if clean:
            self.run.stopped()

    # ------------------------------------------------------------------ running
    def consume(self, events: list[Event]) -> list[Event]:
        if self._windows is not None:
            try:
                events = self._windows.consume(events)
            except Exception:  # a malformed event must not cost the others
                log.exception("Windows guard matching failed; events passed on unfiltered")
        if self._canaries is None:
            return events
        try:
            return self._canaries.consume(events)
        except Exception:  # a malformed event must not cost the others
            log.exception("canary matching failed; events passed on unfiltered")
            return events

    def tick(self) -> list[Event]:
        """Called on every producer round: kernel records now, the full check when due. Never
        raises: a guard bug must not stop the sensor it guards."""
        try:
            out = self._aimed_events(self._probe.drain()) if self._probe is not None else []
            now = time.monotonic()
            canaries = self._canaries
            if (
                not self._early_check
                and canaries is not None
                and canaries.fired
                and canaries.all_back()
            ):
                # The first markers are back: check now rather than an interval later, so a
                # version on trial confirms within seconds.
                self._early_check = True
                self._next_check = now
            if now >= self._next_check:
                self._next_check = now + self.interval_s
                out.extend(self.check())
            return out
        except Exception:
            log.exception("guard check failed; the sensor carries on")
            self.failures += 1
            return []

    def check(self) -> list[Event]:
        cpu0 = time.thread_time_ns()
        now_ms = int(time.time() * 1000)
        out: list[Event] = []
        hooks: list[Observation] = self._hooks.check() if self._hooks is not None else []
        if self._hooks is not None:
            fed = self._canaries.families if self._canaries and self._canaries.fired else []
            hooks.extend(self._hooks.check_pipeline(fed))
        if self._windows is not None:
            hooks.extend(self._windows.observations())
        hooks.extend(self._check_spool())
        if self._probe is not None:
            missing = self._probe.pids_guarded([os.getpid()])
            ok = not missing
            detail = "" if ok else f"pids {missing} were removed from the kernel filter; put back"
            hooks.append(Observation("guard/guarded", OK if ok else "altered", detail))
        for entry in self.hooks_book.record(hooks, now_ms):
            out.append(self._event_for(entry))
        canaries_back = True
        if self._canaries is not None:
            observed = self._canaries.observe(now_ms)
            canaries_back = self._canaries.all_back()  # none out yet: not back
            for entry in self.families_book.record(observed, now_ms):
                out.append(self._event_for(entry))
            self._canaries.fire(now_ms)
        out.extend(self._check_files())
        out.extend(self._check_isolation())
        self._checked_ms = now_ms
        if self.hooks_book.all_ok() and self.families_book.all_ok():
            self._last_good_ms = now_ms
            self._full_check_ok = self._full_check_ok or canaries_back
        self._healthy_families = self._families_all_ok()
        self._cpu_us = (time.thread_time_ns() - cpu0) // 1000
        self.checks += 1
        return out

    def _check_spool(self) -> list[Observation]:
        if self.spool is None:
            return []
        st = self.spool.status()
        if st.disk_error:
            return [Observation("spool", "failing", st.disk_error)]
        if st.acked_through >= st.next_seq or st.events_queued < 0:
            detail = f"acknowledged through {st.acked_through} but next sequence {st.next_seq}"
            return [Observation("spool", "inconsistent", detail)]
        return [Observation("spool", OK)]

    def _event_for(self, entry: Entry) -> Event:
        check = _CHECK_OF_STATE.get(entry.state, entry.state)
        detail = f"{entry.name}: {entry.state}" + (f" ({entry.detail})" if entry.detail else "")
        log.warning("guard: %s", detail)
        return tev.tamper_event(
            check, detail, time_ms=entry.since_ms, extra={"hook": entry.name, "state": entry.state}
        )

    def _check_files(self) -> list[Event]:
        if self._files is None:
            return []
        out = []
        for path in self._files.check():
            detail = f"{path} changed on disk since the sensor started"
            log.warning("guard: %s", detail)
            out.append(tev.tamper_event("file_changed", detail, extra={"path": str(path)}))
        return out

    def _check_isolation(self) -> list[Event]:
        """While isolated, the table must stay as the sensor wrote it: a table removed (the state
        says isolation_lost) or edited (its listing differs from the one after it was applied)
        is written again at once and reported."""
        if self.isolation is None:
            return []
        state, restore = self.isolation()
        if state not in ("isolated", "isolation_lost"):
            self._isolation_listing = None
            return []
        listing = isolation_listing()
        if state == "isolated" and (
            self._isolation_listing is None or listing == self._isolation_listing
        ):
            self._isolation_listing = listing
            return []
        what = "removed" if state == "isolation_lost" else "altered"
        try:
            restore()
            after, _ = self.isolation()
        except Exception as exc:  # reported, never fatal
            after = f"restore failed: {exc}"
        self._isolation_listing = isolation_listing()
        detail = f"isolation table {what} while the host is isolated; written back, now {after}"
        log.warning("guard: %s", detail)
        return [tev.tamper_event("isolation_restored", detail, extra={"after": after, "was": what})]

    def _aimed_events(self, aimed: list[Aimed]) -> list[Event]:
        out = []
        boot_ms = int((time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)) * 1000)
        for a in aimed:
            if a.op == OP_SIGNAL:
                check, what = "signal", f"{tev.signal_name(int(a.arg))} sent"
            elif a.op == OP_PTRACE:
                check, what = "ptrace", f"ptrace request {a.arg} aimed"
            else:
                check, what = "process_vm_writev", "process_vm_writev aimed"
            detail = f"{what} to sensor pid {a.target_pid} by pid {a.sender_pid} ({a.sender_comm})"
            log.warning("guard: %s", detail)
            actor = tev.sender_process(a.sender_pid, a.sender_ppid, a.sender_uid, a.sender_comm)
            out.append(
                tev.tamper_event(
                    check,
                    detail,
                    time_ms=boot_ms + a.boot_ns // 1_000_000,
                    actor=actor,
                    target_pid=a.target_pid,
                    extra={"signal": tev.signal_name(int(a.arg))} if a.op == OP_SIGNAL else None,
                )
            )
        return out

    def _families_all_ok(self) -> tuple[str, ...]:
        states = {e.name: e.state for e in self.hooks_book.entries()}
        ok: dict[str, bool] = {}
        for hook in self.attached_hooks():
            family = hook.name.split("/", 1)[0]
            ok[family] = ok.get(family, True) and states.get(hook.name) == OK
        return tuple(sorted(f for f, good in ok.items() if good))

    def hook_families(self) -> list[str]:
        """The families whose every hook was ok at the last check (what a new version on trial
        must have healthy too)."""
        return list(self._healthy_families)

    def passed_full_check(self, families: Collection[str] = ()) -> bool:
        """Whether a check has found every hook attached and the one loaded with every canary
        back, and every one of ``families`` has its hooks ok now."""
        return self._full_check_ok and set(families) <= set(self._healthy_families)

    def attached_hooks(self) -> list[Any]:
        """The BPF programs the guard watches, with their descriptors (empty off Linux)."""
        return list(self._hooks.hooks) if self._hooks is not None else []

    # ------------------------------------------------------------------ reporting
    def report(self) -> stream_pb2.HookHealth:
        return stream_pb2.HookHealth(
            checked_at_unix_ms=self._checked_ms,
            last_good_unix_ms=self._last_good_ms,
            hooks=[e.to_proto() for e in self.hooks_book.entries()],
            families=[e.to_proto() for e in self.families_book.entries()],
            previous_run=self.previous_run,
            canaries_sent=(
                self._canaries.fired
                if self._canaries is not None
                else getattr(self._windows, "canaries_sent", 0)
            ),
            check_cpu_us=self._cpu_us,
            heartbeat_interval_ms=int(self.config.heartbeat_interval_s * 1000),
        )
