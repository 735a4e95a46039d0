"""Writers for `aurora scan` findings (table, jsonl, csv, timeline), the progress bar and the
figures table."""

from __future__ import annotations

import csv
import sys
import time
from datetime import UTC, datetime
from typing import IO, Any

import orjson

LEVELS = ("critical", "high", "medium", "low", "informational")
CSV_FIELDS = (
    "time",
    "level",
    "rule_id",
    "rule",
    "technique",
    "computer",
    "channel",
    "event_id",
    "record_id",
    "file",
    "process",
    "command_line",
    "matched",
)
# Hayabusa-like: what happened when and where, one finding a row, sorted by event time.
TIMELINE_FIELDS = (
    "time",
    "computer",
    "channel",
    "event_id",
    "level",
    "rule",
    "technique",
    "details",
    "file",
    "record_id",
)
FORMATS = ("table", "jsonl", "csv", "timeline")


def _process(ev: dict[str, Any]) -> dict[str, Any]:
    for key in ("process", "actor"):
        node = ev.get(key)
        if isinstance(node, dict):
            return node.get("process", node) if key == "actor" else node
    return {}


def describe(matched: list[dict[str, Any]]) -> str:
    """``Field=value; ...``: the matched fields in one line, for table, csv and timeline."""
    return "; ".join(f"{m['field']}={m['value']}" for m in matched)


def _iso(ms: Any) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if isinstance(ms, int) else ""


def finding_row(finding: dict[str, Any]) -> dict[str, str]:
    """The columns of one finding for csv, table and timeline."""
    ev = finding["evidences"][-1]["data"] if finding.get("evidences") else {}
    proc = _process(ev)
    unmapped = finding["unmapped"]
    origin = unmapped.get("source") or {}
    techniques = [
        (a.get("sub_technique") or a.get("technique") or {}).get("uid", "")
        for a in finding.get("attacks") or []
    ]
    return {
        "time": _iso(origin.get("event_time", finding.get("time"))),
        "level": unmapped["rule_level"],
        "rule_id": finding["finding_info"]["analytic"]["uid"],
        "rule": finding["finding_info"]["title"],
        "technique": " ".join(t for t in techniques if t),
        "computer": str(
            origin.get("computer") or (finding.get("device") or {}).get("hostname", "")
        ),
        "channel": str(origin.get("channel", "")),
        "event_id": str(origin.get("event_id", "")),
        "record_id": str(origin.get("record_id", "")),
        "file": str(origin.get("file", "")),
        "process": str((proc.get("file") or {}).get("path", "")),
        "command_line": str(proc.get("cmd_line", "")),
        "matched": describe(unmapped.get("matched_fields") or []),
    }


class FindingWriter:
    """Streams findings in one format; the timeline is sorted, so it is written at close."""

    def __init__(self, fmt: str, out: IO[str]) -> None:
        self.fmt = fmt
        self.out = out
        self._csv: Any = None
        self._timeline: list[tuple[int, dict[str, str]]] = []
        if fmt == "csv":
            self._csv = csv.DictWriter(out, fieldnames=CSV_FIELDS)
            self._csv.writeheader()
        elif fmt == "table":
            out.write(
                f"{'TIME':<32} {'LEVEL':<13} {'RULE':<50} {'COMPUTER':<28} {'CHANNEL':<40} "
                f"{'EVENT':>5} {'RECORD':>8} {'FILE':<30} DETAILS\n"
            )

    def write(self, finding: dict[str, Any]) -> None:
        if self.fmt == "jsonl":
            self.out.write(orjson.dumps(finding).decode() + "\n")
            return
        row = finding_row(finding)
        if self._csv is not None:
            self._csv.writerow(row)
        elif self.fmt == "timeline":
            row["details"] = row["matched"] or row["command_line"] or row["process"]
            when = (finding["unmapped"].get("source") or {}).get("event_time")
            self._timeline.append((when if isinstance(when, int) else -1, row))
        else:
            self.out.write(
                f"{row['time']:<32} {row['level']:<13} {row['rule'][:50]:<50} "
                f"{row['computer'][:28]:<28} {row['channel'][:40]:<40} {row['event_id']:>5} "
                f"{row['record_id']:>8} {row['file'][-30:]:<30} "
                f"{row['matched'] or row['command_line'] or row['process']}\n"
            )

    def close(self) -> None:
        """Write what waits for the end: the timeline, oldest event first."""
        if self.fmt != "timeline":
            return
        # a stable sort: ties keep the order the records were read in; no time sorts first
        self._timeline.sort(key=lambda entry: entry[0])
        writer = csv.DictWriter(self.out, fieldnames=TIMELINE_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(row for _, row in self._timeline)
        self._timeline = []


class Progress:
    """A one-line progress bar on stderr, by bytes of input read; silent unless enabled."""

    def __init__(self, total_bytes: int, enabled: bool) -> None:
        self.total = max(total_bytes, 1)
        self.enabled = enabled
        self._last = 0.0
        self._start = time.monotonic()

    def update(self, done_bytes: int, events: int, findings: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < 0.2):
            return
        self._last = now
        frac = min(done_bytes / self.total, 1.0)
        bar = "#" * int(frac * 30)
        rate = events / max(now - self._start, 1e-9)
        sys.stderr.write(
            f"\r[{bar:<30}] {frac * 100:5.1f}%  {events} events  {findings} findings  "
            f"{rate:,.0f} ev/s"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def summary_table(stats: dict[str, Any]) -> str:
    rows = [
        ("rules loaded", f"{stats['rules']}"),
        ("rules failed", f"{stats['rule_errors']}"),
        ("files", f"{stats['files']}"),
        ("events", f"{stats['events']}"),
        ("findings", f"{stats['findings']}"),
    ]
    rows += [(f"  {lvl}", f"{stats['by_level'].get(lvl, 0)}") for lvl in LEVELS]
    rows += [
        ("tuned out", f"{stats.get('tuned_out', 0)}"),
        ("input errors", f"{stats['input_errors']}"),
        ("elapsed", f"{stats['elapsed']:.2f} s"),
        ("events/s", f"{stats['events_per_s']:,.0f}"),
    ]
    width = max(len(k) for k, _ in rows)
    line = "+" + "-" * (width + 2) + "+" + "-" * 14 + "+"
    body = "\n".join(f"| {k:<{width}} | {v:>12} |" for k, v in rows)
    return f"{line}\n{body}\n{line}"
