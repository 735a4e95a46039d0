"""The ctypes structures have the Windows x64 layout, whatever OS runs the test.

Expected sizes and offsets are those of the Windows SDK (10.0.22621) headers compiled for x64:
evntcons.h (EVENT_HEADER, EVENT_RECORD, EVENT_HEADER_EXTENDED_DATA_ITEM), evntprov.h
(EVENT_DESCRIPTOR), evntrace.h (EVENT_TRACE_PROPERTIES, EVENT_TRACE_HEADER, EVENT_TRACE,
TRACE_LOGFILE_HEADER, EVENT_TRACE_LOGFILEW, ENABLE_TRACE_PARAMETERS), wmistr.h (WNODE_HEADER),
timezoneapi.h (TIME_ZONE_INFORMATION), winevt.h (EVT_VARIANT), fwptypes.h (FWP_VALUE0,
FWP_CONDITION_VALUE0, FWP_BYTE_BLOB, FWP_V4/V6_ADDR_AND_MASK), fwpmtypes.h (FWPM_FILTER0,
FWPM_FILTER_CONDITION0, FWPM_ACTION0, FWPM_SUBLAYER0, FWPM_SESSION0, FWPM_DISPLAY_DATA0).
"""

from __future__ import annotations

import ctypes
import uuid
from typing import Any

import pytest

from aurora.sensor.windows.ffi import etw_structs as e
from aurora.sensor.windows.ffi import fwp as f
from aurora.sensor.windows.ffi import types as t
from aurora.sensor.windows.ffi import wevtapi as w

SIZES: list[tuple[Any, int]] = [
    (t.GUID, 16),
    (e.EVENT_DESCRIPTOR, 16),
    (e.EVENT_HEADER, 80),
    (e.ETW_BUFFER_CONTEXT, 4),
    (e.EVENT_HEADER_EXTENDED_DATA_ITEM, 16),
    (e.EVENT_RECORD, 112),
    (e.WNODE_HEADER, 48),
    (e.EVENT_TRACE_PROPERTIES, 120),
    (e.EVENT_TRACE_HEADER, 48),
    (e.EVENT_TRACE, 88),
    (e.SYSTEMTIME, 16),
    (e.TIME_ZONE_INFORMATION, 172),
    (e.TRACE_LOGFILE_HEADER, 280),
    (e.EVENT_TRACE_LOGFILEW, 448),
    (e.ENABLE_TRACE_PARAMETERS, 48),
    (w.EVT_VARIANT, 16),
    (f.FWP_BYTE_BLOB, 16),
    (f.FWPM_DISPLAY_DATA0, 16),
    (f.FWP_V4_ADDR_AND_MASK, 8),
    (f.FWP_V6_ADDR_AND_MASK, 17),
    (f.FWP_VALUE0, 16),
    (f.FWP_CONDITION_VALUE0, 16),
    (f.FWPM_FILTER_CONDITION0, 40),
    (f.FWPM_ACTION0, 20),
    (f.FWPM_FILTER0, 200),
    (f.FWPM_SUBLAYER0, 72),
    (f.FWPM_SESSION0, 72),
]

