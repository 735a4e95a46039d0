"""One ETW event as plain Python data, copied out of the ``EVENT_RECORD`` the OS lends a callback.

The consumer callback runs on ProcessTrace's thread with memory that is only valid during the
call, so :func:`copy_event_record` copies header fields and payload bytes and nothing else;
decoding happens later on another thread. ETL recordings produce the same :class:`EtwRecord`,
which is how the decoders are tested on real traces here.
"""

from __future__ import annotations

import ctypes
import uuid
from dataclasses import dataclass, field
from typing import Any

from aurora.sensor.windows.ffi.etw_structs import EVENT_RECORD

# EVENT_HEADER_EXTENDED_DATA_ITEM.ExtType values (evntcons.h) the decoders read.
EXT_TYPE_EVENT_SCHEMA_TL = 11
EXT_TYPE_PROV_TRAITS = 12
# FILETIME epoch (1601-01-01) to Unix epoch, in 100 ns ticks.
_FILETIME_UNIX_OFFSET = 116444736000000000


@dataclass(frozen=True)
class EtwRecord:
    """A manifest, TraceLogging or classic (MOF) event with its raw payload.

    ``provider`` is the provider GUID for manifest/TraceLogging events; classic kernel events
    carry ``kernel_group`` (EVENT_TRACE_GROUP_*, e.g. 0x0300 for processes) and use ``opcode`` as
    their type.
    """

    provider: uuid.UUID
    event_id: int
    version: int
    opcode: int
    level: int
    pid: int
    tid: int
    timestamp: int  # FILETIME ticks (100 ns since 1601), as ProcessTrace converts them
    user_data: bytes
    extended: tuple[tuple[int, bytes], ...] = ()
    kernel_group: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def ext(self, ext_type: int) -> bytes | None:
        for kind, data in self.extended:
            if kind == ext_type:
                return data
        return None

    @property
    def time_ms(self) -> int:
        return max(0, (self.timestamp - _FILETIME_UNIX_OFFSET) // 10_000)


def copy_event_record(ptr: Any) -> EtwRecord:
    """Copy what decoding needs out of a ``PEVENT_RECORD`` (the callback's only work)."""
    rec: EVENT_RECORD = ptr.contents
    hdr = rec.EventHeader
    desc = hdr.EventDescriptor
    data = ctypes.string_at(rec.UserData, rec.UserDataLength) if rec.UserDataLength else b""
    extended: list[tuple[int, bytes]] = []
    for i in range(rec.ExtendedDataCount):
        item = rec.ExtendedData[i]
        extended.append((int(item.ExtType), ctypes.string_at(item.DataPtr, item.DataSize)))
    return EtwRecord(
        provider=hdr.ProviderId.to_uuid(),
        event_id=int(desc.Id),
        version=int(desc.Version),
        opcode=int(desc.Opcode),
        level=int(desc.Level),
        pid=int(hdr.ProcessId),
        tid=int(hdr.ThreadId),
        timestamp=int(hdr.TimeStamp),
        user_data=data,
        extended=tuple(extended),
    )
