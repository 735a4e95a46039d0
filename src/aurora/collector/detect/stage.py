"""Detection on ingest, the collector's side: matches of new events become alerts, committed with
their evidence, and are announced on the bus once committed.

The batch reader process (:mod:`.batch_reader`) has already run the rules' matchers and handed
over each matched event once, as a dict, with the ids of the rules it matched. Before the ingest
writer commits a group of batches it calls :meth:`DetectionStage.evaluate`; what needs state
stays here (correlation inside the engine, suppression), so alerts are stored in the same
transaction as their events and a crash loses neither without the other. Repeats of the same
(rule, sensor, key) inside the suppression window are not new alerts: after the commit
(:meth:`DetectionStage.committed`) they bump the count of the alert already stored. Every match,
new or suppressed, is then published as :class:`~aurora.collector.bus.AlertRaised`, which is
where the console and rule-driven response pick it up; nothing is announced for a group whose
commit failed (:meth:`DetectionStage.abandoned`).

:meth:`DetectionStage.reload` loads the rules again (upload, enable/disable, SIGHUP). Batches the
batch reader matched with the previous rules may still wait for the writer, so the stage keeps
each generation's engine until a batch of a newer one has been committed, and evaluates every
hit with the engine of the generation that matched it: no event is matched twice or by rules
it was not read with. Correlation state starts afresh with the new engine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aurora.collector.bus import AlertRaised, Bus
from aurora.collector.detect.batch_reader import RuleSet, RuleSource
from aurora.collector.store.base import NewAlert, Store
from aurora.config.detection import DetectionConfig
from aurora.detection.default_tuning import with_default
from aurora.detection.tuning import TUNING_FILE, load_tuning

if TYPE_CHECKING:
    from aurora.detection import DetectionEngine

log = logging.getLogger("aurora.collector.detect")

# Engines of older generations kept for batches still on their way to the writer; past this many,
# the oldest goes (its hits, if any still come, are evaluated with the current rules).
_KEEP_OLD_ENGINES = 4
# How many of a sensor's newest alerts are searched for a repeated key's alert: a few first,
# then many (once per key: what is found is kept).
_REPEAT_LOOKBACK = (200, 20_000)
_MAX_KNOWN_ALERTS = 100_000


class DetectionStage:
    def __init__(
        self,
        engine: DetectionEngine,
        window_s: float,
        rules: RuleSource,
        state_dir: Path | None = None,
    ) -> None:
        from aurora.detection import Suppressor

        #: The current rules' engine (replaced by :meth:`reload`).
        self.engine = engine
        #: Where the rules came from, so the batch reader process loads the same ones.
        self.rules = RuleSet(rules)
        #: The collector's state directory: its installed SigmaHQ set and uploaded rules.
        self.state_dir = state_dir
        self._config = rules[1]
        self._engines: dict[int, DetectionEngine] = {0: engine}
        self._generation = 0
        self._evaluated_generation = 0  # the newest generation of the group being committed
        self._reload_lock = threading.Lock()  # one reload at a time (held while loading)
        self._engines_lock = threading.Lock()  # the swap only: the writer waits on it briefly
        self.suppressor = Suppressor(window_s)
        # (rule, sensor, key) -> (repeats, last time, the latest repeat's match and event), waiting
        # to be added to the stored alert.
        self._repeats: dict[tuple[str, str, str], tuple[int, int, tuple[Any, Any] | None]] = {}
        # (rule, sensor, key) -> the stored alert its repeats fold into, looked up once per key.
        # Reading the sensor's newest alerts for every key on every commit made ingest slow down
        # as alerts accumulated (one replay fell from 1,250 to 400 events/s).
        self._alert_ids: dict[tuple[str, str, str], int] = {}
        # Every match of the group being committed, announced once it is.
        self._raised: list[AlertRaised] = []
        #: Exceptions of the tuning file (reloaded with the rules) and the matches they tuned
        #: out, per rule id: counted, never raised.
        self.tuning_path = state_dir / TUNING_FILE if state_dir else None
        self.tuning = with_default(load_tuning(self.tuning_path, None), rules[1].default_tuning)
        self.tuned_out: Counter[str] = Counter()

    @classmethod
    def from_config(cls, config: DetectionConfig, state_dir: Path | None = None) -> DetectionStage:
        """The rule sets of :func:`aurora.detection.rule_sets.rule_sets`."""
        dirs, engine = _load(config, state_dir)
        for failure in engine.errors:
            log.warning("rule not loaded: %s", failure)
        log.info("detection: %d rules loaded", len(engine.rules))
        return cls(engine, config.suppression_window_s, (dirs, config), state_dir)

    def reload(self, disabled: Collection[str] = ()) -> bool:
        """Load the rules again and make them the ones new batches are matched with; ``disabled``
        rule ids stay loaded but raise no alert. A rule that fails to load now (and did not
        before) keeps the previous rules; False then."""
        with self._reload_lock:
            try:
                dirs, engine = _load(self._config, self.state_dir)
            except Exception as exc:
                log.error("rules not reloaded, the previous ones stay: %s", exc)
                return False
            known = {str(f) for f in self.engine.errors}
            new_failures = [f for f in engine.errors if str(f) not in known]
            if new_failures:
                for failure in new_failures:
                    log.error("rules not reloaded, the previous ones stay: %s", failure)
                return False
            for rule in engine.rules:
                rule.enabled = rule.id not in disabled
            own = load_tuning(self.tuning_path, self.tuning)
            tuning = with_default(own, self._config.default_tuning)
            with self._engines_lock:
                self.tuning = tuning
                # Registered before the reader can see the new generation, so its hits find it.
                generation = self._generation + 1
                self._engines[generation] = engine
                self._generation = generation
                self.engine = engine
                self.rules.replace((dirs, self._config))
                for old in sorted(self._engines)[: -_KEEP_OLD_ENGINES - 1]:
                    del self._engines[old]
        log.info(
            "detection: rules reloaded, %d rules (generation %d)", len(engine.rules), generation
        )
        return True

    def live_engine(self) -> Any:
        """What stands for the engine of the moment, across reloads (the console lists and
        toggles its rules)."""
        return _CurrentEngine(self)

    def _engine_of(self, rule_ids: Sequence[str]) -> DetectionEngine:
        """The engine of the rules the reader matched ``rule_ids`` with."""
        generation = getattr(rule_ids, "generation", None)
        if generation is None:
            return self.engine
        self._evaluated_generation = max(self._evaluated_generation, generation)
        return self._engines.get(generation, self.engine)

    def evaluate(
        self, sensor_id: str, events: Sequence[tuple[dict[str, Any], Sequence[str]]]
    ) -> list[NewAlert]:
        """Alerts for new events, each given with the ids of the rules it matched."""
        from aurora.detection.findings import SEVERITY
        from aurora.detection.process_tree import tree_root

        alerts: list[NewAlert] = []
        for event, rule_ids in events:
            engine = self._engine_of(rule_ids)
            loaded = engine.rules_by_id
            hits = [loaded[r] for r in rule_ids if r in loaded]
            # The reader disabled a rule whose regex ran past its bound: disable it here too
            # and raise its notice as a high-severity alert for the administrator.
            hits += [x for r in rule_ids if r not in loaded and (x := engine.notice(r))]
            if self.tuning:
                hits = self.tuning.untuned(hits, event, self.tuned_out)
            root: str | None = None  # the event's process-tree root, found once per event
            for match in engine.match_hits(event, hits):
                t = event.get("time")
                t_ms = t if isinstance(t, int) else int(time.time() * 1000)
                rule_id = str(match.rule.id)
                title = str(match.rule.title)
                # One alert per rule, host, correlation key and process tree: a second attack
                # by another tree gets its own alert and evidence.
                if root is None:
                    root = tree_root(event)
                key = f"{match.key}|{root}" if match.key and root else match.key or root
                admitted = self.suppressor.admit(rule_id, sensor_id, key, now=t_ms / 1000)
                if not admitted:
                    k = (rule_id, sensor_id, key)
                    n, last, _ = self._repeats.get(k, (0, 0, None))
                    # The latest repeat's evidence replaces the alert's when folded in.
                    latest = (match, event) if t_ms >= last else self._repeats[k][2]
                    self._repeats[k] = (n + 1, max(last, t_ms), latest)
                    severity = SEVERITY.get(match.rule.level, 3)
                else:
                    # A new alert: later repeats of this key fold into it, not an older one.
                    self._alert_ids.pop((rule_id, sensor_id, key), None)
                    finding = _finding(match, event, sensor_id)
                    severity = int(finding.get("severity_id", 0))
                    alerts.append(NewAlert(rule_id, sensor_id, key, severity, title, t_ms, finding))
                self._raised.append(
                    AlertRaised(
                        sensor_id=sensor_id,
                        rule_uid=rule_id,
                        dedup_key=key,
                        severity_id=severity,
                        title=title,
                        time_ms=t_ms,
                        suppressed=not admitted,
                        evidence=event,
                    )
                )
        return alerts

    def committed(self, store: Store, bus: Bus | None) -> None:
        """The group evaluated last is committed: fold its repeats in and announce its matches."""
        self.suppressor.commit()
        self._flush_repeats(store)
        # Batches are committed in the order they were read: older engines are done with.
        with self._engines_lock:
            for old in [g for g in self._engines if g < self._evaluated_generation]:
                del self._engines[old]
        raised, self._raised = self._raised, []
        if bus is not None:
            for message in raised:
                bus.publish(message)

    def abandoned(self) -> None:
        """The group's commit failed; its batches come again and are evaluated again then, so
        nothing of its evaluation may remain: not its admissions, repeats or announcements."""
        self.suppressor.rollback()
        self._repeats.clear()
        self._raised.clear()

    def _flush_repeats(self, store: Store) -> None:
        """Add suppressed repeats to the newest stored alert of the same (rule, sensor, key)."""
        if not self._repeats:
            return
        pending, self._repeats = self._repeats, {}
        if len(self._alert_ids) > _MAX_KNOWN_ALERTS:
            self._alert_ids.clear()  # looked up again when their keys repeat
        unknown: dict[str, set[tuple[str, str, str]]] = {}
        for k in pending:
            if k not in self._alert_ids:
                unknown.setdefault(k[1], set()).add(k)
        for sensor_id, keys in unknown.items():
            # One read per sensor for all its new keys, newest first (the first found is the
            # one); a deeper one only for keys whose alert is older than the newest few.
            for limit in _REPEAT_LOOKBACK:
                for alert in store.list_alerts(sensor_id=sensor_id, limit=limit):
                    k = (alert.rule_uid, sensor_id, alert.dedup_key)
                    if k in keys:
                        self._alert_ids[k] = alert.alert_id
                        keys.discard(k)
                        if not keys:
                            break
                if not keys:
                    break
        for k, (n, last, latest) in pending.items():
            alert_id = self._alert_ids.get(k)
            if alert_id is None:
                log.warning("%d repeats of %s on %s: its alert is no longer stored", n, k[0], k[1])
                continue
            finding = _finding(*latest, k[1]) if latest else None
            store.bump_alert(alert_id, last, finding, n)


def _finding(match: Any, event: dict[str, Any], sensor_id: str) -> dict[str, Any]:
    """The Detection Finding for ``match`` on ``event``, its device named by the sensor id."""
    from aurora.detection import build_finding

    device = event.get("device")
    host = dict(device) if isinstance(device, dict) else {}
    host["uid"] = sensor_id
    return build_finding(match, host=host)


def _load(config: DetectionConfig, state_dir: Path | None) -> tuple[list[str], DetectionEngine]:
    """Built-in pack + ``[detection] rule_dirs`` + the installed SigmaHQ set + rules uploaded
    through the console."""
    from aurora.detection import DetectionEngine
    from aurora.detection.rule_sets import rule_directories

    dirs = rule_directories(config, state_dir)
    engine = DetectionEngine.load(dirs, config=config)
    return [str(d) for d in dirs], engine


class _CurrentEngine:
    """The stage's current engine, whichever it is when an attribute is read."""

    def __init__(self, stage: DetectionStage) -> None:
        self._stage = stage

    def __getattr__(self, name: str) -> Any:
        if name in ("tuning", "tuned_out", "tuning_path"):
            return getattr(self._stage, name)
        return getattr(self._stage.engine, name)
