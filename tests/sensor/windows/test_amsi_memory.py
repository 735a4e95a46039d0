"""AMSI integrity: the export's bytes found on a real PE file (checked against objdump), and the
bytes read from PowerShell processes whose kernel32 is faked at the ctypes boundary: the module
list, the module path and ReadProcessMemory over the image as the loader maps it, intact or
patched with the known AmsiScanBuffer bypasses."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pefile
import pytest

from aurora.sensor.windows import amsi_memory
from aurora.sensor.windows.amsi_memory import ProcessMemory, check_amsi
from aurora.sensor.windows.pe_exports import PeError, read_export

from .real_pe import EXPORT, download_pe, objdump_bytes, objdump_export

AMSI_PATH = "C:\\Windows\\System32\\amsi.dll"
BASE = 0x7FFA_1230_0000


@pytest.fixture(scope="module")
def real_pe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield download_pe(tmp_path_factory.mktemp("winpe"))


def test_export_rva_offset_and_bytes_match_objdump(real_pe: Path) -> None:
    export = read_export(real_pe, EXPORT)
    image_base, rva = objdump_export(real_pe, EXPORT)
    assert export.rva == rva
    # The file offset is not the RVA (sections are aligned differently on disk and in memory):
    # the bytes there are the function's, as objdump disassembles them at base + RVA.
    assert export.file_offset != export.rva
    assert export.head == objdump_bytes(real_pe, image_base + rva, 16)
    assert len(export.head) == 16


def test_pe_refusals(real_pe: Path, tmp_path: Path) -> None:
    with pytest.raises(PeError, match="exports no AmsiScanBuffer"):
        read_export(real_pe, "AmsiScanBuffer")
    junk = tmp_path / "junk.dll"
    junk.write_bytes(b"MZ" + b"\0" * 200)
    with pytest.raises(PeError, match="not a PE image"):
        read_export(junk, EXPORT)
    with pytest.raises(PeError, match="cannot read"):
        read_export(tmp_path / "missing.dll", EXPORT)


@dataclass
class FakeProcess:
    image: bytes | None  # the mapped amsi.dll, or None when not loaded
    readable: bool = True


@dataclass
class FakeKernel32:
    """Processes whose memory holds a module list and a mapped image at BASE."""

    procs: dict[int, FakeProcess]
    error: int = 0
    opened: list[tuple[int, int]] = field(default_factory=list)
    handles: dict[int, int] = field(default_factory=dict)
    reads: list[tuple[int, int]] = field(default_factory=list)

    def OpenProcess(self, access: int, inherit: int, pid: int) -> int:
        self.opened.append((access, pid))
        if pid not in self.procs:
            self.error = 87
            return 0
        h = 500 + len(self.opened)
        self.handles[h] = pid
        return h

    def CloseHandle(self, h: int) -> int:
        del self.handles[h]
        return 1

    def K32EnumProcessModulesEx(self, h: int, mods: Any, cb: int, needed: Any, flag: int) -> int:
        assert flag == 3 and cb == ctypes.sizeof(mods)
        bases = [0x7FF6_0000_0000, 0x7FFA_0000_0000]  # powershell.exe, ntdll.dll
        if self.procs[self.handles[h]].image is not None:
            bases.append(BASE)
        for i, b in enumerate(bases):
            mods[i] = b
        needed._obj.value = 8 * len(bases)
        return 1

    def K32GetModuleFileNameExW(self, h: int, base: int, buf: Any, size: int) -> int:
        names = {
            0x7FF6_0000_0000: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            0x7FFA_0000_0000: "C:\\Windows\\SYSTEM32\\ntdll.dll",
            BASE: AMSI_PATH,
        }
        raw = names[base].encode("utf-16-le")
        ctypes.memmove(buf, raw, len(raw))
        return len(raw) // 2

    def ReadProcessMemory(self, h: int, addr: int, buf: Any, n: int, got: Any) -> int:
        proc = self.procs[self.handles[h]]
        self.reads.append((addr, n))
        if not proc.readable or proc.image is None:
            self.error = 299  # ERROR_PARTIAL_COPY
            return 0
        data = proc.image[addr - BASE : addr - BASE + n]
        ctypes.memmove(buf, data, len(data))
        got._obj.value = len(data)
        return 1


def mapped(pe_path: Path, patch: bytes = b"") -> bytes:
    """The image as the Windows loader maps it (sections at their RVAs), optionally with the
    export's first bytes overwritten as a bypass would."""
    pe = pefile.PE(str(pe_path))
    image = bytearray(pe.get_memory_mapped_image())
    pe.close()
    rva = read_export(pe_path, EXPORT).rva
    image[rva : rva + len(patch)] = patch
    return bytes(image)


