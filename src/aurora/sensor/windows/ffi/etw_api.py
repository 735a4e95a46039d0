"""advapi32's trace-control and consumer functions and the constants the sensor passes them."""

from __future__ import annotations

import ctypes

from aurora.sensor.windows.ffi.etw_structs import (
    ENABLE_TRACE_PARAMETERS,
    EVENT_TRACE_LOGFILEW,
    EVENT_TRACE_PROPERTIES,
)
from aurora.sensor.windows.ffi.types import (
    GUID,
    HANDLE,
    LONGLONG,
    LPWSTR,
    PVOID,
    TRACEHANDLE,
    UCHAR,
    ULONG,
    ULONGLONG,
    LazyDll,
)

ERROR_SUCCESS = 0
ERROR_ACCESS_DENIED = 5
ERROR_MORE_DATA = 234
ERROR_WMI_INSTANCE_NOT_FOUND = 4201
ERROR_ALREADY_EXISTS = 183
ERROR_CANCELLED = 1223

WNODE_FLAG_TRACED_GUID = 0x00020000
EVENT_TRACE_REAL_TIME_MODE = 0x00000100
EVENT_TRACE_SYSTEM_LOGGER_MODE = 0x02000000
PROCESS_TRACE_MODE_REAL_TIME = 0x00000100
PROCESS_TRACE_MODE_EVENT_RECORD = 0x10000000

EVENT_TRACE_CONTROL_QUERY = 0
EVENT_TRACE_CONTROL_STOP = 1
EVENT_TRACE_CONTROL_FLUSH = 3

EVENT_CONTROL_CODE_ENABLE_PROVIDER = 1
ENABLE_TRACE_PARAMETERS_VERSION_2 = 2
TRACE_LEVEL_VERBOSE = 5

PTRACEHANDLE = ctypes.POINTER(TRACEHANDLE)
PPROPS = ctypes.POINTER(EVENT_TRACE_PROPERTIES)

advapi32 = LazyDll(
    "advapi32",
    {
        "StartTraceW": (ULONG, [PTRACEHANDLE, LPWSTR, PPROPS]),
        "ControlTraceW": (ULONG, [TRACEHANDLE, LPWSTR, PPROPS, ULONG]),
        "EnableTraceEx2": (
            ULONG,
            [
                TRACEHANDLE,
                ctypes.POINTER(GUID),
                ULONG,
                UCHAR,
                ULONGLONG,
                ULONGLONG,
                ULONG,
                ctypes.POINTER(ENABLE_TRACE_PARAMETERS),
            ],
        ),
        "OpenTraceW": (TRACEHANDLE, [ctypes.POINTER(EVENT_TRACE_LOGFILEW)]),
        "ProcessTrace": (ULONG, [PTRACEHANDLE, ULONG, PVOID, PVOID]),
        "CloseTrace": (ULONG, [TRACEHANDLE]),
    },
)

kernel32 = LazyDll(
    "kernel32",
    {
        "GetLastError": (ULONG, []),
        "CloseHandle": (ctypes.c_int32, [HANDLE]),
        "QueryPerformanceFrequency": (ctypes.c_int32, [ctypes.POINTER(LONGLONG)]),
    },
)
