"""Tamper findings only the collector can raise: a sensor gone silent, and a sensor losing events
faster than ``[collector] sensor_drop_alert_per_min``.

What a sensor sees of an attack on itself (hooks detached, signals, ptrace, its files changed)
arrives as events and is matched by the tamper rules like any event. Silence cannot be reported by
the silent party, so it is watched here: a sensor whose stream is open but whose heartbeats stopped
for ``sensor_silence_heartbeats`` intervals (at least ``sensor_silence_min_s``) is *stopped or
hung while its host is reachable* (the host's kernel still holds the connection); a stream that
ended without the sensor's Goodbye and
was not replaced within the same bound is *down or unreachable*; a sensor heard from again after
either is recorded as *back*, saying how long it was silent. Findings are OCSF Detection Findings
(ATT&CK T1562.001) stored and announced as :class:`AlertRaised`, so suppression, the console and
rule-driven response treat them as any alert.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aurora.collector.bus import AlertRaised, Bus
from aurora.collector.store.base import NewAlert, Store
from aurora.detection.findings import SEVERITY, Finding, build_finding
from aurora.detection.suppress import Suppressor
from aurora.v1 import stream_pb2

log = logging.getLogger("aurora.collector.tamper")

_DEFAULT_HEARTBEAT_S = 10.0
_TAGS = ["attack.defense-evasion", "attack.t1562.001"]


@dataclass
class TamperRule:
    """The rule a collector-side tamper finding is filed under (a built-in, not a Sigma file)."""

    id: str
    title: str
    level: str
    description: str
    tags: list[str] = field(default_factory=lambda: list(_TAGS))


SILENT = TamperRule(
    "aurora-tamper-sensor-silent",
    "Aurora Sensor Silent",
    "critical",
    "The sensor stopped sending heartbeats: stopped, hung, killed or cut off.",
)
BACK = TamperRule(
    "aurora-tamper-sensor-back",
    "Aurora Sensor Back After Silence",
    "medium",
    "A sensor reported silent is heard from again; the finding says how long it was silent.",
)
DROPS = TamperRule(
    "aurora-tamper-sensor-drops",
    "Aurora Sensor Losing Events",
    "critical",
    "The sensor's loss counters rise faster than the configured rate: it is being flooded.",
)


@dataclass
class _Sensor:
    interval_s: float = _DEFAULT_HEARTBEAT_S
    last_heard: float = 0.0
    connected: bool = False
    lost_at: float | None = None  # stream ended without Goodbye
    silent_since: float | None = None  # a silent finding was raised
    silent_how: str = ""
    lost_total: int = -1
    lost_checked: float = 0.0


class TamperMonitor:
    def __init__(
        self,
        store: Store,
        bus: Bus | None,
        *,
        silence_heartbeats: int,
        drop_alert_per_min: int,
        silence_min_s: float = 5.0,
        suppression_window_s: float,
    ) -> None:
        self.store = store
        self.bus = bus
        self.silence_heartbeats = silence_heartbeats
        self.silence_min_s = silence_min_s
        self.drop_alert_per_min = drop_alert_per_min
        self.suppressor = Suppressor(suppression_window_s)
        self._sensors: dict[str, _Sensor] = {}
        self._lock = threading.Lock()

    # --------------------------------------------------------------- what the streams tell
    def heard(self, sensor_id: str, hb: stream_pb2.Heartbeat | None = None) -> None:
        """A heartbeat (or a new stream's Hello) from ``sensor_id``."""
        now = time.monotonic()
        back: tuple[float, str] | None = None
        drops: tuple[int, float] | None = None
        with self._lock:
            s = self._sensors.setdefault(sensor_id, _Sensor())
            s.last_heard, s.connected, s.lost_at = now, True, None
            if hb is not None and hb.hook_health.heartbeat_interval_ms:
                s.interval_s = hb.hook_health.heartbeat_interval_ms / 1000
            if s.silent_since is not None:
                back = (now - s.silent_since, s.silent_how)
                s.silent_since = None
            if hb is not None:
                drops = self._drop_rate(s, hb, now)
        if back is not None:
            silent_for, how = back
            self._raise(
                sensor_id,
                BACK,
                f"sensor heard from again after {silent_for:.1f} s of silence ({how})",
                {"check": "sensor_back", "silent_s": round(silent_for, 1), "was": how},
            )
        if drops is not None:
            lost, seconds = drops
            self._raise(
                sensor_id,
                DROPS,
                f"{lost} events lost in {seconds:.0f} s (alert above "
                f"{self.drop_alert_per_min} per minute)",
                {"check": "drops_rising", "lost": lost, "seconds": round(seconds, 1)},
            )

    def _drop_rate(
        self, s: _Sensor, hb: stream_pb2.Heartbeat, now: float
    ) -> tuple[int, float] | None:
        total = sum(v for k, v in hb.counters.items() if k.startswith("lost_"))
        if s.lost_total < 0 or total < s.lost_total:
            s.lost_total, s.lost_checked = total, now
            return None
        seconds = now - s.lost_checked
        if seconds < 1.0:
            return None
        lost = total - s.lost_total
        s.lost_total, s.lost_checked = total, now
        if lost * 60 / seconds > self.drop_alert_per_min:
            return lost, seconds
        return None

    def stream_ended(self, sensor_id: str, said_goodbye: bool) -> None:
        with self._lock:
            s = self._sensors.setdefault(sensor_id, _Sensor())
            s.connected = False
            if said_goodbye:
                # A clean stop: nothing to watch until it comes back.
                del self._sensors[sensor_id]
            else:
                s.lost_at = time.monotonic()

    def watching(self, sensor_id: str) -> bool:
        """Whether ``sensor_id`` is watched for silence (not after a clean Goodbye)."""
        with self._lock:
            return sensor_id in self._sensors

    # --------------------------------------------------------------- the periodic scan
    def scan(self) -> None:
        now = time.monotonic()
        found: list[tuple[str, str, dict[str, Any]]] = []
        with self._lock:
            for sid, s in self._sensors.items():
                if s.silent_since is not None:
                    continue
                bound = max(self.silence_heartbeats * s.interval_s, self.silence_min_s)
                if s.connected and now - s.last_heard > bound:
                    how = "stream still open: host reachable, sensor stopped or hung"
                    quiet = now - s.last_heard
                elif not s.connected and s.lost_at is not None and now - s.lost_at > bound:
                    how = "stream ended without Goodbye and not back: sensor down or host cut off"
                    quiet = now - s.last_heard
                else:
                    continue
                s.silent_since, s.silent_how = s.last_heard, how
                detail = f"no heartbeat for {quiet:.1f} s ({how})"
                extra = {"check": "sensor_silent", "how": how, "quiet_s": round(quiet, 2)}
                found.append((sid, detail, extra))
        for sid, detail, extra in found:
            self._raise(sid, SILENT, detail, extra)

    # --------------------------------------------------------------- raising
    def _raise(self, sensor_id: str, rule: TamperRule, detail: str, extra: dict[str, Any]) -> None:
        now_ms = int(time.time() * 1000)
        log.warning("sensor %s: %s", sensor_id, detail)
        evidence: dict[str, Any] = {
            "time": now_ms,
            "message": detail,
            "device": {"uid": sensor_id},
            "unmapped": {"tamper": {"detail": detail, **extra}},
        }
        admitted = self.suppressor.admit(rule.id, sensor_id, "", now=now_ms / 1000)
        self.suppressor.commit()
        severity = SEVERITY.get(rule.level, 3)
        if admitted:
            host = self.store.get_host(sensor_id)
            # What the collector knows of the host; its kind is not among it (OCSF: Unknown).
            device: dict[str, Any] = {"uid": sensor_id, "type_id": 0, "type": "Unknown"}
            if host is not None and host.hostname:
                device["hostname"] = host.hostname
            finding = build_finding(Finding(rule, [evidence], kind="builtin"), host=device)
            self.store.add_alerts(
                [NewAlert(rule.id, sensor_id, "", severity, rule.title, now_ms, finding)]
            )
        if self.bus is not None:
            self.bus.publish(
                AlertRaised(
                    sensor_id=sensor_id,
                    rule_uid=rule.id,
                    dedup_key="",
                    severity_id=severity,
                    title=rule.title,
                    time_ms=now_ms,
                    suppressed=not admitted,
                    evidence=evidence,
                )
            )
