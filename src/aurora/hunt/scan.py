"""Offline hunting: run the detection engine over inputs and stream findings to a writer."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aurora.detection import DetectionEngine, build_finding
from aurora.detection.netscan import NETWORK_SCAN
from aurora.detection.rules import Rule
from aurora.hunt.filters import FindingFilter
from aurora.hunt.output import FindingWriter, Progress
from aurora.hunt.provenance import attach, event_time, matched_fields, source_of
from aurora.hunt.sources import collect_inputs, read_input
from aurora.hunt.summary import HuntSummary

log = logging.getLogger(__name__)


def finding_rule_ids(engine: DetectionEngine) -> set[str]:
    """Every rule id a finding of ``engine`` can carry: Sigma rules, correlations, built-ins."""
    ids = {r.id for r in engine.rules} | {c.id for c in engine.correlation.infos}
    if engine.scan_detector is not None:
        ids.add(NETWORK_SCAN.id)
    return ids


class Hunt:
    """One scan over a set of paths with one engine; :meth:`run` returns summary figures."""

    def __init__(
        self,
        engine: DetectionEngine,
        writer: FindingWriter,
        progress: bool,
        keep: FindingFilter | None = None,
        summary: HuntSummary | None = None,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.show_progress = progress
        self.keep = keep or FindingFilter()
        self.summary = summary or HuntSummary()
        self.errors: list[tuple[Path, str]] = []

    def _error(self, path: Path, message: str) -> None:
        self.errors.append((path, message))
        log.warning("%s: %s", path, message)

    def run(self, paths: Iterable[Path]) -> dict[str, Any]:
        inputs = collect_inputs(paths)
        progress = Progress(sum(i.size for i in inputs), self.show_progress)
        by_level: Counter[str] = Counter()
        events = findings = done = 0
        start = time.perf_counter()
        match = self.engine.match
        route_of = self.engine.mapping.route_of
        for inp in inputs:
            for record, ev in read_input(inp, self._error):
                events += 1
                ev_time = event_time(ev)
                for f in match(ev):
                    if not self.keep.keeps(f.rule.level, f.rule.id, f.rule.tags, ev_time):
                        continue
                    finding = build_finding(f, ev)
                    matched = (
                        matched_fields(f.rule, ev, route_of(ev)) if isinstance(f.rule, Rule) else []
                    )
                    attach(finding, source_of(ev, inp.path, record, inp.kind), matched)
                    self.writer.write(finding)
                    self.summary.add(finding)
                    by_level[f.rule.level] += 1
                    findings += 1
                if events & 1023 == 0:
                    progress.update(done, events, findings)
            done += inp.size
            progress.update(done, events, findings)
        progress.update(done, events, findings, force=True)
        progress.close()
        self.writer.close()
        elapsed = time.perf_counter() - start
        return {
            "rules": len(self.engine.rules),
            "rule_errors": len(self.engine.errors),
            "files": len(inputs),
            "events": events,
            "findings": findings,
            "by_level": dict(by_level),
            "input_errors": len(self.errors),
            "elapsed": elapsed,
            "events_per_s": events / elapsed if elapsed > 0 else 0.0,
        }
