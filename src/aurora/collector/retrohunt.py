"""Retro-hunt: run one Sigma rule over the events the collector has stored, for a time range and a
set of hosts, with the same engine and mappings as live detection.

The store answers event searches newest first up to a limit, so the range is walked in time
windows from its end backwards: a window that comes back full is halved and read again (a window
of one millisecond is read with a larger limit), so every stored event is matched exactly once.
Matches become alerts like any other, marked as retro-hunt results (``unmapped.retro_hunt`` and
the title), each keyed by the event, so running the same hunt twice does not double them.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aurora.collector.store.base import EventQuery, NewAlert, Store

if TYPE_CHECKING:
    from aurora.detection import DetectionEngine
    from aurora.detection.rules import Rule

log = logging.getLogger(__name__)

WINDOW_LIMIT = 5_000  # events read per store query
FIRST_WINDOW_MS = 3_600_000
MAX_JOBS_KEPT = 100
TITLE_PREFIX = "Retro-hunt: "


@dataclass
class HuntJob:
    """One retro-hunt and how far it got (read by the console while it runs)."""

    id: str
    rule_id: str
    title: str
    since_ms: int
    until_ms: int
    sensor_ids: list[str] | None
    requested_by: str
    state: str = "running"  # running | done | failed
    scanned: int = 0
    matches: int = 0
    stored: int = 0  # matches stored as alerts (the others were by an earlier run)
    covered_ms: int = 0  # how much of the range has been read
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    finished_ms: int | None = None
    error: str = ""

    @property
    def progress(self) -> float:
        span = max(self.until_ms - self.since_ms, 1)
        return 1.0 if self.state == "done" else min(self.covered_ms / span, 1.0)

    def view(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["progress"] = round(self.progress, 4)
        return out


def single_rule_engine(rule: Rule, config: Any) -> DetectionEngine:
    """An engine holding just ``rule`` (enabled, whatever its state in the live set)."""
    from aurora.detection import DetectionEngine

    return DetectionEngine([dataclasses.replace(rule, enabled=True, emits=True)], [], config)


def _windows(store: Store, since_ms: int, until_ms: int, sensor_ids: Sequence[str] | None) -> Any:
    """(window start, events of [start, end]) from ``until_ms`` back to ``since_ms``."""
    end, width = until_ms, FIRST_WINDOW_MS
    while end >= since_ms:
        start = max(since_ms, end - width + 1)
        limit = WINDOW_LIMIT if start < end else WINDOW_LIMIT * 100
        events = store.search_events(
            # the store's until is exclusive; a window's end is not
            EventQuery(sensor_ids=sensor_ids, since_ms=start, until_ms=end + 1, limit=limit)
        )
        if len(events) >= limit and start < end:
            width = max(1, (end - start + 1) // 2)  # too many: read a narrower window
            continue
        yield start, events
        end = start - 1
        if len(events) < limit // 4:
            width *= 2


def run_hunt(
    job: HuntJob,
    store: Store,
    engine: DetectionEngine,
    on_alerts: Callable[[list[NewAlert]], None] | None = None,
) -> HuntJob:
    """Match every stored event of the job's range and hosts; store the matches as alerts."""
    from aurora.detection import build_finding

    try:
        for start, events in _windows(store, job.since_ms, job.until_ms, job.sensor_ids):
            alerts: list[NewAlert] = []
            for stored in events:
                job.scanned += 1
                for match in engine.match(stored.event):
                    device = stored.event.get("device")
                    host = dict(device) if isinstance(device, dict) else {}
                    host["uid"] = stored.sensor_id
                    finding = build_finding(match, host=host)
                    finding["unmapped"]["retro_hunt"] = {"id": job.id, "by": job.requested_by}
                    title = TITLE_PREFIX + str(match.rule.title)
                    finding["message"] = title
                    alerts.append(
                        NewAlert(
                            str(match.rule.id),
                            stored.sensor_id,
                            f"retro:{stored.sensor_id}:{stored.seq}",
                            int(finding["severity_id"]),
                            title,
                            stored.time_ms,
                            finding,
                        )
                    )
            if alerts:
                job.stored += _store_new(store, alerts)
                job.matches += len(alerts)
                if on_alerts is not None:
                    on_alerts(alerts)
            job.covered_ms = job.until_ms - start + 1
        job.state = "done"
    except Exception as exc:  # a store failure ends this hunt, never the collector
        log.exception("retro-hunt %s failed", job.id)
        job.state, job.error = "failed", str(exc) or type(exc).__name__
    job.finished_ms = int(time.time() * 1000)
    return job


def _store_new(store: Store, alerts: list[NewAlert]) -> int:
    """Add the alerts not stored by an earlier run of a hunt over the same events (their
    alerts were last seen at their event's time, so one look per host from the oldest finds
    them)."""
    by_sensor: dict[str, list[NewAlert]] = {}
    for a in alerts:
        by_sensor.setdefault(a.sensor_id, []).append(a)
    fresh = []
    for sensor_id, group in by_sensor.items():
        oldest = min(a.time_ms for a in group)
        known = {
            (k.rule_uid, k.dedup_key)
            for k in store.list_alerts(sensor_id=sensor_id, since_ms=oldest, limit=1_000_000)
        }
        fresh += [a for a in group if (a.rule_uid, a.dedup_key) not in known]
    if fresh:
        store.add_alerts(fresh)
    return len(fresh)


class RetroHunts:
    """The hunts of this process: started in threads, kept (the newest 100) for their progress."""

    def __init__(self) -> None:
        self._jobs: dict[str, HuntJob] = {}
        self._lock = threading.Lock()

    def start(
        self,
        store: Store,
        engine: DetectionEngine,
        rule: Rule,
        since_ms: int,
        until_ms: int,
        sensor_ids: list[str] | None,
        requested_by: str,
        on_alerts: Callable[[list[NewAlert]], None] | None = None,
    ) -> HuntJob:
        job = HuntJob(
            uuid.uuid4().hex[:16], rule.id, rule.title, since_ms, until_ms, sensor_ids, requested_by
        )
        with self._lock:
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-MAX_JOBS_KEPT]:
                del self._jobs[old]
        threading.Thread(
            target=run_hunt, args=(job, store, engine, on_alerts), name="retro-hunt", daemon=True
        ).start()
        return job

    def get(self, job_id: str) -> HuntJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[HuntJob]:
        with self._lock:
            return list(reversed(self._jobs.values()))
