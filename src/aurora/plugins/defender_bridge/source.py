"""Where the bridge reads Defender's records: the live channel through the Windows sensor's
subscriber (bookmarked, gaps counted), or recorded EVTX/JSON files replayed behind the same
``start``/``poll``/``stop`` interface, so everything after the read is the same code."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from aurora.errors import AuroraError, UsageError
from aurora.sensor.windows.channels import ChannelSubscriber
from aurora.sensor.windows.defender import DEFENDER_CHANNEL
from aurora.sensor.windows.evt_api import EvtApi
from aurora.sensor.windows.replay import _json_records

log = logging.getLogger(__name__)

_PER_POLL = 256


class DefenderSource(Protocol):
    def start(self) -> None: ...

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        """The next evtx-shaped records, waiting up to ``timeout_ms`` when none are ready."""
        ...

    @property
    def lost(self) -> int:
        """Records known to be missed (a gap in the channel, an unreadable recorded record)."""
        ...

    def stop(self) -> None: ...


class LiveChannel:
    """Defender/Operational as it is written (Windows only): resumes after its bookmark."""

    def __init__(self, state_dir: Path, api: EvtApi | None = None) -> None:
        self.subscriber = ChannelSubscriber(DEFENDER_CHANNEL, state_dir, api)

    def start(self) -> None:
        self.subscriber.start()

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        return self.subscriber.poll(timeout_ms)

    @property
    def lost(self) -> int:
        return self.subscriber.lost + self.subscriber.undecodable

    def stop(self) -> None:
        self.subscriber.stop()


class RecordedChannel:
    """Recorded Defender records (EVTX, or evtx-shaped JSON), in file order; then idle, as a
    quiet channel is. Records of other channels in the files are skipped."""

    def __init__(self, paths: list[Path]) -> None:
        for path in paths:
            if path.suffix.lower() not in (".evtx", ".json"):
                raise UsageError(f"--replay {path}: expected a .evtx or .json file")
            if not path.is_file():
                raise UsageError(f"--replay {path}: no such file")
        self.paths = paths
        self.replayed = 0
        self.exhausted = threading.Event()
        self._stopped = threading.Event()
        self._lost = 0
        self._records: Iterator[dict[str, Any]] | None = None

    def start(self) -> None:
        self._records = self._all()

    def _all(self) -> Iterator[dict[str, Any]]:
        for path in self.paths:
            records = self._evtx(path) if path.suffix.lower() == ".evtx" else _json_records(path)
            for record in records:
                system = (record.get("Event", record).get("System") or {}) if record else {}
                if system.get("Channel") == DEFENDER_CHANNEL:
                    yield record

    def _evtx(self, path: Path) -> Iterator[dict[str, Any]]:
        from evtx import PyEvtxParser

        try:
            parser = PyEvtxParser(str(path))
        except (OSError, RuntimeError) as exc:
            raise ReplayUnreadable(f"{path}: not a readable EVTX file: {exc}") from None
        for item in parser.records_json():
            try:
                yield json.loads(item["data"])  # type: ignore[index]
            except (json.JSONDecodeError, KeyError, TypeError):
                self._lost += 1
                log.warning("%s: a record that is not JSON was skipped", path)

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        if self._records is None or self.exhausted.is_set():
            self._stopped.wait(timeout_ms / 1000)  # nothing more will come: wait like a poll
            return []
        out: list[dict[str, Any]] = []
        for record in self._records:
            out.append(record)
            if len(out) >= _PER_POLL:
                break
        else:
            self.exhausted.set()
        self.replayed += len(out)
        return out

    @property
    def lost(self) -> int:
        return self._lost

    def stop(self) -> None:
        self._stopped.set()
        self._records = None


class ReplayUnreadable(AuroraError):
    """A recorded file the bridge cannot read."""
