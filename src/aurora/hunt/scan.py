"""Offline hunting: run the detection engine over inputs and stream findings to a writer.

Inputs are scanned one file each, in this process or, given more than one job and more than one
input, by a pool of forked worker processes (which inherit the loaded engine); results are taken
in input order, so the output is the same whichever worker finishes first.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from aurora.detection import DetectionEngine, build_finding
from aurora.detection.netscan import NETWORK_SCAN
from aurora.detection.tuning import Tuning
from aurora.gcpolicy import settle_after_startup
from aurora.hunt.filters import FindingFilter
from aurora.hunt.output import FindingWriter, Progress
from aurora.hunt.provenance import attach, event_time, source_of
from aurora.hunt.sources import Input, collect_inputs
from aurora.hunt.summary import HuntSummary
from aurora.hunt.worker import FileScan, Hit, ScanPlan, scan_input

log = logging.getLogger(__name__)

# The plan a forked worker scans with: set in the parent just before the pool forks.
_PLAN: ScanPlan | None = None


def finding_rule_ids(engine: DetectionEngine) -> set[str]:
    """Every rule id a finding of ``engine`` can carry: Sigma rules, correlations, built-ins."""
    ids = {r.id for r in engine.rules} | {c.id for c in engine.correlation.infos}
    if engine.scan_detector is not None:
        ids.add(NETWORK_SCAN.id)
    return ids


#: Below this much input a pool costs more than it saves (each worker builds the matchers of
#: the routes it meets, and results travel back pickled), so one process scans it.
POOL_MIN_BYTES = 64 << 20


def default_jobs(inputs: list[Input]) -> int:
    """One process per core for large inputs, one process for small ones."""
    if sum(i.size for i in inputs) < POOL_MIN_BYTES:
        return 1
    return max(1, len(os.sched_getaffinity(0)))


def _scan_in_worker(inp: Input) -> FileScan:
    assert _PLAN is not None, "worker started without a plan"
    return scan_input(_PLAN, inp)


class Hunt:
    """One scan over a set of paths with one engine; :meth:`run` returns summary figures."""

    def __init__(
        self,
        engine: DetectionEngine,
        writer: FindingWriter,
        progress: bool,
        keep: FindingFilter | None = None,
        summary: HuntSummary | None = None,
        tuning: Tuning | None = None,
        jobs: int | None = 1,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.show_progress = progress
        self.plan = ScanPlan(engine, keep or FindingFilter(), tuning or Tuning())
        self.summary = summary or HuntSummary()
        self.jobs = jobs  # None: decided by the size of the input (default_jobs)
        self.errors: list[tuple[Path, str]] = []
        #: Matches tuned out by the tuning file, per rule id: counted, not reported.
        self.tuned_out: Counter[str] = Counter()

    def _results(self, inputs: list[Input]) -> Iterator[FileScan]:
        jobs = min(self.jobs or default_jobs(inputs), len(inputs))
        # The loaded rules move to the permanent generation: collections never walk them again,
        # and a forked worker's collections never touch (and so copy) their pages.
        settle_after_startup()
        if jobs <= 1:
            for inp in inputs:
                yield scan_input(self.plan, inp)
            return
        global _PLAN
        _PLAN = self.plan
        try:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                # imap keeps input order; chunks of several small files save a round trip
                # each, and eight chunks per worker keep every worker busy to the end
                chunk = max(1, len(inputs) // (jobs * 8))
                yield from pool.imap(_scan_in_worker, inputs, chunksize=chunk)
        finally:
            _PLAN = None

    def run(self, paths: Iterable[Path]) -> dict[str, Any]:
        inputs = collect_inputs(paths)
        by_input = {inp.path: inp for inp in inputs}
        progress = Progress(sum(i.size for i in inputs), self.show_progress)
        by_level: Counter[str] = Counter()
        events = findings = done = 0
        start = time.perf_counter()
        for scanned in self._results(inputs):
            events += scanned.events
            self.tuned_out.update(scanned.tuned_out)
            for path, message in scanned.errors:
                self.errors.append((path, message))
                log.warning("%s: %s", path, message)
            inp = by_input[scanned.path]
            for hit in scanned.hits:
                for finding in hit.findings + self._stateful(hit, inp):
                    self.writer.write(finding)
                    self.summary.add(finding)
                    by_level[finding["unmapped"]["rule_level"]] += 1
                    findings += 1
            done += scanned.size
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
            "tuned_out": sum(self.tuned_out.values()),
            "input_errors": len(self.errors),
            "elapsed": elapsed,
            "events_per_s": events / elapsed if elapsed > 0 else 0.0,
        }

    def _stateful(self, hit: Hit, inp: Input) -> list[dict[str, Any]]:
        """Findings of correlations and the scan detector, which see events in input order."""
        event = hit.event
        if event is None:
            return []
        engine, keep = self.engine, self.plan.keep
        rules = [engine.rules_by_id[r] for r in hit.rule_ids if r in engine.rules_by_id]
        out = []
        for match in engine.match_hits(event, rules):
            if match.rule.id in engine.rules_by_id:
                continue  # a plain rule's finding: built by the worker already
            rule = match.rule
            if not keep.keeps(rule.level, rule.id, rule.tags, event_time(event)):
                continue
            finding = build_finding(match, event)
            attach(finding, source_of(event, inp.path, hit.record, inp.kind), [])
            out.append(finding)
        return out
