"""advapi32/kernel32 prototypes for file security descriptors and attributes (quarantine).

Security descriptors travel as SDDL strings: converting with the OS's own functions keeps every
ACE, flag and inheritance bit exact without parsing ACLs here. Fixed-width types only (see
``types``); the self-relative descriptor header is declared so a built descriptor's control
bits can be checked, and its layout is tested against winnt.h.
"""

from __future__ import annotations

import ctypes

from aurora.sensor.windows.ffi.types import BOOL, DWORD, LPWSTR, PVOID, UCHAR, ULONG, WORD, LazyDll

SDDL_REVISION_1 = 1
SE_FILE_OBJECT = 1  # SE_OBJECT_TYPE
OWNER_SECURITY_INFORMATION = 0x00000001
GROUP_SECURITY_INFORMATION = 0x00000002
DACL_SECURITY_INFORMATION = 0x00000004
PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000
SE_DACL_PROTECTED = 0x1000  # SECURITY_DESCRIPTOR_CONTROL
INVALID_FILE_ATTRIBUTES = 0xFFFFFFFF
FILE_ATTRIBUTE_READONLY = 0x1
FILE_ATTRIBUTE_NORMAL = 0x80


class SECURITY_DESCRIPTOR_RELATIVE(ctypes.Structure):
    """winnt.h: the header of a self-relative descriptor; the four fields are byte offsets."""

    _fields_ = [
        ("Revision", UCHAR),
        ("Sbz1", UCHAR),
        ("Control", WORD),
        ("Owner", DWORD),
        ("Group", DWORD),
        ("Sacl", DWORD),
        ("Dacl", DWORD),
    ]


advapi32_security = LazyDll(
    "advapi32",
    {
        "ConvertStringSecurityDescriptorToSecurityDescriptorW": (
            BOOL,
            [LPWSTR, DWORD, ctypes.POINTER(PVOID), ctypes.POINTER(ULONG)],
        ),
        "ConvertSecurityDescriptorToStringSecurityDescriptorW": (
            BOOL,
            [PVOID, DWORD, DWORD, ctypes.POINTER(PVOID), ctypes.POINTER(ULONG)],
        ),
        # Returns a Win32 error code (0 = success), not a BOOL.
        "GetNamedSecurityInfoW": (
            DWORD,
            [
                LPWSTR,
                DWORD,
                DWORD,
                ctypes.POINTER(PVOID),
                ctypes.POINTER(PVOID),
                ctypes.POINTER(PVOID),
                ctypes.POINTER(PVOID),
                ctypes.POINTER(PVOID),
            ],
        ),
        "SetFileSecurityW": (BOOL, [LPWSTR, DWORD, PVOID]),
    },
)

kernel32_files = LazyDll(
    "kernel32",
    {
        "GetFileAttributesW": (DWORD, [LPWSTR]),
        "SetFileAttributesW": (BOOL, [LPWSTR, DWORD]),
        "LocalFree": (PVOID, [PVOID]),
    },
)
