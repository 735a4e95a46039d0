"""Detection on ingest: run the engine over new events and turn findings into stored alerts.

The ingest writer calls :meth:`AlertPipeline.evaluate` before it commits a group of batches, so
the alerts are committed in the same transaction as their evidence: a crash can lose neither one
without the other. Repeats of the same (rule, sensor, key) inside the suppression window are not
new alerts; they bump the count of the alert already stored (:meth:`flush_repeats`, after commit).
Rules listed in ``[response] rule_actions`` also queue their action then (:attr:`responder`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aurora.collector.store.base import NewAlert, Store
from aurora.config.detection import DetectionConfig

if TYPE_CHECKING:
    from aurora.collector.rule_actions import RuleResponder
    from aurora.detection import DetectionEngine

log = logging.getLogger("aurora.collector.alerts")


class AlertPipeline:
    def __init__(self, engine: DetectionEngine, window_s: float) -> None:
        from aurora.detection import Suppressor

        self.engine = engine
        self.suppressor = Suppressor(window_s)
        # (rule, sensor, key) -> (repeats, last time) waiting to be added to the stored alert.
        self._repeats: dict[tuple[str, str, str], tuple[int, int]] = {}
        self.raised = 0
        # Rule-driven response; None unless configuration lists rules that act.
        self.responder: RuleResponder | None = None
        # Where the rules came from, so the batch reader process loads the same ones.
        self.sources: tuple[list[str], DetectionConfig] | None = None

    @classmethod
    def from_config(
        cls, config: DetectionConfig, uploaded_dir: Path | None = None
    ) -> AlertPipeline:
        """Built-in pack + ``[detection] rule_dirs`` + rules uploaded through the console."""
        from aurora.detection import DetectionEngine

        dirs = [Path(p) for p in config.rule_dirs]
        if uploaded_dir is not None and uploaded_dir.is_dir():
            dirs.append(uploaded_dir)
        engine = DetectionEngine.load(dirs, config=config)
        for failure in engine.errors:
            log.warning("rule not loaded: %s", failure)
        log.info("detection: %d rules loaded", len(engine.rules))
        pipeline = cls(engine, config.suppression_window_s)
        pipeline.sources = ([str(d) for d in dirs], config)
        return pipeline

    def evaluate(
        self, sensor_id: str, events: Sequence[tuple[dict[str, Any], Sequence[str]]]
    ) -> list[NewAlert]:
        """Alerts for new events, each given with the ids of the rules it matched (the batch
        reader ran the matchers; see :mod:`aurora.collector.keyreader`)."""
        from aurora.detection import build_finding

        alerts: list[NewAlert] = []
        loaded = self.engine.rules_by_id
        for event, rule_ids in events:
            # An id this engine lacks comes from a reader restarted after a rule upload; like
            # the upload itself, it takes effect when the collector next starts.
            hits = [loaded[r] for r in rule_ids if r in loaded]
            for match in self.engine.match_hits(event, hits):
                t = event.get("time")
                t_ms = t if isinstance(t, int) else int(time.time() * 1000)
                rule_id = str(match.rule.id)
                if self.responder is not None:
                    self.responder.plan(rule_id, sensor_id, event)
                if not self.suppressor.admit(rule_id, sensor_id, match.key, now=t_ms / 1000):
                    k = (rule_id, sensor_id, match.key)
                    n, last = self._repeats.get(k, (0, 0))
                    self._repeats[k] = (n + 1, max(last, t_ms))
                    continue
                device = event.get("device")
                host = dict(device) if isinstance(device, dict) else {}
                host["uid"] = sensor_id
                finding = build_finding(match, host=host)
                alerts.append(
                    NewAlert(
                        rule_uid=rule_id,
                        sensor_id=sensor_id,
                        dedup_key=match.key,
                        severity_id=int(finding.get("severity_id", 0)),
                        title=str(match.rule.title),
                        time_ms=t_ms,
                        finding=finding,
                    )
                )
        self.raised += len(alerts)
        return alerts

    def after_commit(self, store: Store) -> None:
        """Called by the ingest writer once a group (events and alerts) is committed."""
        self.flush_repeats(store)
        if self.responder is not None:
            self.responder.dispatch()

    def close(self) -> None:
        if self.responder is not None:
            self.responder.close()

    def flush_repeats(self, store: Store) -> None:
        """Add suppressed repeats to the newest stored alert of the same (rule, sensor, key)."""
        if not self._repeats:
            return
        pending, self._repeats = self._repeats, {}
        for (rule_id, sensor_id, key), (n, last) in pending.items():
            for alert in store.list_alerts(sensor_id=sensor_id, limit=200):
                if alert.rule_uid == rule_id and alert.dedup_key == key:
                    store.bump_alert(alert.alert_id, last, None, n)
                    break
