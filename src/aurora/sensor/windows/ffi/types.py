"""Fixed-width Windows C types, the GUID structure, lazy DLL binding and the callback factory.

``ctypes.wintypes`` follows the host's C types, so on Linux its DWORD is 8 bytes and its WCHAR 4;
a structure declared with it has the wrong layout. Everything here has the Windows x64 width
whatever OS imports it.
"""

from __future__ import annotations

import ctypes
import sys
import uuid
from collections.abc import Callable
from typing import Any

UCHAR = ctypes.c_uint8
USHORT = ctypes.c_uint16
WORD = ctypes.c_uint16
ULONG = ctypes.c_uint32
DWORD = ctypes.c_uint32
UINT32 = ctypes.c_uint32
LONG = ctypes.c_int32
BOOL = ctypes.c_int32
ULONGLONG = ctypes.c_uint64
ULONG64 = ctypes.c_uint64
UINT64 = ctypes.c_uint64
LONGLONG = ctypes.c_int64
LARGE_INTEGER = ctypes.c_int64
WCHAR = ctypes.c_uint16
HANDLE = ctypes.c_void_p
PVOID = ctypes.c_void_p
# LPWSTR stays an untyped pointer: c_wchar_p would read 4-byte characters on Linux.
LPWSTR = ctypes.c_void_p
TRACEHANDLE = ctypes.c_uint64
EVT_HANDLE = ctypes.c_void_p
INVALID_PROCESSTRACE_HANDLE = 0xFFFFFFFFFFFFFFFF


class GUID(ctypes.Structure):
    _fields_ = [
        ("Data1", ULONG),
        ("Data2", USHORT),
        ("Data3", USHORT),
        ("Data4", UCHAR * 8),
    ]

    @classmethod
    def from_uuid(cls, value: uuid.UUID | str) -> GUID:
        u = value if isinstance(value, uuid.UUID) else uuid.UUID(value)
        return cls.from_buffer_copy(u.bytes_le)

    def to_uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes_le=bytes(self))


def wide(text: str) -> ctypes.Array[ctypes.c_char]:
    """A NUL-terminated UTF-16LE buffer, the Windows LPCWSTR, built the same on every OS."""
    return ctypes.create_string_buffer((text + "\0").encode("utf-16-le"))


def read_wide(address: int, max_chars: int = 32768) -> str:
    """The UTF-16LE string at ``address`` up to its NUL (bounded: a damaged pointer ends it).
    Read one character at a time: reading ahead of the NUL could run off the buffer's page."""
    units = (ctypes.c_uint16 * max_chars).from_address(address)
    out = []
    for unit in units:
        if unit == 0:
            break
        out.append(unit)
    return b"".join(u.to_bytes(2, "little") for u in out).decode("utf-16-le", "replace")


def callback_type(restype: Any, *argtypes: Any) -> Any:
    """WINFUNCTYPE where it exists (stdcall is x64's only convention anyway), CFUNCTYPE elsewhere,
    so the callback types build, and their tests run, on Linux."""
    factory: Callable[..., Any] = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)
    return factory(restype, *argtypes)


class LazyDll:
    """A DLL opened on the first attribute access, with its prototypes applied then.

    ``prototypes`` maps a function name to ``(restype, argtypes)``. Opening on import would make
    every Windows module fail to import on Linux; opening on use keeps the error at the call,
    where it is a typed one.
    """

    def __init__(self, name: str, prototypes: dict[str, tuple[Any, list[Any]]]) -> None:
        self.name = name
        self.prototypes = prototypes
        self._dll: Any = None

    def _load(self) -> Any:
        if self._dll is None:
            if sys.platform != "win32":
                raise OSError(f"{self.name}.dll exists only on Windows")
            loader: Any = ctypes.WinDLL
            dll = loader(self.name, use_last_error=True)
            for fname, (restype, argtypes) in self.prototypes.items():
                fn = getattr(dll, fname)
                fn.restype = restype
                fn.argtypes = argtypes
            self._dll = dll
        return self._dll

    def __getattr__(self, fname: str) -> Any:
        if fname not in self.__dict__.get("prototypes", {}):
            raise AttributeError(fname)
        return getattr(self._load(), fname)