def run(fake: FakeKernel32, real_pe: Path, pids: list[int]) -> dict[int, Any]:
    found = check_amsi(
        ProcessMemory(fake, lambda: fake.error),
        pids=lambda: pids,
        disk_path=lambda loaded: real_pe if str(loaded) == AMSI_PATH else Path("/nonexistent"),
        function=EXPORT,
    )
    return {int(f.check.split(".")[1]): f for f in found}


def test_intact_and_patched_processes(real_pe: Path) -> None:
    fake = FakeKernel32(
        {
            100: FakeProcess(mapped(real_pe)),
            200: FakeProcess(mapped(real_pe, bytes.fromhex("b857000780c3"))),
            300: FakeProcess(mapped(real_pe, bytes.fromhex("31c0c3"))),
            400: FakeProcess(mapped(real_pe, bytes.fromhex("4831c090"))),
        }
    )
    found = run(fake, real_pe, [100, 200, 300, 400])
    assert found[100].healthy and found[100].reason == ""
    assert not found[200].healthy
    assert found[200].reason == (
        "AmsiScanBuffer is patched in pid 200: a known bypass (b857000780c3)"
    )
    assert "pid 300" in found[300].reason and "(31c0c3)" in found[300].reason
    assert not found[400].healthy and found[400].reason.startswith(
        "AmsiScanBuffer is patched in pid 400: 4831c090"
    )
    rva = read_export(real_pe, EXPORT).rva
    assert fake.reads == [(BASE + rva, 16)] * 4  # base + RVA, never the file offset
    assert {access for access, _ in fake.opened} == {0x0410}  # VM_READ | QUERY_INFORMATION
    assert fake.handles == {}, "every process handle closed"


def test_gone_unloaded_and_unreadable_processes(real_pe: Path) -> None:
    fake = FakeKernel32(
        {
            10: FakeProcess(None),  # amsi.dll not loaded yet
            20: FakeProcess(mapped(real_pe), readable=False),
        }
    )
    found = run(fake, real_pe, [10, 20, 30])  # 30 exited before it was opened
    assert set(found) == {20}
    assert not found[20].healthy and found[20].reason == "AmsiScanBuffer could not be read"
    assert fake.handles == {}


def test_amsi_dll_that_is_not_a_pe_is_a_finding(real_pe: Path, tmp_path: Path) -> None:
    fake = FakeKernel32({7: FakeProcess(mapped(real_pe))})
    bogus = tmp_path / "amsi.dll"
    bogus.write_bytes(b"not a dll")
    found = check_amsi(
        ProcessMemory(fake, lambda: fake.error), pids=lambda: [7],
        disk_path=lambda loaded: bogus, function=EXPORT,
    )  # fmt: skip
    assert len(found) == 1 and not found[0].healthy
    assert "amsi.dll on disk" in found[0].reason and "not a PE image" in found[0].reason


def test_prototypes_are_fixed_width() -> None:
    protos = amsi_memory.kernel32_memory.prototypes
    rpm = protos["ReadProcessMemory"][1]
    assert [ctypes.sizeof(t) for t in rpm] == [8, 8, 8, 8, 8]  # SIZE_T is 8 bytes on x64
    assert [ctypes.sizeof(t) for t in protos["OpenProcess"][1]] == [4, 4, 4]
    enum = protos["K32EnumProcessModulesEx"][1]
    assert [ctypes.sizeof(t) for t in enum] == [8, 8, 4, 8, 4]
