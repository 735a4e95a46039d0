"""A DLL's exported function as it lies on disk: its RVA and its first bytes, found through the
PE export table (``pefile``), with the RVA mapped to a file offset through the section table.

The guard compares these bytes with the same function in a process's memory, where the module
is mapped at some base: memory address = base + RVA, file offset = the section's raw pointer +
(RVA - the section's virtual address).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pefile

from aurora.errors import AuroraError


class PeError(AuroraError):
    """A file that is not a PE image, or lacks the export asked for."""


@dataclass(frozen=True)
class Export:
    name: str
    rva: int
    file_offset: int
    head: bytes  # the function's first bytes in the file


_cache: dict[tuple[str, str, int, int, int], Export] = {}
_cache_lock = threading.Lock()


def read_export(path: Path, name: str, length: int = 16) -> Export:
    """``name``'s RVA, file offset and first ``length`` bytes in the PE file at ``path``.

    Cached by path, size and mtime: the guard asks for amsi.dll's AmsiScanBuffer on every check,
    and the file changes only with a Windows update.
    """
    try:
        st = path.stat()
    except OSError as exc:
        raise PeError(f"{path}: cannot read: {exc.strerror or exc}") from None
    key = (str(path), name, length, st.st_size, st.st_mtime_ns)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    found = _parse(path, name, length)
    with _cache_lock:
        if len(_cache) > 64:
            _cache.clear()
        _cache[key] = found
    return found


def _parse(path: Path, name: str, length: int) -> Export:
    data = path.read_bytes()
    try:
        pe = pefile.PE(data=data, fast_load=True)
        pe.parse_data_directories(
            directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_EXPORT"]]
        )
    except pefile.PEFormatError as exc:
        raise PeError(f"{path}: not a PE image: {exc.value}") from None
    try:
        exports = getattr(pe, "DIRECTORY_ENTRY_EXPORT", None)
        if exports is None:
            raise PeError(f"{path}: has no export table")
        wanted = name.encode()
        symbol = next((s for s in exports.symbols if s.name == wanted), None)
        if symbol is None:
            raise PeError(f"{path}: exports no {name}")
        if symbol.forwarder:
            # A forwarded export has no code here, only the name of another DLL's function.
            raise PeError(f"{path}: {name} is forwarded to {symbol.forwarder.decode()}")
        offset = pe.get_offset_from_rva(symbol.address)
        if offset is None or offset + length > len(data):
            raise PeError(f"{path}: {name} at RVA {symbol.address:#x} lies outside the file")
        return Export(name, int(symbol.address), int(offset), data[offset : offset + length])
    finally:
        pe.close()
