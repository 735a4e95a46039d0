"""Writers for `aurora scan` findings (table, jsonl, csv), the progress bar and the summary."""

from __future__ import annotations

import csv
import sys
import time
from datetime import UTC, datetime
from typing import IO, Any

import orjson

LEVELS = ("critical", "high", "medium", "low", "informational")
CSV_FIELDS = ("time", "level", "rule_id", "rule", "host", "source", "process", "command_line")


def _process(ev: dict[str, Any]) -> dict[str, Any]:
    for key in ("process", "actor"):
        node = ev.get(key)
        if isinstance(node, dict):
            return node.get("process", node) if key == "actor" else node
    return {}


def finding_row(finding: dict[str, Any], source: str) -> dict[str, str]:
    ev = finding["evidences"][-1]["data"] if finding.get("evidences") else {}
    proc = _process(ev)
    t = finding.get("time")
    when = datetime.fromtimestamp(t / 1000, UTC).isoformat() if isinstance(t, int) else ""
    return {
        "time": when,
        "level": finding["unmapped"]["rule_level"],
        "rule_id": finding["finding_info"]["analytic"]["uid"],
        "rule": finding["finding_info"]["title"],
        "host": str((finding.get("device") or {}).get("hostname", "")),
        "source": source,
        "process": str((proc.get("file") or {}).get("path", "")),
        "command_line": str(proc.get("cmd_line", "")),
    }


class FindingWriter:
    """Streams findings in one format; the table format is column-aligned per row."""

    def __init__(self, fmt: str, out: IO[str]) -> None:
        self.fmt = fmt
        self.out = out
        self._csv: Any = None
        if fmt == "csv":
            self._csv = csv.DictWriter(out, fieldnames=CSV_FIELDS)
            self._csv.writeheader()
        elif fmt == "table":
            out.write(f"{'TIME':<32} {'LEVEL':<13} {'RULE':<60} {'HOST':<16} PROCESS\n")

    def write(self, finding: dict[str, Any], source: str) -> None:
        if self.fmt == "jsonl":
            self.out.write(orjson.dumps(finding).decode() + "\n")
            return
        row = finding_row(finding, source)
        if self._csv is not None:
            self._csv.writerow(row)
            return
        self.out.write(
            f"{row['time']:<32} {row['level']:<13} {row['rule'][:60]:<60} {row['host'][:16]:<16} "
            f"{row['command_line'] or row['process']}\n"
        )


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
        ("input errors", f"{stats['input_errors']}"),
        ("elapsed", f"{stats['elapsed']:.2f} s"),
        ("events/s", f"{stats['events_per_s']:,.0f}"),
    ]
    width = max(len(k) for k, _ in rows)
    line = "+" + "-" * (width + 2) + "+" + "-" * 14 + "+"
    body = "\n".join(f"| {k:<{width}} | {v:>12} |" for k, v in rows)
    return f"{line}\n{body}\n{line}"
