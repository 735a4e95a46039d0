"""The Windows quarantine vault: real files moved, hashed, recorded and restored, with advapi32
and kernel32 faked at the ctypes boundary (what each security call was given is asserted)."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from aurora.config.response import ResponseConfig
from aurora.sensor import platform as host_platform
from aurora.sensor.platform import windows as windows_platform
from aurora.sensor.response import ResponseExecutor
from aurora.sensor.response.errors import PermissionDenied, ResponseError, VaultCorrupt
from aurora.sensor.response.isolation_windows import WfpIsolation
from aurora.sensor.response.quarantine_windows import (
    LOCK_PARTS,
    VAULT_DIR_SDDL,
    VAULT_FILE_SDDL,
    WindowsVault,
)
from aurora.sensor.windows.ffi import security as sec
from aurora.sensor.windows.file_security import SAVED_PARTS, FileSecurity, SecurityCallFailed

from .fake_security import DEFAULT_SDDL, FakeSecurityOs

PAYLOAD = b"MZ\x90\x00" + bytes(range(256)) * 32
ORIGINAL_SDDL = "O:S-1-5-21-1-2-3-1104G:S-1-5-21-1-2-3-513D:PAI(A;;FA;;;S-1-5-21-1-2-3-1104)"


@pytest.fixture
def fake_os() -> FakeSecurityOs:
    return FakeSecurityOs()


@pytest.fixture
def vault(tmp_path: Path, fake_os: FakeSecurityOs) -> WindowsVault:
    security = FileSecurity(fake_os, fake_os, fake_os.last_error)
    return WindowsVault(tmp_path / "vault", [], security)


def make_file(tmp_path: Path, fake_os: FakeSecurityOs, attrs: int = 0x20) -> Path:
    path = tmp_path / "payload.exe"
    path.write_bytes(PAYLOAD)
    os.utime(path, ns=(1_600_000_000_123_456_789, 1_500_000_000_987_654_321))
    fake_os.sddl[str(path)] = ORIGINAL_SDDL
    fake_os.attributes[str(path)] = attrs
    return path


def test_security_descriptor_header_has_the_winnt_layout() -> None:
    # winnt.h SECURITY_DESCRIPTOR_RELATIVE: BYTE, BYTE, WORD, then four DWORD offsets.
    s = sec.SECURITY_DESCRIPTOR_RELATIVE
    assert ctypes.sizeof(s) == 20
    offsets = {name: getattr(s, name).offset for name, _ in s._fields_}
    assert offsets == {
        "Revision": 0, "Sbz1": 1, "Control": 2, "Owner": 4, "Group": 8, "Sacl": 12, "Dacl": 16
    }  # fmt: skip


def test_security_prototypes_use_windows_widths() -> None:
    # ctypes.wintypes' DWORD/ULONG/LPWSTR follow the host's C types (8-byte DWORD, 4-byte
    # wchar on Linux): none may appear; every integer is 4 bytes and every pointer 8.
    host_types = {ctypes.c_ulong, ctypes.c_long, ctypes.c_wchar_p, ctypes.c_wchar}
    for dll in (sec.advapi32_security, sec.kernel32_files):
        for fname, (restype, argtypes) in dll.prototypes.items():
            for t in [restype, *argtypes]:
                assert t not in host_types, (fname, t)
                assert ctypes.sizeof(t) in (4, 8), (fname, t)
    get_named = sec.advapi32_security.prototypes["GetNamedSecurityInfoW"]
    assert ctypes.sizeof(get_named[0]) == 4  # returns a DWORD error code, not a pointer
    assert [ctypes.sizeof(t) for t in get_named[1]] == [8, 4, 4, 8, 8, 8, 8, 8]
    assert ctypes.sizeof(sec.kernel32_files.prototypes["SetFileAttributesW"][1][1]) == 4


def test_quarantine_locks_the_vault_and_restore_puts_back_the_exact_descriptor(
    vault: WindowsVault, fake_os: FakeSecurityOs, tmp_path: Path
) -> None:
    path = make_file(tmp_path, fake_os)
    before = path.stat()
    rec = vault.quarantine(str(path))
    blob = vault.root / f"{rec['id']}.bin"
    assert not path.exists() and blob.read_bytes() == PAYLOAD
    assert rec["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert (rec["sddl"], rec["attributes"]) == (ORIGINAL_SDDL, 0x20)
    # The descriptor was read before the move, as owner + group + DACL in SDDL revision 1.
    assert fake_os.named("GetNamedSecurityInfoW") == [(str(path), sec.SE_FILE_OBJECT, 7)]
    assert fake_os.named("ConvertSecurityDescriptorToString") == [(1, 7)]
    sets = fake_os.named("SetFileSecurityW")
    assert sets == [
        (str(vault.root), LOCK_PARTS, VAULT_DIR_SDDL),
        (str(blob), LOCK_PARTS, VAULT_FILE_SDDL),
    ]
    assert LOCK_PARTS == 0x80000005  # owner, DACL, and the DACL protected from inheritance
    assert VAULT_FILE_SDDL == "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)"  # SYSTEM and Administrators only
    on_disk = json.loads((vault.root / f"{rec['id']}.json").read_text())
    assert on_disk["sddl"] == ORIGINAL_SDDL

    fake_os.calls.clear()
    back = vault.restore(rec["id"])
    after = path.stat()  # before reading it back, which would move its access time
    assert (after.st_atime_ns, after.st_mtime_ns) == (before.st_atime_ns, before.st_mtime_ns)
    assert back["state"] == "restored" and path.read_bytes() == PAYLOAD
    assert fake_os.named("SetFileSecurityW") == [(str(path), SAVED_PARTS, ORIGINAL_SDDL)]
    assert fake_os.named("SetFileAttributesW") == [(str(path), 0x20)]
    assert fake_os.live == {}, "every buffer the OS allocated was freed"
    assert vault.restore(rec["id"])["already_restored"] is True


def test_read_only_attribute_is_cleared_for_the_move_and_restored(
    vault: WindowsVault, fake_os: FakeSecurityOs, tmp_path: Path
) -> None:
    path = make_file(tmp_path, fake_os, attrs=0x21)  # READONLY | ARCHIVE
    rec = vault.quarantine(str(path))
    assert fake_os.named("SetFileAttributesW") == [(str(path), 0x20)]
    fake_os.calls.clear()
    vault.restore(rec["id"])
    assert fake_os.named("SetFileAttributesW") == [(str(path), 0x21)]


def test_unreadable_descriptor_refuses_and_leaves_the_file(
    vault: WindowsVault, fake_os: FakeSecurityOs, tmp_path: Path
) -> None:
    path = make_file(tmp_path, fake_os)
    fake_os.fail["GetNamedSecurityInfoW"] = 5
    with pytest.raises(PermissionDenied, match="access denied"):
        vault.quarantine(str(path))
    assert path.read_bytes() == PAYLOAD
    assert list(vault.root.iterdir()) == []


def test_vault_file_that_cannot_be_locked_goes_back(
    vault: WindowsVault, fake_os: FakeSecurityOs, tmp_path: Path
) -> None:
    path = make_file(tmp_path, fake_os)
    # The directory locks; the file in it does not: the move is undone and nothing recorded.
    fake_os.fail_set_on_suffix = (".bin", 1307)  # ERROR_INVALID_OWNER
    with pytest.raises(SecurityCallFailed, match="Windows error 1307"):
        vault.quarantine(str(path))
    assert path.read_bytes() == PAYLOAD
    assert list(vault.root.iterdir()) == []
    assert fake_os.live == {}


def test_bad_sddl_is_a_typed_error(fake_os: FakeSecurityOs, tmp_path: Path) -> None:
    fake_os.fail["ConvertStringToSecurityDescriptor"] = 1336  # ERROR_INVALID_ACL
    with pytest.raises(SecurityCallFailed, match=r"parsing SDDL .* Windows error 1336"):
        FileSecurity(fake_os, fake_os, fake_os.last_error).set_sddl(tmp_path, "D:(bogus)")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("\\\\.\\PhysicalDrive0", "device namespace"),
        ("\\\\?\\GLOBALROOT\\Device\\HarddiskVolume1\\x", "device namespace"),
        ("C:\\Users\\bob\\payload.exe:hidden", "alternate data stream"),
    ],
)
def test_device_paths_and_streams_are_refused(vault: WindowsVault, raw: str, error: str) -> None:
    with pytest.raises(ResponseError, match=error):
        vault._check_extra(raw)
    vault._check_extra("C:\\Users\\bob\\payload.exe")  # an ordinary path passes


def test_tampered_blob_is_not_restored(
    vault: WindowsVault, fake_os: FakeSecurityOs, tmp_path: Path
) -> None:
    path = make_file(tmp_path, fake_os)
    rec = vault.quarantine(str(path))
    blob = vault.root / f"{rec['id']}.bin"
    blob.write_bytes(b"swapped")
    with pytest.raises(VaultCorrupt):
        vault.restore(rec["id"])
    assert not path.exists()


def test_dispatcher_uses_the_windows_vault_through_the_dlls(
    tmp_path: Path, fake_os: FakeSecurityOs, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The executor asks the platform seam for its vault; on Windows that is the NTFS vault, whose
    # default FileSecurity binds the module-level DLLs, here replaced by the fake OS.
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(host_platform, "current", lambda: windows_platform)
    monkeypatch.setattr(sec.advapi32_security, "_dll", fake_os)
    monkeypatch.setattr(sec.kernel32_files, "_dll", fake_os)
    monkeypatch.setattr(ctypes, "get_last_error", fake_os.last_error, raising=False)
    executor = ResponseExecutor(tmp_path / "state", ResponseConfig(), None, WfpIsolation())
    assert isinstance(executor.vault, WindowsVault)
    path = make_file(tmp_path, fake_os)
    res = executor.execute("quarantine", {"path": str(path)})
    assert res.ok, res.message
    assert res.data["sddl"] == ORIGINAL_SDDL
    # Restoring the descriptor is refused: the file goes back into the vault, still listed.
    fake_os.fail["SetFileSecurityW"] = 5
    back = executor.execute("restore", {"id": res.data["id"]})
    assert not back.ok and back.error_code == "permission_denied", back
    assert not path.exists()
    assert executor.vault.entries()[0]["state"] == "quarantined"
    del fake_os.fail["SetFileSecurityW"]
    again = executor.execute("restore", {"id": res.data["id"]})
    assert again.ok, again.message
    assert path.read_bytes() == PAYLOAD
    assert fake_os.sddl[str(path)] == ORIGINAL_SDDL != DEFAULT_SDDL
