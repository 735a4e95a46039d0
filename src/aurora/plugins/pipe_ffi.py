"""ctypes declarations of the named-pipe, process and security-descriptor calls the plugin pipe
makes (kernel32, advapi32), with the Windows x64 widths on any OS (:mod:`aurora.sensor.windows.
ffi.types`), so they import, and their tests run, on Linux. DLLs bind on first use."""

from __future__ import annotations

import ctypes

from aurora.sensor.windows.ffi.types import (
    BOOL,
    DWORD,
    HANDLE,
    LPWSTR,
    PVOID,
    ULONG,
    LazyDll,
)

PIPE_ACCESS_DUPLEX = 0x00000003
FILE_FLAG_FIRST_PIPE_INSTANCE = 0x00080000
PIPE_TYPE_BYTE = PIPE_READMODE_BYTE = PIPE_WAIT = 0x00000000
PIPE_REJECT_REMOTE_CLIENTS = 0x00000008
PIPE_UNLIMITED_INSTANCES = 255

GENERIC_READ = 0x80000000
GENERIC_WRITE = 0x40000000
OPEN_EXISTING = 3
# The client lets the sensor identify it, never impersonate it.
SECURITY_SQOS_PRESENT = 0x00100000
SECURITY_IDENTIFICATION = 0x00010000
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
SDDL_REVISION_1 = 1
DACL_SECURITY_INFORMATION = 0x00000004

ERROR_ACCESS_DENIED = 5
ERROR_BROKEN_PIPE = 109
ERROR_PIPE_BUSY = 231
ERROR_NO_DATA = 232
ERROR_PIPE_NOT_CONNECTED = 233
ERROR_PIPE_CONNECTED = 535
ERROR_OPERATION_ABORTED = 995
ERROR_FILE_NOT_FOUND = 2

INVALID_HANDLE_VALUE = 0xFFFFFFFFFFFFFFFF  # (HANDLE)-1 as the unsigned pointer ctypes returns
MAX_PATH_CHARS = 32768  # QueryFullProcessImageNameW's longest (extended-length) path


class SECURITY_ATTRIBUTES(ctypes.Structure):
    """minwinbase.h, 24 bytes on x64: nLength, (pad), lpSecurityDescriptor, bInheritHandle."""

    _fields_ = [
        ("nLength", DWORD),
        ("lpSecurityDescriptor", PVOID),
        ("bInheritHandle", BOOL),
    ]


LPDWORD = ctypes.POINTER(DWORD)
PULONG = ctypes.POINTER(ULONG)
LPSECURITY_ATTRIBUTES = ctypes.POINTER(SECURITY_ATTRIBUTES)

kernel32 = LazyDll(
    "kernel32",
    {
        "CreateNamedPipeW": (
            HANDLE,
            [LPWSTR, DWORD, DWORD, DWORD, DWORD, DWORD, DWORD, LPSECURITY_ATTRIBUTES],
        ),
        "ConnectNamedPipe": (BOOL, [HANDLE, PVOID]),
        "DisconnectNamedPipe": (BOOL, [HANDLE]),
        "GetNamedPipeClientProcessId": (BOOL, [HANDLE, PULONG]),
        "CreateFileW": (HANDLE, [LPWSTR, DWORD, DWORD, PVOID, DWORD, DWORD, HANDLE]),
        "ReadFile": (BOOL, [HANDLE, PVOID, DWORD, LPDWORD, PVOID]),
        "WriteFile": (BOOL, [HANDLE, PVOID, DWORD, LPDWORD, PVOID]),
        "CancelIoEx": (BOOL, [HANDLE, PVOID]),
        "CloseHandle": (BOOL, [HANDLE]),
        "OpenProcess": (HANDLE, [DWORD, BOOL, DWORD]),
        "QueryFullProcessImageNameW": (BOOL, [HANDLE, DWORD, LPWSTR, LPDWORD]),
        "LocalFree": (PVOID, [PVOID]),
    },
)

advapi32 = LazyDll(
    "advapi32",
    {
        "ConvertStringSecurityDescriptorToSecurityDescriptorW": (
            BOOL,
            [LPWSTR, DWORD, ctypes.POINTER(PVOID), PULONG],
        ),
        "SetKernelObjectSecurity": (BOOL, [HANDLE, DWORD, PVOID]),
    },
)
