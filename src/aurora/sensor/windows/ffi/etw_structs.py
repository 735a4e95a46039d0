"""ETW structures (evntcons.h, evntprov.h, evntrace.h, wmistr.h, minwinbase.h, timezoneapi.h),
declared for Windows x64 with fixed-width fields."""

from __future__ import annotations

import ctypes

from aurora.sensor.windows.ffi.types import (
    GUID,
    HANDLE,
    LARGE_INTEGER,
    LONG,
    LONGLONG,
    LPWSTR,
    PVOID,
    UCHAR,
    ULONG,
    ULONG64,
    ULONGLONG,
    USHORT,
    WCHAR,
    WORD,
    callback_type,
)


class EVENT_DESCRIPTOR(ctypes.Structure):
    _fields_ = [
        ("Id", USHORT),
        ("Version", UCHAR),
        ("Channel", UCHAR),
        ("Level", UCHAR),
        ("Opcode", UCHAR),
        ("Task", USHORT),
        ("Keyword", ULONGLONG),
    ]


class _KernelUserTime(ctypes.Structure):
    _fields_ = [("KernelTime", ULONG), ("UserTime", ULONG)]


class _ProcessorTime(ctypes.Union):
    _anonymous_ = ("_times",)
    _fields_ = [("_times", _KernelUserTime), ("ProcessorTime", ULONG64)]


class EVENT_HEADER(ctypes.Structure):
    _anonymous_ = ("_cpu",)
    _fields_ = [
        ("Size", USHORT),
        ("HeaderType", USHORT),
        ("Flags", USHORT),
        ("EventProperty", USHORT),
        ("ThreadId", ULONG),
        ("ProcessId", ULONG),
        ("TimeStamp", LARGE_INTEGER),
        ("ProviderId", GUID),
        ("EventDescriptor", EVENT_DESCRIPTOR),
        ("_cpu", _ProcessorTime),
        ("ActivityId", GUID),
    ]


class ETW_BUFFER_CONTEXT(ctypes.Structure):
    _fields_ = [("ProcessorNumber", UCHAR), ("Alignment", UCHAR), ("LoggerId", USHORT)]


class EVENT_HEADER_EXTENDED_DATA_ITEM(ctypes.Structure):
    _fields_ = [
        ("Reserved1", USHORT),
        ("ExtType", USHORT),
        ("Linkage", USHORT, 1),
        ("Reserved2", USHORT, 15),
        ("DataSize", USHORT),
        ("DataPtr", ULONGLONG),
    ]


class EVENT_RECORD(ctypes.Structure):
    _fields_ = [
        ("EventHeader", EVENT_HEADER),
        ("BufferContext", ETW_BUFFER_CONTEXT),
        ("ExtendedDataCount", USHORT),
        ("UserDataLength", USHORT),
        ("ExtendedData", ctypes.POINTER(EVENT_HEADER_EXTENDED_DATA_ITEM)),
        ("UserData", PVOID),
        ("UserContext", PVOID),
    ]


class WNODE_HEADER(ctypes.Structure):
    _fields_ = [
        ("BufferSize", ULONG),
        ("ProviderId", ULONG),
        ("HistoricalContext", ULONG64),
        ("TimeStamp", LARGE_INTEGER),
        ("Guid", GUID),
        ("ClientContext", ULONG),
        ("Flags", ULONG),
    ]


class EVENT_TRACE_PROPERTIES(ctypes.Structure):
    _fields_ = [
        ("Wnode", WNODE_HEADER),
        ("BufferSize", ULONG),
        ("MinimumBuffers", ULONG),
        ("MaximumBuffers", ULONG),
        ("MaximumFileSize", ULONG),
        ("LogFileMode", ULONG),
        ("FlushTimer", ULONG),
        ("EnableFlags", ULONG),
        ("AgeLimit", LONG),
        ("NumberOfBuffers", ULONG),
        ("FreeBuffers", ULONG),
        ("EventsLost", ULONG),
        ("BuffersWritten", ULONG),
        ("LogBuffersLost", ULONG),
        ("RealTimeBuffersLost", ULONG),
        ("LoggerThreadId", HANDLE),
        ("LogFileNameOffset", ULONG),
        ("LoggerNameOffset", ULONG),
    ]


