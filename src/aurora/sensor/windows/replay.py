"""``aurora sensor --replay FILE``: recorded Windows events as an event source.

EVTX files (as ``aurora scan`` reads them), ETL traces and JSON (one evtx-shaped record, an array
of them, or one per line) go through the same normalisers as the live sensor and then, in the
agent, through the same spool and transport. The source reports itself exhausted once every
record has been handed on; losses recorded in an ETL header and undecodable records are counted
as drops, as a live session's would be.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aurora.errors import AuroraError, UsageError
from aurora.sensor.source import Capability
from aurora.sensor.windows.etl_file import EtlFile
from aurora.sensor.windows.etw_decode import decode
from aurora.sensor.windows.etw_normalise import normalise_etw
from aurora.sensor.windows.events import channel_events

log = logging.getLogger(__name__)

SUFFIXES = (".evtx", ".etl", ".json")
_PER_POLL = 500


class ReplayError(AuroraError):
    """A replay file that cannot be read."""


def _json_records(path: Path) -> Iterator[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        yield whole
        return
    if isinstance(whole, list):
        yield from (r for r in whole if isinstance(r, dict))
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReplayError(f"{path}:{n}: not JSON: {exc.msg}") from None
        if isinstance(record, dict):
            yield record


class ReplaySource:
    """Replays files in order; ``exhausted`` once all their events have been returned."""

    def __init__(self, paths: list[Path], hostname: str = "") -> None:
        for p in paths:
            if p.suffix.lower() not in SUFFIXES:
                raise UsageError(f"--replay {p}: expected a .evtx, .etl or .json file")
            if not p.is_file():
                raise UsageError(f"--replay {p}: no such file")
        self.paths = paths
        self.hostname = hostname
        self.exhausted = False
        self.replayed = 0
        self._drops = {"etl_lost": 0, "undecodable": 0}
        self._events: Iterator[dict[str, Any]] | None = None

    def start(self) -> None:
        self._events = self._all()

    def _all(self) -> Iterator[dict[str, Any]]:
        for path in self.paths:
            yield from self._file(path)

    def _file(self, path: Path) -> Iterator[dict[str, Any]]:
        suffix = path.suffix.lower()
        if suffix == ".etl":
            etl = EtlFile(path)
            self._drops["etl_lost"] += etl.header.events_lost + etl.header.buffers_lost
            for rec in etl.records():
                try:
                    event = normalise_etw(decode(rec), self.hostname)
                except AuroraError as exc:
                    self._drops["undecodable"] += 1
                    log.warning("%s: record skipped: %s", path, exc)
                    continue
                if event is not None:
                    yield event
            return
        if suffix == ".json":
            for record in _json_records(path):
                yield from channel_events(record)
            return
        from evtx import PyEvtxParser

        try:
            parser = PyEvtxParser(str(path))
        except (OSError, RuntimeError) as exc:
            raise ReplayError(f"{path}: not a readable EVTX file: {exc}") from None
        for item in parser.records_json():
            try:
                record = json.loads(item["data"])  # type: ignore[index]
            except (json.JSONDecodeError, KeyError, TypeError):
                self._drops["undecodable"] += 1
                continue
            yield from channel_events(record)

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        if self._events is None or self.exhausted:
            time.sleep(timeout_ms / 1000)  # the EventSource contract: wait when nothing is ready
            return []
        out: list[dict[str, Any]] = []
        for event in self._events:
            out.append(event)
            if len(out) >= _PER_POLL:
                break
        else:
            self.exhausted = True
        self.replayed += len(out)
        return out

    def capabilities(self) -> list[Capability]:
        return [Capability(f"replay:{p.name}", True) for p in self.paths]

    def drop_counts(self) -> dict[str, int]:
        return dict(self._drops)

    def stop(self) -> None:
        self._events = None
