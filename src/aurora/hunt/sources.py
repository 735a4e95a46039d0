"""Inputs of an offline scan: EVTX files (any channel) and JSON logs, walked from paths.

Every input yields OCSF event dicts. Windows records (EVTX, or JSON in the evtx ``{"Event":
...}`` shape) go through :func:`aurora.sensor.windows.normalise_record`; JSON that is already OCSF
passes through. Problems (a corrupt EVTX chunk, a bad JSON line) are reported to ``on_error``
and skipped, so one bad chunk never stops a hunt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from evtx import PyEvtxParser

from aurora.errors import UsageError
from aurora.sensor.windows import normalise_record

EVTX_SUFFIXES = {".evtx"}
JSON_SUFFIXES = {".json", ".jsonl", ".ndjson", ".log"}
ErrorSink = Callable[[Path, str], None]
# One event read from an input, with where it was read: the EVTX EventRecordID, or for JSON the
# line it starts on (the record id of a log that has none).
Located = tuple[int, dict[str, Any]]


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


def read_evtx(path: Path, on_error: ErrorSink) -> Iterator[Located]:
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
            yield int(record["event_record_id"]), normalise_record(orjson.loads(record["data"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            on_error(path, f"record {record.get('event_record_id')}: {exc}")


MAX_RECORD_BYTES = 16 * 1024 * 1024


def _emit(obj: Any, path: Path, line: int, on_error: ErrorSink) -> Iterator[Located]:
    if isinstance(obj, list):
        for item in obj:
            yield from _emit(item, path, line, on_error)
        return
    ev = _to_ocsf(obj)
    if ev is None:
        on_error(path, f"line {line}: not a JSON object; skipped")
    else:
        yield line, ev


def read_json(path: Path, on_error: ErrorSink) -> Iterator[Located]:
    """JSON lines, JSON arrays, or concatenated pretty-printed objects, streamed line by line.

    A line that is not JSON by itself but opens an object starts a multi-line record, parsed
    when a line closes it; records larger than 16 MiB are reported and skipped.
    """
    try:
        fh = path.open("rb")
    except OSError as exc:
        on_error(path, f"cannot read: {exc.strerror}")
        return
    with fh:
        buf: list[bytes] = []
        size = start = 0
        for lineno, line in enumerate(fh, 1):
            stripped = line.strip()
            if not stripped:
                if buf:
                    buf.append(line)
                continue
            if buf and line.startswith((b"{", b"[")):
                # a new top-level record starts at column 0: the open one was broken
                on_error(path, f"line {start}: invalid JSON; skipped")
                buf = []
            if buf:
                buf.append(line)
                size += len(line)
                if stripped.endswith((b"}", b"]")):
                    try:
                        obj = orjson.loads(b"".join(buf))
                    except orjson.JSONDecodeError:
                        pass
                    else:
                        buf = []
                        yield from _emit(obj, path, start, on_error)
                        continue
                if size > MAX_RECORD_BYTES:
                    on_error(path, f"line {start}: JSON record over 16 MiB or invalid; skipped")
                    buf = []
                continue
            try:
                obj = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                if stripped.startswith((b"{", b"[")):
                    buf, size, start = [line], len(line), lineno
                else:
                    on_error(path, f"line {lineno}: invalid JSON; skipped")
                continue
            yield from _emit(obj, path, lineno, on_error)
        if buf:
            on_error(path, f"line {start}: invalid JSON (unterminated); skipped")


def read_input(inp: Input, on_error: ErrorSink) -> Iterator[Located]:
    return read_evtx(inp.path, on_error) if inp.kind == "evtx" else read_json(inp.path, on_error)
