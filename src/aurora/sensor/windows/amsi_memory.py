"""AmsiScanBuffer's first bytes inside each PowerShell process, compared with amsi.dll on disk.

Patching AmsiScanBuffer in a PowerShell process's memory (``mov eax, 0x80070057; ret`` and its
variants) makes every script scan report clean without touching the file. For each
powershell.exe / pwsh.exe the guard opens the process for reading (PROCESS_VM_READ |
PROCESS_QUERY_INFORMATION), finds amsi.dll's load base among its modules
(K32EnumProcessModulesEx, K32GetModuleFileNameExW), reads the function at base + its export RVA
(ReadProcessMemory) and compares it with the same bytes of the DLL file the process loaded.
x64 code addresses its data relative to RIP, so a prologue carries no base relocation and the
bytes must match exactly.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from aurora.sensor.windows.ffi.types import BOOL, DWORD, HANDLE, PVOID, LazyDll
from aurora.sensor.windows.guard import GuardFinding, amsi_integrity
from aurora.sensor.windows.pe_exports import PeError, read_export

log = logging.getLogger(__name__)

PROCESS_VM_READ = 0x0010
PROCESS_QUERY_INFORMATION = 0x0400
LIST_MODULES_ALL = 0x03
ERROR_ACCESS_DENIED = 5
POWERSHELL_IMAGES = frozenset({"powershell.exe", "pwsh.exe"})
FUNCTION = "AmsiScanBuffer"
HEAD_BYTES = 16
_MAX_MODULES = 4096
SIZE_T = ctypes.c_uint64

kernel32_memory = LazyDll(
    "kernel32",
    {
        "OpenProcess": (HANDLE, [DWORD, BOOL, DWORD]),
        "CloseHandle": (BOOL, [HANDLE]),
        "ReadProcessMemory": (BOOL, [HANDLE, PVOID, PVOID, SIZE_T, ctypes.POINTER(SIZE_T)]),
        # The K32 names are kernel32's own exports of the psapi functions (Windows 7 and later).
        "K32EnumProcessModulesEx": (BOOL, [HANDLE, PVOID, DWORD, ctypes.POINTER(DWORD), DWORD]),
        "K32GetModuleFileNameExW": (DWORD, [HANDLE, PVOID, PVOID, DWORD]),
    },
)


class ProcessMemory:
    """The process-reading calls; tests pass a fake ``dll`` with the same functions."""

    def __init__(self, dll: Any = None, last_error: Callable[[], int] | None = None) -> None:
        self.dll = dll if dll is not None else kernel32_memory
        getter: Callable[[], int] = getattr(ctypes, "get_last_error", lambda: 0)
        self.last_error = last_error or getter

    def open(self, pid: int) -> int | None:
        """A read handle, or None when the process is gone or refuses us (logged)."""
        h = self.dll.OpenProcess(PROCESS_VM_READ | PROCESS_QUERY_INFORMATION, 0, pid)
        if not h:
            code = int(self.last_error())
            log.debug("OpenProcess(%d) failed with error %d", pid, code)
            return None
        return int(h)

    def close(self, handle: int) -> None:
        self.dll.CloseHandle(handle)

    def module_base(self, handle: int, dll_name: str) -> tuple[int, Path] | None:
        """Load base and file path of the module named ``dll_name`` in the process, if loaded."""
        modules = (PVOID * _MAX_MODULES)()
        needed = DWORD()
        if not self.dll.K32EnumProcessModulesEx(
            handle, modules, ctypes.sizeof(modules), ctypes.byref(needed), LIST_MODULES_ALL
        ):
            return None
        count = min(int(needed.value) // ctypes.sizeof(PVOID), _MAX_MODULES)
        name_buf = ctypes.create_string_buffer(2 * 1024)
        for base in modules[:count]:
            if not base:
                continue
            chars = int(self.dll.K32GetModuleFileNameExW(handle, base, name_buf, 1024))
            path = name_buf.raw[: chars * 2].decode("utf-16-le", "replace")
            if path.rsplit("\\", 1)[-1].lower() == dll_name:
                return int(base), Path(path)
        return None

    def read(self, handle: int, address: int, length: int) -> bytes:
        """Exactly ``length`` bytes at ``address`` in the process, or b"" if they cannot be read."""
        buf = ctypes.create_string_buffer(length)
        got = SIZE_T()
        if not self.dll.ReadProcessMemory(handle, address, buf, length, ctypes.byref(got)):
            return b""
        return buf.raw[: int(got.value)] if int(got.value) == length else b""


def _powershell_pids() -> list[int]:
    import psutil

    pids = []
    for proc in psutil.process_iter(["name"]):
        name = str(proc.info.get("name") or "").lower()
        if name in POWERSHELL_IMAGES:
            pids.append(proc.pid)
    return pids


def check_amsi(
    memory: ProcessMemory | None = None,
    pids: Callable[[], Iterable[int]] = _powershell_pids,
    disk_path: Callable[[Path], Path] = lambda loaded: loaded,
    function: str = FUNCTION,
) -> list[GuardFinding]:
    """One finding per PowerShell process with amsi.dll loaded: healthy when AmsiScanBuffer's
    first bytes in memory equal the file's. A process that exited or has not loaded amsi.dll
    yet gives none; one whose memory cannot be read is reported as unreadable."""
    memory = memory or ProcessMemory()
    out: list[GuardFinding] = []
    for pid in pids():
        handle = memory.open(pid)
        if handle is None:
            continue
        try:
            found = memory.module_base(handle, "amsi.dll")
            if found is None:
                continue
            base, loaded = found
            try:
                export = read_export(disk_path(loaded), function, HEAD_BYTES)
            except PeError as exc:
                out.append(GuardFinding(f"amsi.{pid}", False, f"amsi.dll on disk: {exc}"))
                continue
            in_memory = memory.read(handle, base + export.rva, HEAD_BYTES)
            out.append(amsi_integrity(pid, in_memory, export.head))
        finally:
            memory.close(handle)
    return out
