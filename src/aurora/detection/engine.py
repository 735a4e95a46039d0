"""DetectionEngine: Sigma rules (plus correlations and built-in detectors) over OCSF events.

Each event is routed by :mod:`aurora.ocsf.field_mapping` to a :class:`RouteMatcher` that holds
only the rules of its logsource, compiled for that route's OCSF paths. Matchers are built the
first time a route is seen, so loading stays fast and unseen logsources cost nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from aurora.config.detection import DetectionConfig
from aurora.detection.correlation import CorrelationEngine
from aurora.detection.findings import Finding
from aurora.detection.matcher import RouteMatcher
from aurora.detection.netscan import ScanDetector
from aurora.detection.regex import RegexTimeout
from aurora.detection.rule_cache import RuleCache
from aurora.detection.rules import BUILTIN_RULES, Rule, RuleFailure, load_rules
from aurora.detection.slow_rules import NOTICE_PREFIX, SlowRules, is_notice
from aurora.errors import UsageError
from aurora.ocsf.field_mapping import FieldMapping, Route, default_mapping


class DetectionEngine:
    """Evaluate loaded rules against one OCSF event at a time (see :meth:`match`)."""

    def __init__(
        self,
        rules: list[Rule],
        errors: list[RuleFailure],
        config: DetectionConfig | None = None,
        mapping: FieldMapping | None = None,
        correlations: Iterable[Any] = (),
        value_cache: int = 4096,
    ) -> None:
        self.value_cache = value_cache  # per-field memo size; 0 disables every cache (benchmarks)
        self.config = config or DetectionConfig()
        self.mapping = mapping or default_mapping()
        self.rules = rules
        self.errors = errors
        self.rules_by_id = {r.id: r for r in rules}
        #: Rules disabled for the process's life because a regex of theirs ran too long.
        self.too_slow = SlowRules()
        self._matchers: dict[tuple[Any, ...], RouteMatcher] = {}
        # The compiled match function per raw routing key, so that a known kind of event
        # reaches its rules with two dict lookups: Windows records by (Channel, EventID) as
        # found in `unmapped`, other events by (class_uid, activity_id).
        self._by_channel: dict[tuple[Any, Any], Callable[[dict[str, Any]], list[Rule]]] = {}
        self._by_class: dict[tuple[Any, Any], Callable[[dict[str, Any]], list[Rule]]] = {}
        self.match_rules = self._dispatcher()
        self.correlation = CorrelationEngine(list(correlations), rules, self.config, self.errors)
        self.scan_detector: ScanDetector | None = (
            ScanDetector(self.config) if self.config.scan_detection else None
        )

    @classmethod
    def load(
        cls,
        rule_dirs: list[Path],
        include_builtin: bool = True,
        config: DetectionConfig | None = None,
        cache: RuleCache | None = None,
    ) -> DetectionEngine:
        """Load every rule file under ``rule_dirs`` (and Aurora's own pack unless told not to),
        from ``cache`` when it holds these rules compiled."""
        config = config or DetectionConfig()
        for d in rule_dirs:
            if not d.exists():
                raise UsageError(f"rule path {d} does not exist")
        paths = ([BUILTIN_RULES] if include_builtin else []) + list(rule_dirs)
        result = load_rules(paths, dict(config.placeholders), cache=cache)
        return cls(result.rules, result.failures, config, correlations=result.correlations)

    @classmethod
    def from_yaml(cls, *texts: str, config: DetectionConfig | None = None) -> DetectionEngine:
        """An engine over inline rule documents (tests and tools)."""
        config = config or DetectionConfig()
        result = load_rules([], dict(config.placeholders), [(None, t) for t in texts])
        return cls(result.rules, result.failures, config, correlations=result.correlations)

    # -- rule management -------------------------------------------------------------------

    def rule(self, rule_id: str) -> Rule:
        try:
            return self.rules_by_id[rule_id]
        except KeyError:
            raise UsageError(f"no loaded rule has id {rule_id}") from None

    def enable(self, rule_id: str) -> None:
        self.rule(rule_id).enabled = True

    def disable(self, rule_id: str) -> None:
        self.rule(rule_id).enabled = False

    def matcher(self, route: Route) -> RouteMatcher:
        m = self._matchers.get(route.key)
        if m is None:
            rules = [r for r in self.rules if route.accepts(r.logsource)]
            rules = [r for r in rules if r.id not in self.too_slow]
            m = RouteMatcher(route, rules, value_cache=self.value_cache)
            self._matchers[route.key] = m
        return m

    # -- evaluation --------------------------------------------------------------------------

    def _dispatcher(self) -> Callable[[dict[str, Any]], list[Rule]]:
        """``match_rules``: a closure, so the hot path reads its tables from cells, not
        through ``self``."""
        by_channel, by_class, slow = self._by_channel, self._by_class, self._route_and_match
        too_slow = self._disable_too_slow

        def match_rules(event: dict[str, Any]) -> list[Rule]:
            """The Sigma detection rules whose condition holds for ``event`` (no side
            effects but disabling a rule whose regex ran past its bound: then the rule's
            notice is among the rules returned, see :mod:`.slow_rules`)."""
            raw = event.get("unmapped")
            try:
                try:
                    if raw.__class__ is dict and (channel := raw.get("Channel")) is not None:
                        fn = by_channel[channel, raw.get("EventID")]
                    else:
                        fn = by_class[event.get("class_uid"), event.get("activity_id")]
                except (KeyError, TypeError):  # a new kind of event, or an unhashable key
                    return slow(event)
                return fn(event)
            except RegexTimeout as exc:
                return too_slow(event, exc)

        return match_rules

    def _route_and_match(self, event: dict[str, Any]) -> list[Rule]:
        route = self.mapping.route_of(event)
        m = self._matchers.get(route.key) or self.matcher(route)
        raw = event.get("unmapped")
        if raw.__class__ is dict and (channel := raw.get("Channel")) is not None:
            key, table = (channel, raw.get("EventID")), self._by_channel
        else:
            key, table = (event.get("class_uid"), event.get("activity_id")), self._by_class
        try:
            # bounded: the keys come from event data
            if len(table) < 65536:
                table[key] = m.match
        except TypeError:
            pass
        return m.match(event)

    def _disable_too_slow(self, event: dict[str, Any], exc: RegexTimeout) -> list[Rule]:
        """Disable the rules running the regex that exceeded its bound, recompile the
        matchers without them and match ``event`` again; the notices come first."""
        notices = self.too_slow.disable_users(self.rules, exc)
        if not notices:
            raise exc  # no loaded rule runs this pattern: a bug, not a rule to disable
        self._recompile()
        return notices + self.match_rules(event)

    def notice(self, notice_id: str) -> Rule | None:
        """The notice for a rule another process disabled as too slow (an id in
        :data:`~.slow_rules.NOTICE_PREFIX` form), disabling it here too; None if unknown."""
        rule = self.rules_by_id.get(notice_id.removeprefix(NOTICE_PREFIX))
        if rule is None or not is_notice(notice_id):
            return None
        n = self.too_slow.disable(rule, "a regular expression ran past its time bound")
        self._recompile()
        return n

    def _recompile(self) -> None:
        """Drop every compiled matcher (they are rebuilt, without disabled rules, on demand)."""
        self._matchers.clear()
        self._by_channel.clear()
        self._by_class.clear()

    def match(self, event: dict[str, Any]) -> list[Finding]:
        """Findings for one OCSF event; correlation and scan state advance as a side effect.
        A rule disabled as too slow is logged (stderr in `aurora scan`), not a finding."""
        hits = [r for r in self.match_rules(event) if not is_notice(r.id)]
        return self.match_hits(event, hits)

    def match_hits(self, event: dict[str, Any], hits: list[Rule]) -> list[Finding]:
        """:meth:`match` for an event whose matching rules are already known (``match_rules``
        run elsewhere, such as the collector's batch reader process, on the same rules)."""
        out: list[Finding] = []
        corr = self.correlation
        for rule in hits:
            if rule.enabled and rule.emits:
                out.append(Finding(rule, [event]))
            if corr.active:
                out.extend(corr.observe(rule, event, _event_time(event)))
        if self.scan_detector is not None and event.get("class_uid") == 4001:
            f = self.scan_detector.observe(event, _event_time(event))
            if f is not None:
                out.append(f)
        return out


def _event_time(event: dict[str, Any]) -> float:
    t = event.get("time")
    if isinstance(t, int | float):
        return float(t) / 1000.0
    return time.time()