class EVENT_TRACE_HEADER(ctypes.Structure):
    _fields_ = [
        ("Size", USHORT),
        ("HeaderType", UCHAR),
        ("MarkerFlags", UCHAR),
        ("Type", UCHAR),
        ("Level", UCHAR),
        ("Version", USHORT),
        ("ThreadId", ULONG),
        ("ProcessId", ULONG),
        ("TimeStamp", LARGE_INTEGER),
        ("Guid", GUID),
        ("KernelTime", ULONG),
        ("UserTime", ULONG),
    ]


class EVENT_TRACE(ctypes.Structure):
    _fields_ = [
        ("Header", EVENT_TRACE_HEADER),
        ("InstanceId", ULONG),
        ("ParentInstanceId", ULONG),
        ("ParentGuid", GUID),
        ("MofData", PVOID),
        ("MofLength", ULONG),
        ("BufferContext", ETW_BUFFER_CONTEXT),
    ]


class SYSTEMTIME(ctypes.Structure):
    _fields_ = [
        (name, WORD)
        for name in (
            "wYear",
            "wMonth",
            "wDayOfWeek",
            "wDay",
            "wHour",
            "wMinute",
            "wSecond",
            "wMilliseconds",
        )
    ]


class TIME_ZONE_INFORMATION(ctypes.Structure):
    _fields_ = [
        ("Bias", LONG),
        ("StandardName", WCHAR * 32),
        ("StandardDate", SYSTEMTIME),
        ("StandardBias", LONG),
        ("DaylightName", WCHAR * 32),
        ("DaylightDate", SYSTEMTIME),
        ("DaylightBias", LONG),
    ]


class TRACE_LOGFILE_HEADER(ctypes.Structure):
    _fields_ = [
        ("BufferSize", ULONG),
        ("Version", ULONG),
        ("ProviderVersion", ULONG),
        ("NumberOfProcessors", ULONG),
        ("EndTime", LARGE_INTEGER),
        ("TimerResolution", ULONG),
        ("MaximumFileSize", ULONG),
        ("LogFileMode", ULONG),
        ("BuffersWritten", ULONG),
        ("LogInstanceGuid", GUID),
        ("LoggerName", LPWSTR),
        ("LogFileName", LPWSTR),
        ("TimeZone", TIME_ZONE_INFORMATION),
        ("BootTime", LARGE_INTEGER),
        ("PerfFreq", LARGE_INTEGER),
        ("StartTime", LARGE_INTEGER),
        ("ReservedFlags", ULONG),
        ("BuffersLost", ULONG),
    ]


EVENT_RECORD_CALLBACK = callback_type(None, ctypes.POINTER(EVENT_RECORD))
BUFFER_CALLBACK = callback_type(ULONG, PVOID)


class EVENT_TRACE_LOGFILEW(ctypes.Structure):
    _fields_ = [
        ("LogFileName", LPWSTR),
        ("LoggerName", LPWSTR),
        ("CurrentTime", LONGLONG),
        ("BuffersRead", ULONG),
        ("ProcessTraceMode", ULONG),
        ("CurrentEvent", EVENT_TRACE),
        ("LogfileHeader", TRACE_LOGFILE_HEADER),
        ("BufferCallback", BUFFER_CALLBACK),
        ("BufferSize", ULONG),
        ("Filled", ULONG),
        ("EventsLost", ULONG),
        ("EventRecordCallback", EVENT_RECORD_CALLBACK),
        ("IsKernelTrace", ULONG),
        ("Context", PVOID),
    ]


class ENABLE_TRACE_PARAMETERS(ctypes.Structure):
    _fields_ = [
        ("Version", ULONG),
        ("EnableProperty", ULONG),
        ("ControlFlags", ULONG),
        ("SourceId", GUID),
        ("EnableFilterDesc", PVOID),
        ("FilterDescCount", ULONG),
    ]
