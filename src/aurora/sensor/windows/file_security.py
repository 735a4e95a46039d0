"""A file's security descriptor (as SDDL) and attributes, read and written through advapi32.

Quarantine saves both before moving a file into the vault and writes them back on restore; the
vault's own lock-down is an SDDL applied the same way. Every failure is a typed response error
carrying the Win32 error code, and every buffer the OS allocates is freed with ``LocalFree``.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aurora.sensor.response.errors import PermissionDenied, ResponseError
from aurora.sensor.windows.ffi.security import (
    DACL_SECURITY_INFORMATION,
    GROUP_SECURITY_INFORMATION,
    INVALID_FILE_ATTRIBUTES,
    OWNER_SECURITY_INFORMATION,
    SDDL_REVISION_1,
    SE_FILE_OBJECT,
    advapi32_security,
    kernel32_files,
)
from aurora.sensor.windows.ffi.types import PVOID, ULONG, read_wide, wide

# Owner, group and DACL: what an ordinary file's access depends on. The SACL (auditing) needs
# SeSecurityPrivilege to read and is left where it is (it moves with the file).
SAVED_PARTS = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION
ERROR_ACCESS_DENIED = 5


class SecurityCallFailed(ResponseError):
    """A security or attribute call the OS refused (the Win32 error code is in the message)."""

    code = "security_call_failed"


class FileSecurity:
    """The calls quarantine needs; tests pass fake ``advapi32``/``kernel32`` objects."""

    def __init__(
        self,
        advapi32: Any = None,
        kernel32: Any = None,
        last_error: Callable[[], int] | None = None,
    ) -> None:
        self.advapi32 = advapi32 if advapi32 is not None else advapi32_security
        self.kernel32 = kernel32 if kernel32 is not None else kernel32_files
        getter: Callable[[], int] = getattr(ctypes, "get_last_error", lambda: 0)
        self.last_error = last_error or getter

    def _fail(self, what: str, path: Path | None, code: int) -> ResponseError:
        where = f" on {path}" if path is not None else ""
        if code == ERROR_ACCESS_DENIED:
            return PermissionDenied(f"{what}{where}: access denied")
        return SecurityCallFailed(f"{what}{where} failed with Windows error {code}")

    def get_sddl(self, path: Path) -> str:
        """The file's owner, group and DACL as an SDDL string."""
        name = wide(str(path))
        sd = PVOID()
        code = self.advapi32.GetNamedSecurityInfoW(
            ctypes.addressof(name), SE_FILE_OBJECT, SAVED_PARTS, None, None, None, None,
            ctypes.byref(sd),
        )  # fmt: skip
        if code != 0:
            raise self._fail("reading the security descriptor", path, int(code))
        try:
            text = PVOID()
            size = ULONG()
            ok = self.advapi32.ConvertSecurityDescriptorToStringSecurityDescriptorW(
                sd, SDDL_REVISION_1, SAVED_PARTS, ctypes.byref(text), ctypes.byref(size)
            )
            if not ok or not text.value:
                raise self._fail("converting the security descriptor", path, self.last_error())
            try:
                return read_wide(text.value, max(int(size.value), 1))
            finally:
                self.kernel32.LocalFree(text)
        finally:
            self.kernel32.LocalFree(sd)

    def set_sddl(self, path: Path, sddl: str, parts: int = SAVED_PARTS) -> None:
        """Apply ``sddl`` (the ``parts`` it names) to ``path``."""
        text = wide(sddl)
        sd = PVOID()
        size = ULONG()
        if not self.advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(
            ctypes.addressof(text), SDDL_REVISION_1, ctypes.byref(sd), ctypes.byref(size)
        ):
            raise self._fail(f"parsing SDDL {sddl!r}", None, self.last_error())
        try:
            name = wide(str(path))
            if not self.advapi32.SetFileSecurityW(ctypes.addressof(name), parts, sd):
                raise self._fail("setting the security descriptor", path, self.last_error())
        finally:
            self.kernel32.LocalFree(sd)

    def get_attributes(self, path: Path) -> int:
        name = wide(str(path))
        attrs = int(self.kernel32.GetFileAttributesW(ctypes.addressof(name)))
        if attrs == INVALID_FILE_ATTRIBUTES:
            raise self._fail("reading the attributes", path, self.last_error())
        return attrs

    def set_attributes(self, path: Path, attrs: int) -> None:
        name = wide(str(path))
        if not self.kernel32.SetFileAttributesW(ctypes.addressof(name), attrs):
            raise self._fail("setting the attributes", path, self.last_error())
