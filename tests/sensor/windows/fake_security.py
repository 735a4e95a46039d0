"""advapi32 and kernel32 security/attribute calls faked at the ctypes boundary.

The fake OS keeps one SDDL and one attribute word per path, allocates real ctypes buffers for
what Windows would allocate (descriptors, SDDL strings) so the code under test reads them through
real pointers, records every call's arguments, and counts what was never ``LocalFree``d.
"""

from __future__ import annotations

import ctypes
from typing import Any

from aurora.sensor.windows.ffi.types import read_wide

DEFAULT_SDDL = "O:S-1-5-21-7-7-7-1001G:S-1-5-21-7-7-7-513D:AI(A;ID;FA;;;SY)(A;ID;0x1200a9;;;BU)"


def _value(p: Any) -> int:
    return int(getattr(p, "value", p) or 0)


def _set_out(ref: Any, value: int) -> None:
    ref._obj.value = value


class FakeSecurityOs:
    def __init__(self) -> None:
        self.sddl: dict[str, str] = {}
        self.attributes: dict[str, int] = {}
        self.calls: list[tuple[str, Any]] = []
        self.live: dict[int, Any] = {}  # allocations not yet freed
        self.error = 0
        self.fail: dict[str, int] = {}  # function name -> Win32 error it returns
        self.fail_set_on_suffix: tuple[str, int] | None = None  # (path suffix, error)

    def last_error(self) -> int:
        return self.error

    def _alloc(self, payload: bytes) -> int:
        buf = ctypes.create_string_buffer(payload)
        addr = ctypes.addressof(buf)
        self.live[addr] = buf
        return addr

    def _failing(self, name: str) -> bool:
        if name in self.fail:
            self.error = self.fail[name]
            return True
        return False

    # ----------------------------------------------------------------- advapi32
    def GetNamedSecurityInfoW(self, name, obj, info, po, pg, pd, ps, ppsd):  # type: ignore[no-untyped-def]
        path = read_wide(name)
        self.calls.append(("GetNamedSecurityInfoW", (path, obj, info)))
        if "GetNamedSecurityInfoW" in self.fail:
            return self.fail["GetNamedSecurityInfoW"]
        sddl = self.sddl.get(path, DEFAULT_SDDL)
        _set_out(ppsd, self._alloc(b"SD:" + sddl.encode()))
        return 0

    def ConvertSecurityDescriptorToStringSecurityDescriptorW(self, sd, rev, info, pstr, plen):  # type: ignore[no-untyped-def]
        self.calls.append(("ConvertSecurityDescriptorToString", (rev, info)))
        if self._failing("ConvertSecurityDescriptorToString"):
            return 0
        sddl = ctypes.string_at(_value(sd)).decode()[3:]
        _set_out(pstr, self._alloc((sddl + "\0").encode("utf-16-le")))
        _set_out(plen, len(sddl) + 1)
        return 1

    def ConvertStringSecurityDescriptorToSecurityDescriptorW(self, text, rev, psd, plen):  # type: ignore[no-untyped-def]
        sddl = read_wide(text)
        self.calls.append(("ConvertStringToSecurityDescriptor", (sddl, rev)))
        if self._failing("ConvertStringToSecurityDescriptor"):
            return 0
        _set_out(psd, self._alloc(b"SD:" + sddl.encode()))
        _set_out(plen, len(sddl) + 3)
        return 1

    def SetFileSecurityW(self, name, info, sd):  # type: ignore[no-untyped-def]
        path = read_wide(name)
        sddl = ctypes.string_at(_value(sd)).decode()[3:]
        self.calls.append(("SetFileSecurityW", (path, info, sddl)))
        if self._failing("SetFileSecurityW"):
            return 0
        if self.fail_set_on_suffix and path.endswith(self.fail_set_on_suffix[0]):
            self.error = self.fail_set_on_suffix[1]
            return 0
        self.sddl[path] = sddl
        return 1

    # ----------------------------------------------------------------- kernel32
    def GetFileAttributesW(self, name):  # type: ignore[no-untyped-def]
        path = read_wide(name)
        self.calls.append(("GetFileAttributesW", (path,)))
        return self.attributes.get(path, 0x20)  # FILE_ATTRIBUTE_ARCHIVE

    def SetFileAttributesW(self, name, attrs):  # type: ignore[no-untyped-def]
        path = read_wide(name)
        self.calls.append(("SetFileAttributesW", (path, attrs)))
        self.attributes[path] = attrs
        return 1

    def LocalFree(self, p):  # type: ignore[no-untyped-def]
        addr = _value(p)
        assert addr in self.live, f"LocalFree of {addr:#x}, which the OS never allocated"
        del self.live[addr]
        return None

    def named(self, fn: str) -> list[Any]:
        return [args for name, args in self.calls if name == fn]