OFFSETS: list[tuple[Any, str, int]] = [
    (e.EVENT_HEADER, "ThreadId", 8),
    (e.EVENT_HEADER, "TimeStamp", 16),
    (e.EVENT_HEADER, "ProviderId", 24),
    (e.EVENT_HEADER, "EventDescriptor", 40),
    (e.EVENT_HEADER, "ActivityId", 64),
    (e.EVENT_RECORD, "BufferContext", 80),
    (e.EVENT_RECORD, "ExtendedDataCount", 84),
    (e.EVENT_RECORD, "UserDataLength", 86),
    (e.EVENT_RECORD, "ExtendedData", 88),
    (e.EVENT_RECORD, "UserData", 96),
    (e.EVENT_RECORD, "UserContext", 104),
    (e.EVENT_HEADER_EXTENDED_DATA_ITEM, "DataSize", 6),
    (e.EVENT_HEADER_EXTENDED_DATA_ITEM, "DataPtr", 8),
    (e.WNODE_HEADER, "Guid", 24),
    (e.WNODE_HEADER, "Flags", 44),
    (e.EVENT_TRACE_PROPERTIES, "BufferSize", 48),
    (e.EVENT_TRACE_PROPERTIES, "LogFileMode", 64),
    (e.EVENT_TRACE_PROPERTIES, "EventsLost", 88),
    (e.EVENT_TRACE_PROPERTIES, "RealTimeBuffersLost", 100),
    (e.EVENT_TRACE_PROPERTIES, "LoggerThreadId", 104),
    (e.EVENT_TRACE_PROPERTIES, "LogFileNameOffset", 112),
    (e.EVENT_TRACE_PROPERTIES, "LoggerNameOffset", 116),
    (e.EVENT_TRACE, "MofData", 72),
    (e.EVENT_TRACE, "MofLength", 80),
    (e.TRACE_LOGFILE_HEADER, "LogInstanceGuid", 40),
    (e.TRACE_LOGFILE_HEADER, "LoggerName", 56),
    (e.TRACE_LOGFILE_HEADER, "TimeZone", 72),
    (e.TRACE_LOGFILE_HEADER, "BootTime", 248),
    (e.TRACE_LOGFILE_HEADER, "BuffersLost", 276),
    (e.EVENT_TRACE_LOGFILEW, "CurrentTime", 16),
    (e.EVENT_TRACE_LOGFILEW, "ProcessTraceMode", 28),
    (e.EVENT_TRACE_LOGFILEW, "CurrentEvent", 32),
    (e.EVENT_TRACE_LOGFILEW, "LogfileHeader", 120),
    (e.EVENT_TRACE_LOGFILEW, "BufferCallback", 400),
    (e.EVENT_TRACE_LOGFILEW, "EventsLost", 416),
    (e.EVENT_TRACE_LOGFILEW, "EventRecordCallback", 424),
    (e.EVENT_TRACE_LOGFILEW, "IsKernelTrace", 432),
    (e.EVENT_TRACE_LOGFILEW, "Context", 440),
    (e.ENABLE_TRACE_PARAMETERS, "SourceId", 12),
    (e.ENABLE_TRACE_PARAMETERS, "EnableFilterDesc", 32),
    (e.ENABLE_TRACE_PARAMETERS, "FilterDescCount", 40),
    (f.FWPM_FILTER_CONDITION0, "matchType", 16),
    (f.FWPM_FILTER_CONDITION0, "conditionValue", 24),
    (f.FWPM_FILTER0, "displayData", 16),
    (f.FWPM_FILTER0, "flags", 32),
    (f.FWPM_FILTER0, "providerKey", 40),
    (f.FWPM_FILTER0, "providerData", 48),
    (f.FWPM_FILTER0, "layerKey", 64),
    (f.FWPM_FILTER0, "subLayerKey", 80),
    (f.FWPM_FILTER0, "weight", 96),
    (f.FWPM_FILTER0, "numFilterConditions", 112),
    (f.FWPM_FILTER0, "filterCondition", 120),
    (f.FWPM_FILTER0, "action", 128),
    (f.FWPM_FILTER0, "ctx", 152),
    (f.FWPM_FILTER0, "reserved", 168),
    (f.FWPM_FILTER0, "filterId", 176),
    (f.FWPM_FILTER0, "effectiveWeight", 184),
    (f.FWPM_SUBLAYER0, "weight", 64),
    (f.FWPM_SESSION0, "processId", 40),
    (f.FWPM_SESSION0, "sid", 48),
    (f.FWPM_SESSION0, "kernelMode", 64),
]


@pytest.mark.parametrize(("struct", "size"), SIZES, ids=[s.__name__ for s, _ in SIZES])
def test_sizeof_matches_the_sdk(struct: Any, size: int) -> None:
    assert ctypes.sizeof(struct) == size


@pytest.mark.parametrize(
    ("struct", "field", "offset"), OFFSETS, ids=[f"{s.__name__}.{n}" for s, n, _ in OFFSETS]
)
def test_offsetof_matches_the_sdk(struct: Any, field: str, offset: int) -> None:
    assert getattr(struct, field).offset == offset


def test_fixed_width_types_are_windows_widths() -> None:
    # On Linux ctypes.wintypes.DWORD is a C long (8 bytes); ours must be 4 everywhere.
    assert ctypes.sizeof(t.DWORD) == 4 and ctypes.sizeof(t.ULONG) == 4
    assert ctypes.sizeof(t.WCHAR) == 2 and ctypes.sizeof(t.HANDLE) == 8


def test_guid_round_trips_in_windows_byte_order() -> None:
    u = uuid.UUID("22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716")
    g = t.GUID.from_uuid(u)
    assert g.Data1 == 0x22FB2CD6 and g.Data2 == 0x0E7B and bytes(g)[:4] == bytes.fromhex("d62cfb22")
    assert g.to_uuid() == u


def test_callback_type_builds_and_calls_back() -> None:
    seen: list[int] = []
    cb = e.EVENT_RECORD_CALLBACK(lambda ptr: seen.append(ptr.contents.EventHeader.ProcessId))
    rec = e.EVENT_RECORD()
    rec.EventHeader.ProcessId = 4242
    cb(ctypes.pointer(rec))
    assert seen == [4242]


def test_dlls_bind_lazily_and_fail_with_a_clear_error_off_windows() -> None:
    from aurora.sensor.windows.ffi.etw_api import advapi32

    with pytest.raises(OSError, match="only on Windows"):
        advapi32.StartTraceW  # noqa: B018
    with pytest.raises(AttributeError):
        advapi32.NotAFunction  # noqa: B018
