"""wevtapi's subscription, rendering and bookmark functions, and their flags and error codes."""

from __future__ import annotations

import ctypes

from aurora.sensor.windows.ffi.types import (
    BOOL,
    DWORD,
    EVT_HANDLE,
    HANDLE,
    LPWSTR,
    PVOID,
    UINT64,
    LazyDll,
)

EvtSubscribeToFutureEvents = 1
EvtSubscribeStartAtOldestRecord = 2
EvtSubscribeStartAfterBookmark = 3
EvtSubscribeStrict = 0x10000

EvtRenderEventXml = 1
EvtRenderBookmark = 2

ERROR_NO_MORE_ITEMS = 259
ERROR_INSUFFICIENT_BUFFER = 122
ERROR_TIMEOUT = 1460
ERROR_INVALID_HANDLE = 6
ERROR_EVT_QUERY_RESULT_STALE = 15011
ERROR_EVT_QUERY_RESULT_INVALID_POSITION = 15012
ERROR_EVT_CHANNEL_NOT_FOUND = 15007

WAIT_OBJECT_0 = 0
WAIT_TIMEOUT = 258


class EVT_VARIANT(ctypes.Structure):
    """winevt.h: an 8-byte value union, then Count and Type (16 bytes on x64)."""

    _fields_ = [("Value", UINT64), ("Count", DWORD), ("Type", DWORD)]


PEVT_HANDLE = ctypes.POINTER(EVT_HANDLE)

wevtapi = LazyDll(
    "wevtapi",
    {
        "EvtSubscribe": (
            EVT_HANDLE,
            [EVT_HANDLE, HANDLE, LPWSTR, LPWSTR, EVT_HANDLE, PVOID, PVOID, DWORD],
        ),
        "EvtNext": (BOOL, [EVT_HANDLE, DWORD, PEVT_HANDLE, DWORD, DWORD, ctypes.POINTER(DWORD)]),
        "EvtRender": (
            BOOL,
            [
                EVT_HANDLE,
                EVT_HANDLE,
                DWORD,
                DWORD,
                PVOID,
                ctypes.POINTER(DWORD),
                ctypes.POINTER(DWORD),
            ],
        ),
        "EvtCreateBookmark": (EVT_HANDLE, [LPWSTR]),
        "EvtUpdateBookmark": (BOOL, [EVT_HANDLE, EVT_HANDLE]),
        "EvtClose": (BOOL, [EVT_HANDLE]),
    },
)

kernel32_events = LazyDll(
    "kernel32",
    {
        "CreateEventW": (HANDLE, [PVOID, BOOL, BOOL, LPWSTR]),
        "WaitForSingleObject": (DWORD, [HANDLE, DWORD]),
        "ResetEvent": (BOOL, [HANDLE]),
        "CloseHandle": (BOOL, [HANDLE]),
    },
)
