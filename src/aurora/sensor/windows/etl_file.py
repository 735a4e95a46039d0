"""ETL trace files (recorded ETW sessions) -> :class:`EtwRecord`, for replay and decoder tests.

The file's buffers and record framing are read with ``etl-parser`` (pure Python, Apache 2.0);
the payloads are left as bytes for our own decoders, exactly as the live consumer leaves them.
Timestamps in a file are raw clock ticks; the logfile header's start time and clock frequency
turn them into FILETIME, as ProcessTrace does for a live session.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aurora.errors import AuroraError
from aurora.sensor.windows.etw_record import EtwRecord

# TRACE_LOGFILE_HEADER offsets on x64 (evntrace.h): EndTime, EventsLost, BootTime/PerfFreq/
# StartTime, BuffersLost.
_END_TIME, _EVENTS_LOST, _PERF_FREQ, _START_TIME, _BUFFERS_LOST = 16, 48, 256, 264, 276
_HEADER_MIN = 280


class EtlFileError(AuroraError):
    """A file that is not a readable ETL trace."""


@dataclass(frozen=True)
class EtlHeader:
    start_filetime: int
    end_filetime: int
    perf_freq: int
    start_ticks: int
    events_lost: int
    buffers_lost: int

    def filetime(self, ticks: int) -> int:
        return self.start_filetime + (ticks - self.start_ticks) * 10_000_000 // self.perf_freq


def _guid(container: Any) -> uuid.UUID:
    g = container.inner
    return uuid.UUID(bytes_le=struct.pack("<IHH8B", g.data1, g.data2, g.data3, *g.data4))


def _header(first: Any) -> EtlHeader:
    mof = bytes(first.value.mof_data)
    if len(mof) < _HEADER_MIN:
        raise EtlFileError("ETL file: logfile header too short")
    perf = struct.unpack_from("<q", mof, _PERF_FREQ)[0]
    return EtlHeader(
        start_filetime=struct.unpack_from("<q", mof, _START_TIME)[0],
        end_filetime=struct.unpack_from("<q", mof, _END_TIME)[0],
        perf_freq=perf if perf > 0 else 10_000_000,
        start_ticks=int(first.value.system_header.system_time),
        events_lost=struct.unpack_from("<I", mof, _EVENTS_LOST)[0],
        buffers_lost=struct.unpack_from("<I", mof, _BUFFERS_LOST)[0],
    )


class EtlFile:
    """One recorded trace: its header (losses, clock) and its records in file order."""

    def __init__(self, path: Path) -> None:
        from etl.etl import ChunkParser, EtlLogFile

        self._parse_chunk = ChunkParser.parse
        try:
            self._chunks = EtlLogFile.parse(path.read_bytes())
            first = self._parse_chunk(self._chunks[0].payload)[0]
        except (OSError, IndexError) as exc:
            raise EtlFileError(f"{path}: cannot read as an ETL trace: {exc}") from None
        except Exception as exc:  # construct raises its own error family on any bad byte
            raise EtlFileError(f"{path}: not an ETL trace ({type(exc).__name__})") from None
        if first.type != "SystemTraceRecord":
            raise EtlFileError(f"{path}: not an ETL trace (no logfile header)")
        self.path = path
        self.header = _header(first)

    def records(self) -> Iterator[EtwRecord]:
        for chunk in self._chunks[1:]:
            try:
                parsed = self._parse_chunk(chunk.payload)
            except Exception as exc:
                raise EtlFileError(f"{self.path}: damaged buffer ({type(exc).__name__})") from None
            for item in parsed:
                rec = self._convert(item.type, item.value)
                if rec is not None:
                    yield rec

    def _convert(self, kind: str, value: Any) -> EtwRecord | None:
        if kind == "EventRecord":
            h = value.event_header
            d = h.event_descriptor
            ext = tuple((int(i.ext_type), bytes(i.data_item)) for i in (value.extended_data or []))
            return EtwRecord(
                provider=_guid(h.provider_id),
                event_id=int(d.Id),
                version=int(d.Version),
                opcode=int(d.Opcode),
                level=int(d.Level),
                pid=int(h.process_id),
                tid=int(h.thread_id),
                timestamp=self.header.filetime(int(h.timestamp)),
                user_data=bytes(value.user_data),
                extended=ext,
            )
        if kind == "SystemTraceRecord":
            s = value.system_header
            return EtwRecord(
                provider=uuid.UUID(int=0),
                event_id=0,
                version=int(s.marker.version),
                opcode=int(s.header.type),
                level=0,
                pid=int(s.process_id),
                tid=int(s.thread_id),
                timestamp=self.header.filetime(int(s.system_time)),
                user_data=bytes(value.mof_data),
                kernel_group=int(s.header.group),
            )
        return None
