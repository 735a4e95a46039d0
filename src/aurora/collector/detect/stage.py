"""Detection on ingest, the collector's side: matches of new events become alerts, committed with
their evidence, and are announced on the bus once committed.

The batch reader process (:mod:`.batch_reader`) has already run the rules' matchers and handed
over each matched event once, as a dict, with the ids of the rules it matched. Before the ingest
writer commits a group of batches it calls :meth:`DetectionStage.evaluate` on each, then takes
what the group decided (:meth:`DetectionStage.group_alerts`) into the store's transaction with the
events: new alerts, and repeats of the same (rule, sensor, key) inside the suppression window
folded into their alert. A crash therefore loses neither without the other, and a batch whose
events were all stored before (a redelivery) adds nothing. Suppression state lives in memory, but
a key this process has not seen since it started is looked up in the store once: an alert of it
raised inside the window (by a worker that died, or before a restart) takes its matches, as it
would have in the process that raised it. Every match, new or suppressed, is then published as
:class:`~aurora.collector.bus.AlertRaised`, which is where the console and rule-driven response
pick it up; nothing is announced for a group whose commit failed
(:meth:`DetectionStage.abandoned`).

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
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aurora.collector.bus import AlertRaised, Bus
from aurora.collector.detect.batch_reader import RuleSet, RuleSource
from aurora.collector.store.base import AlertRepeat, AlertStore, NewAlert
from aurora.config.detection import DetectionConfig
from aurora.detection.default_tuning import with_default
from aurora.detection.tuning import TUNING_FILE, load_tuning

if TYPE_CHECKING:
    from aurora.detection import DetectionEngine

log = logging.getLogger("aurora.collector.detect")

# Engines of older generations kept for batches still on their way to the writer; past this many,
# the oldest goes (its hits, if any still come, are evaluated with the current rules).
_KEEP_OLD_ENGINES = 4
# Keys remembered as looked up in the store; past this many they are looked up again.
_MAX_KNOWN_KEYS = 100_000


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
        # The group being evaluated (until committed or abandoned): its new alerts; per key,
        # the index of its open alert there; per index, the repeats folded into it; and the
        # repeats of alerts stored before, per key. Repeats are (how many, last time, the
        # latest repeat's match and event): a finding is built once per group, not per repeat.
        self._new: list[NewAlert] = []
        self._open: dict[tuple[str, str, str], int] = {}
        self._folds: dict[int, tuple[int, int, tuple[Any, Any] | None]] = {}
        self._repeats: dict[tuple[str, str, str], tuple[int, int, tuple[Any, Any] | None]] = {}
        # Keys looked up in the store since the stage started (see _recall), and those of them
        # the group being evaluated looked up (forgotten if it is abandoned).
        self._recalled: set[tuple[str, str, str]] = set()
        self._recalled_now: list[tuple[str, str, str]] = []
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
        self,
        sensor_id: str,
        events: Sequence[tuple[dict[str, Any], Sequence[str]]],
        store: AlertStore | None = None,
    ) -> list[NewAlert]:
        """Alerts for new events, each given with the ids of the rules it matched: those this
        call raised, with the repeats it saw of them folded in. Repeats of alerts raised by
        earlier calls of the group wait in :meth:`group_alerts`. With ``store``, a key not seen
        since the stage started is first looked up there (see :meth:`_recall`)."""
        from aurora.detection.findings import SEVERITY
        from aurora.detection.process_tree import tree_root

        first_new = len(self._new)
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
                k = (rule_id, sensor_id, key)
                if store is not None and k not in self._recalled:
                    self._recall(store, k, t_ms)
                admitted = self.suppressor.admit(rule_id, sensor_id, key, now=t_ms / 1000)
                if admitted:
                    finding = _finding(match, event, sensor_id)
                    severity = int(finding.get("severity_id", 0))
                    # Later repeats of this key in the group fold into this alert.
                    self._open[k] = len(self._new)
                    self._new.append(
                        NewAlert(rule_id, sensor_id, key, severity, title, t_ms, finding)
                    )
                else:
                    severity = SEVERITY.get(match.rule.level, 3)
                    self._repeat(k, match, event, t_ms)
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
        return [self._alert(i) for i in range(first_new, len(self._new))]

    def _recall(self, store: AlertStore, k: tuple[str, str, str], t_ms: int) -> None:
        """A key this stage has not seen since it started: if the store holds an alert of it
        raised inside the window before ``t_ms`` (by another worker that died, or by this
        collector before a restart), the suppressor takes it as this key's last admitted alert,
        so the match folds into it instead of raising a second one. Once per key."""
        if len(self._recalled) >= _MAX_KNOWN_KEYS:
            self._recalled.clear()  # looked up again when they come
        self._recalled.add(k)
        self._recalled_now.append(k)
        window_ms = self.suppressor.window_s * 1000
        if window_ms <= 0:
            return
        alert = store.latest_alert(*k)
        # The in-memory suppressor's rule: the window runs from the alert's first sighting.
        if alert is not None and t_ms - alert.first_seen_ms < window_ms:
            self.suppressor.admit(k[0], k[1], k[2], now=alert.first_seen_ms / 1000)

    def _repeat(
        self, k: tuple[str, str, str], match: Any, event: dict[str, Any], t_ms: int
    ) -> None:
        """A suppressed match, counted on its alert; the latest repeat's evidence is kept."""
        i = self._open.get(k)
        if i is not None:  # raised in this group, not stored yet
            alert = self._new[i]
            n, last, held = self._folds.get(i, (0, alert.time_ms, None))
            latest = (match, event) if t_ms >= last else held
            self._folds[i] = (n + 1, max(last, t_ms), latest)
            return
        n, last, held = self._repeats.get(k, (0, 0, None))
        latest = (match, event) if t_ms >= last else held
        self._repeats[k] = (n + 1, max(last, t_ms), latest)

    def _alert(self, i: int) -> NewAlert:
        """The group's ``i``-th new alert with the repeats folded into it."""
        alert = self._new[i]
        fold = self._folds.get(i)
        if fold is None:
            return alert
        n, last, latest = fold
        finding = _finding(*latest, alert.sensor_id) if latest else alert.finding
        return replace(alert, count=1 + n, last_ms=last, finding=finding)

    def group_alerts(self) -> list[NewAlert | AlertRepeat]:
        """What the group evaluated since the last commit decided, in the order the store
        applies it with the group's events: repeats of alerts stored before (the newest of
        their key, before this group's alerts are inserted), then the group's new alerts."""
        repeats: list[NewAlert | AlertRepeat] = [
            AlertRepeat(*k, n, last, _finding(*latest, k[1]) if latest else None)
            for k, (n, last, latest) in self._repeats.items()
        ]
        return repeats + [self._alert(i) for i in range(len(self._new))]

    def committed(self, store: AlertStore, bus: Bus | None, *, stored: bool = False) -> None:
        """The group evaluated last is committed: announce its matches. With ``stored`` its
        alerts and repeats went in with its events (:meth:`group_alerts`); without, the caller
        stored the alerts :meth:`evaluate` returned, and the repeats are folded in now."""
        self.suppressor.commit()
        if not stored and self._repeats:
            repeats = [a for a in self.group_alerts() if isinstance(a, AlertRepeat)]
            found = store.fold_repeats(repeats)
            if found < len(repeats):
                log.warning("%d repeated keys have no stored alert", len(repeats) - found)
        self._end_group()
        self._recalled_now.clear()
        # Batches are committed in the order they were read: older engines are done with.
        with self._engines_lock:
            for old in [g for g in self._engines if g < self._evaluated_generation]:
                del self._engines[old]
        raised, self._raised = self._raised, []
        if bus is not None and raised:
            bus.publish_many(raised)  # one wait for the bus, not one per match

    def abandoned(self) -> None:
        """The group's commit failed; its batches come again and are evaluated again then, so
        nothing of its evaluation may remain: not its admissions, repeats, announcements, nor
        the keys it recalled from the store (the suppressor forgot what they taught it)."""
        self.suppressor.rollback()
        self._end_group()
        self._raised.clear()
        self._recalled.difference_update(self._recalled_now)
        self._recalled_now.clear()

    def _end_group(self) -> None:
        self._repeats.clear()
        self._new.clear()
        self._open.clear()
        self._folds.clear()


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
