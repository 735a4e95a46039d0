"""Mapping between store records and SQL rows (column lists, row conversion, WHERE clauses).

Both SQL backends use the same column lists and conversions (the extraction of indexed event
fields lives in :mod:`.packed_batch`, the events area's search filter in :mod:`.sql_events`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import orjson

from aurora.collector.store.base import (
    AlertRecord,
    CommandRecord,
    HostRecord,
    HostStatus,
)

# --- hosts ------------------------------------------------------------------------------------

_HOST_JSON = {"ip_addresses", "capabilities", "counters"}
_HOST_BOOL = {"revoked", "connected"}
_HOST_COLS = [f for f in HostRecord.__dataclass_fields__ if f != "high_water"]
HOST_SELECT = (
    "SELECT "
    + ", ".join(f"h.{c}" for c in _HOST_COLS)
    + ", COALESCE(s.high_water, 0) FROM hosts h LEFT JOIN sequences s USING (sensor_id)"
)


def _column_value(key: str, val: Any) -> Any:
    """A :class:`HostRecord` field as the ``hosts`` table keeps it."""
    if key in _HOST_JSON:
        return orjson.dumps(list(val) if isinstance(val, tuple) else val).decode()
    if key in _HOST_BOOL:
        return int(val)
    return val


def host_values(host: HostRecord) -> dict[str, Any]:
    return {k: _column_value(k, v) for k, v in asdict(host).items() if k != "high_water"}


def host_from_row(row: Sequence[Any]) -> HostRecord:
    kw: dict[str, Any] = {}
    for col, val in zip(_HOST_COLS, row, strict=False):
        if col in _HOST_JSON:
            parsed = orjson.loads(val)
            kw[col] = tuple(parsed) if isinstance(parsed, list) else parsed
        elif col in _HOST_BOOL:
            kw[col] = bool(val)
        else:
            kw[col] = val
    kw["high_water"] = int(row[len(_HOST_COLS)])
    return HostRecord(**kw)


def status_updates(s: HostStatus) -> tuple[list[str], list[Any]]:
    sets = ["last_seen_ms = MAX(last_seen_ms, ?)"]
    params: list[Any] = [s.seen_ms]
    for col, val in s.changes().items():
        sets.append(f"{col} = ?")
        params.append(_column_value(col, val))
    return sets, params


# --- commands ---------------------------------------------------------------------------------

_COMMAND_COLS = list(CommandRecord.__dataclass_fields__)
COMMAND_SELECT = "SELECT " + ", ".join(_COMMAND_COLS) + " FROM commands"


def command_values(c: CommandRecord) -> dict[str, Any]:
    out = asdict(c)
    out["params"] = orjson.dumps(c.params).decode()
    out["result"] = orjson.dumps(c.result).decode()
    return out


def command_from_row(row: Sequence[Any]) -> CommandRecord:
    kw = dict(zip(_COMMAND_COLS, row, strict=True))
    kw["params"] = orjson.loads(kw["params"])
    kw["result"] = orjson.loads(kw["result"])
    return CommandRecord(**kw)


# --- alerts -----------------------------------------------------------------------------------

_ALERT_COLS = list(AlertRecord.__dataclass_fields__)
ALERT_SELECT = "SELECT " + ", ".join(_ALERT_COLS) + " FROM alerts"


def alert_from_row(row: Sequence[Any]) -> AlertRecord:
    kw = dict(zip(_ALERT_COLS, row, strict=True))
    kw["finding"] = orjson.loads(kw["finding"])
    return AlertRecord(**kw)
