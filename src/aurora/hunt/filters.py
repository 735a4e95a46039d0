"""Which findings `aurora scan` keeps: minimum level, event time window, rule ids and tags.

Values are checked once, up front, so a typo is a one-line usage error before any input is read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aurora.errors import UsageError

# Most severe first, the order Sigma documents them.
LEVEL_RANK = {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
_TAG = re.compile(r"^[a-z0-9_-]+\.[a-z0-9_.-]+$")


@dataclass(frozen=True)
class FindingFilter:
    """A finding is kept when every given condition holds; an empty filter keeps everything."""

    min_rank: int = 0
    since_ms: int | None = None
    until_ms: int | None = None
    rule_ids: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    def keeps(self, level: str, rule_id: str, tags: Sequence[str], event_ms: int | None) -> bool:
        if LEVEL_RANK.get(level, LEVEL_RANK["medium"]) < self.min_rank:
            return False
        if self.rule_ids and rule_id not in self.rule_ids:
            return False
        if self.tags and not self.tags.intersection(t.lower() for t in tags):
            return False
        if self.since_ms is not None or self.until_ms is not None:
            # an event without a time cannot be placed in a window, so a window leaves it out
            if event_ms is None:
                return False
            if self.since_ms is not None and event_ms < self.since_ms:
                return False
            if self.until_ms is not None and event_ms > self.until_ms:
                return False
        return True


def build_filter(
    min_level: str | None,
    since_ms: int | None,
    until_ms: int | None,
    rule_ids: Sequence[str],
    tags: Sequence[str],
    known_rule_ids: set[str],
) -> FindingFilter:
    """Check the command-line values and build the filter; UsageError names the bad value."""
    rank = 0
    if min_level is not None:
        level = min_level.strip().lower()
        if level not in LEVEL_RANK:
            raise UsageError(f"scan: --min-level {min_level!r}: use one of {', '.join(LEVEL_RANK)}")
        rank = LEVEL_RANK[level]
    if since_ms is not None and until_ms is not None and since_ms > until_ms:
        raise UsageError("scan: --since is after --until: nothing could match")
    for rule_id in rule_ids:
        if rule_id not in known_rule_ids:
            raise UsageError(f"scan: --rule {rule_id!r}: no loaded rule has this id")
    for tag in tags:
        if not _TAG.match(tag.lower()):
            raise UsageError(f"scan: --tag {tag!r}: a Sigma tag looks like attack.t1059")
    return FindingFilter(
        min_rank=rank,
        since_ms=since_ms,
        until_ms=until_ms,
        rule_ids=frozenset(rule_ids),
        tags=frozenset(t.lower() for t in tags),
    )
