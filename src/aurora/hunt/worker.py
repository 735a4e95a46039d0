"""Scanning one input: read, normalise, match and build the findings of one file, in whichever
process runs it (the scan itself, or a worker of its pool).

What needs state across inputs stays with the caller: correlations and the network scan detector
see the events a :class:`FileScan` hands back, in input order, so the output does not depend on
which worker finished first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aurora.detection import DetectionEngine, build_finding
from aurora.detection.findings import Finding
from aurora.detection.rules import Rule
from aurora.detection.slow_rules import is_notice
from aurora.detection.tuning import Tuning
from aurora.hunt.filters import FindingFilter
from aurora.hunt.provenance import attach, event_time, matched_fields, source_of
from aurora.hunt.sources import Input, read_input

NETWORK_ACTIVITY = 4001  # the class the network scan detector reads


@dataclass
class Hit:
    """One event some rule matched (or the scan detector must see), with its ready findings."""

    record: int
    rule_ids: list[str]
    findings: list[dict[str, Any]]
    event: dict[str, Any] | None  # only when correlations or the scan detector need it


@dataclass
class FileScan:
    """What scanning one input produced, for the caller to write in input order."""

    path: Path
    size: int
    events: int = 0
    hits: list[Hit] = field(default_factory=list)
    tuned_out: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class ScanPlan:
    """Everything a worker needs besides the input: inherited by forked workers as it is."""

    engine: DetectionEngine
    keep: FindingFilter
    tuning: Tuning

    def needs_event(self, event: dict[str, Any], matched: bool) -> bool:
        """Whether the caller's correlations (any matched event) or scan detector (network
        events) must see ``event``; only those events travel back from a worker."""
        if matched and self.engine.correlation.active:
            return True
        return self.engine.scan_detector is not None and event.get("class_uid") == NETWORK_ACTIVITY


def finding_for(
    rule_or_finding: Finding,
    event: dict[str, Any],
    inp: Input,
    record: int,
    engine: DetectionEngine,
) -> dict[str, Any]:
    """The OCSF finding for a match, with its source and (for Sigma rules) matched fields."""
    finding = build_finding(rule_or_finding, event)
    rule = rule_or_finding.rule
    matched = (
        matched_fields(rule, event, engine.mapping.route_of(event))
        if isinstance(rule, Rule)
        else []
    )
    attach(finding, source_of(event, inp.path, record, inp.kind), matched)
    return finding


def scan_input(plan: ScanPlan, inp: Input) -> FileScan:
    """Match every event of ``inp``; findings of plain rules are built here, kept by the plan's
    filter, and tuned-out matches counted per rule instead of reported."""
    out = FileScan(inp.path, inp.size)
    engine, keep, tuning = plan.engine, plan.keep, plan.tuning
    match_rules, needs_event = engine.match_rules, plan.needs_event

    def on_error(path: Path, message: str) -> None:
        out.errors.append((path, message))

    for record, ev in read_input(inp, on_error):
        out.events += 1
        rules = [r for r in match_rules(ev) if not is_notice(r.id)]
        if rules and tuning:
            rules = tuning.untuned(rules, ev, out.tuned_out)
        stateful = needs_event(ev, bool(rules))
        if not rules and not stateful:
            continue
        ev_time = event_time(ev)
        findings = [
            finding_for(Finding(r, [ev]), ev, inp, record, engine)
            for r in rules
            if r.enabled and r.emits and keep.keeps(r.level, r.id, r.tags, ev_time)
        ]
        out.hits.append(Hit(record, [r.id for r in rules], findings, ev if stateful else None))
    return out
