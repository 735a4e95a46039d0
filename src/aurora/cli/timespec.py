"""Times on the command line: ISO-8601 (``2026-01-31T12:00:00Z``) or relative (``15m``, ``7d``).

Relative times count back from now; an ISO time without a zone is taken as UTC.
"""

from __future__ import annotations

import datetime as dt
import re
import time

from aurora.errors import UsageError

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_time_ms(text: str, *, now_ms: int | None = None) -> int:
    """Milliseconds since the epoch for ``text``; UsageError with a hint otherwise."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    value = text.strip()
    m = _RELATIVE.match(value.lower())
    if m:
        return now - int(m.group(1)) * _UNIT_S[m.group(2)] * 1000
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"invalid time {text!r}: use ISO-8601 (2026-01-31T12:00:00Z) or 15m, 2h, 7d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


def format_ms(ms: int) -> str:
    """Compact UTC rendering for tables; ``-`` for zero (never)."""
    if ms <= 0:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
