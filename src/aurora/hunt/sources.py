"""Inputs of an offline scan: EVTX files (any channel) and JSON logs, walked from paths.

Every input yields OCSF event dicts. Windows records (EVTX, or JSON in the evtx ``{"Event":
...}`` shape) go through :func:`aurora.ocsf.windows.normalise_record`; JSON that is already OCSF
passes through. Problems (a corrupt EVTX chunk, a bad JSON line) are reported to ``on_error``
and skipped, so one bad chunk never stops a hunt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from evtx import PyEvtxParser

from aurora.errors import UsageError
from aurora.ocsf.windows import normalise_record

EVTX_SUFFIXES = {".evtx"}
JSON_SUFFIXES = {".json", ".jsonl", ".ndjson", ".log"}
ErrorSink = Callable[[Path, str], None]


@dataclass(frozen=True)
class Input:
    path: Path
    kind: str  # evtx | json
    size: int


def collect_inputs(paths: Iterable[Path]) -> list[Input]:
    """Files to scan: given files as they are, directories walked for .evtx/.json* files."""
    out: list[Input] = []
    for p in paths:
        if not p.exists():
            raise UsageError(f"{p}: no such file or directory")
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for f in files:
            suffix = f.suffix.lower()
            if suffix in EVTX_SUFFIXES or _is_evtx(f):
                out.append(Input(f, "evtx", f.stat().st_size))
            elif suffix in JSON_SUFFIXES or not p.is_dir():
                out.append(Input(f, "json", f.stat().st_size))
    return out


def _is_evtx(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(8) == b"ElfFile\x00"
    except OSError:
        return False


def _to_ocsf(obj: Any) -> dict[str, Any] | None:
    if not isinstance(obj, dict):
        return None
    if "Event" in obj and isinstance(obj["Event"], dict) and "System" in obj["Event"]:
        return normalise_record(obj)
    return obj


def read_evtx(path: Path, on_error: ErrorSink) -> Iterator[dict[str, Any]]:
    try:
        records = PyEvtxParser(str(path)).records_json()
    except (OSError, RuntimeError) as exc:
        on_error(path, f"cannot open EVTX: {exc}")
        return
    record: Any
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except RuntimeError as exc:  # the parser reports a bad chunk, then moves to the next
            on_error(path, str(exc).splitlines()[0])
            continue
        try:
            yield normalise_record(orjson.loads(record["data"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            on_error(path, f"record {record.get('event_record_id')}: {exc}")


def read_json(path: Path, on_error: ErrorSink) -> Iterator[dict[str, Any]]:
    """JSON lines, a JSON array, or concatenated (pretty-printed) JSON objects."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        on_error(path, f"cannot read: {exc}")
        return
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            on_error(path, f"invalid JSON array: {exc}")
            return
        for item in items:
            ev = _to_ocsf(item)
            if ev is not None:
                yield ev
        return
    decoder = json.JSONDecoder()
    pos, end, line = 0, len(text), 1
    while pos < end:
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos >= end:
            break
        try:
            obj, nxt = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            line = text.count("\n", 0, pos) + 1
            on_error(path, f"line {line}: invalid JSON ({exc.msg}); skipped")
            nl = text.find("\n", pos)
            pos = end if nl < 0 else nl + 1
            continue
        pos = nxt
        ev = _to_ocsf(obj)
        if ev is None:
            on_error(path, f"line {text.count(chr(10), 0, pos) + 1}: not a JSON object; skipped")
            continue
        yield ev


def read_input(inp: Input, on_error: ErrorSink) -> Iterator[dict[str, Any]]:
    return read_evtx(inp.path, on_error) if inp.kind == "evtx" else read_json(inp.path, on_error)
