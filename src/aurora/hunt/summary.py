"""The hunt summary an analyst reads first: findings per rule and host, the time span and the
ATT&CK tactics covered, counted from the findings as they are written (levels are in the
figures table printed with it)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

DEFAULT_TOP = 10


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


class HuntSummary:
    """Adds up findings; :meth:`render` gives the text printed on stderr after a scan."""

    def __init__(self, top: int = DEFAULT_TOP) -> None:
        self.top = top
        self.total = 0
        self.by_rule: Counter[str] = Counter()
        self.by_host: Counter[str] = Counter()
        self.tactics: set[str] = set()
        self.first_ms: int | None = None
        self.last_ms: int | None = None

    def add(self, finding: dict[str, Any]) -> None:
        self.total += 1
        analytic = finding["finding_info"]["analytic"]
        self.by_rule[f"{analytic['name']} ({analytic['uid']})"] += 1
        origin = finding["unmapped"].get("source") or {}
        self.by_host[origin.get("computer") or "-"] += 1
        for attack in finding.get("attacks") or []:
            for tactic in attack.get("tactics") or []:
                self.tactics.add(f"{tactic['uid']} {tactic['name']}")
        t = origin.get("event_time")
        if isinstance(t, int):
            self.first_ms = t if self.first_ms is None else min(self.first_ms, t)
            self.last_ms = t if self.last_ms is None else max(self.last_ms, t)

    def render(self) -> str:
        # findings per level are in the figures table printed just before
        lines = [f"top rules (of {len(self.by_rule)}):"]
        lines += [f"  {n:>6}  {rule}" for rule, n in self.by_rule.most_common(self.top)]
        lines.append(f"top hosts (of {len(self.by_host)}):")
        lines += [f"  {n:>6}  {host}" for host, n in self.by_host.most_common(self.top)]
        lines.append(f"first seen: {_when(self.first_ms)}")
        lines.append(f"last seen:  {_when(self.last_ms)}")
        lines.append(
            f"ATT&CK tactics ({len(self.tactics)}): {', '.join(sorted(self.tactics)) or '-'}"
        )
        return "\n".join(lines)
