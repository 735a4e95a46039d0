"""CSV export of the lists the console shows (alerts, hosts, events, audit): one header row, one
row per item, times in ISO 8601 UTC, and cells a spreadsheet would run as a formula defused.

Every list route takes ``?format=csv``; the rows are the ones the JSON page would hold, but a
CSV page is up to :data:`EXPORT_LIMIT` items long, so one download holds a whole search.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import Query
from fastapi.responses import Response

from aurora.api.auth import now_ms
from aurora.api.deps import PageParams

EXPORT_LIMIT = 10_000
ListFormat = Annotated[
    Literal["json", "csv"],
    Query(alias="format", description="json (a page) or csv (a download)"),
]
# A spreadsheet treats a cell starting with these as a formula (CSV injection): quoting it with
# a leading apostrophe keeps the text and stops it from running. Tab and CR start formulas too.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Columns holding instants (ms since the epoch), written as ISO 8601 so spreadsheets read them.
TIME_COLUMNS = frozenset({"time_ms", "first_seen_ms", "last_seen_ms"})


def export_page(page: PageParams, fmt: str) -> PageParams:
    """The page to read: the caller's for JSON, up to EXPORT_LIMIT rows (same offset) for CSV."""
    return PageParams(EXPORT_LIMIT, page.offset) if fmt == "csv" else page


def safe_cell(value: Any, column: str = "") -> str:
    """One value as CSV text: times as ISO 8601, lists joined with '; ', objects as JSON."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int) and column in TIME_COLUMNS:
        text = _iso(value) if value > 0 else ""
    elif isinstance(value, list | tuple) and all(not isinstance(v, dict | list) for v in value):
        text = "; ".join(str(v) for v in value)
    elif isinstance(value, dict | list | tuple):
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_response(name: str, columns: Sequence[str], items: Iterable[dict[str, Any]]) -> Response:
    """A CSV download of ``items`` with ``columns`` (missing keys are empty cells)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for item in items:
        writer.writerow([safe_cell(item.get(c), c) for c in columns])
    stamp = datetime.fromtimestamp(now_ms() / 1000, UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="aurora-{name}-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


ALERT_COLUMNS = (
    "alert_id",
    "first_seen_ms",
    "last_seen_ms",
    "severity",
    "status",
    "title",
    "rule_uid",
    "hostname",
    "sensor_id",
    "assignee",
    "count",
    "attacks",
)
HOST_COLUMNS = (
    "sensor_id",
    "hostname",
    "os_name",
    "os_version",
    "kernel_version",
    "sensor_version",
    "ip_addresses",
    "connected",
    "health",
    "health_reasons",
    "isolation",
    "revoked",
    "last_seen_ms",
    "spool_bytes",
    "spool_max_bytes",
    "drops_kernel",
    "drops_spool_evicted",
    "drops_spool_corrupt",
)
EVENT_COLUMNS = (
    "id",
    "time_ms",
    "sensor_id",
    "hostname",
    "class_uid",
    "class_name",
    "pid",
    "process_name",
    "event",
)
AUDIT_COLUMNS = (
    "time_ms",
    "actor",
    "action",
    "target",
    "host",
    "result",
    "command_state",
    "command_message",
    "detail",
)
