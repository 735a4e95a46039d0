"""The Windows quarantine vault: the POSIX vault's flow with NTFS security in place of modes.

The vault directory and every file in it get a protected DACL granting SYSTEM and the
Administrators group full control and nobody else anything (an SDDL applied with
SetFileSecurityW). Before a file moves in, its owner, group and DACL (as SDDL) and its attribute
bits are recorded, so restore writes back exactly what it had; the content's SHA-256 is checked
first, as on POSIX. Same command contract, same typed errors.
"""

from __future__ import annotations

import os
from pathlib import Path, PureWindowsPath
from typing import Any

from aurora.sensor.response.errors import BadParams, RefusedPath
from aurora.sensor.response.quarantine import Vault
from aurora.sensor.windows.ffi.security import (
    DACL_SECURITY_INFORMATION,
    FILE_ATTRIBUTE_READONLY,
    OWNER_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION,
)
from aurora.sensor.windows.file_security import SAVED_PARTS, FileSecurity

# P: the DACL is protected (nothing inherited from the parent); OICI: the directory's entries
# pass to what is created in it. SY = LocalSystem (the sensor), BA = BUILTIN\Administrators.
VAULT_DIR_SDDL = "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
VAULT_FILE_SDDL = "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)"
LOCK_PARTS = (
    OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION | (PROTECTED_DACL_SECURITY_INFORMATION)
)
_DEVICE_PREFIXES = ("\\\\.\\", "\\\\?\\globalroot")


class WindowsVault(Vault):
    def __init__(self, root: Path, refused: list[Path], security: FileSecurity | None = None):
        super().__init__(root, refused)
        self.security = security or FileSecurity()

    def _ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # Every time, as the POSIX vault chmods every time: a loosened ACL is tightened again.
        self.security.set_sddl(self.root, VAULT_DIR_SDDL, LOCK_PARTS)

    def _check_extra(self, raw: str) -> None:
        if raw.lower().startswith(_DEVICE_PREFIXES):
            raise RefusedPath(f"refusing to quarantine {raw}: a device namespace path")
        # A colon past the drive names an alternate data stream: it is not a file to move.
        if ":" in PureWindowsPath(raw).relative_to(PureWindowsPath(raw).anchor).as_posix():
            raise BadParams(f"quarantine path {raw!r} names an alternate data stream")

    def _metadata(self, path: Path, st: os.stat_result) -> dict[str, Any]:
        sddl = self.security.get_sddl(path)
        attributes = self.security.get_attributes(path)
        if attributes & FILE_ATTRIBUTE_READONLY:
            # A read-only file cannot be deleted after a cross-volume copy; restore sets it back.
            self.security.set_attributes(path, attributes & ~FILE_ATTRIBUTE_READONLY)
        return {"sddl": sddl, "attributes": attributes}

    def _lock_down(self, blob: Path) -> None:
        self.security.set_sddl(blob, VAULT_FILE_SDDL, LOCK_PARTS)

    def _put_back(self, dest: Path, record: dict[str, Any]) -> None:
        os.utime(dest, ns=(record["atime_ns"], record["mtime_ns"]))
        self.security.set_attributes(dest, record["attributes"])
        # Last: the original DACL may not let the sensor touch the file any more.
        self.security.set_sddl(dest, record["sddl"], SAVED_PARTS)
