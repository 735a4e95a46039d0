"""A minimal ctypes binding to the system libbpf (Debian ``libbpf1``): open, load, attach, maps.

Ring buffers are read directly (ringbuf.py). Only what the sensor needs: BCC cannot run here (no
kernel headers) and no maintained Python binding of libbpf ships in Debian or on PyPI.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Iterator
from pathlib import Path

from aurora.errors import AuroraError


class BpfError(AuroraError):
    """A libbpf call failed; the message names the call, the object and the errno."""


_lib: ctypes.CDLL | None = None


def lib() -> ctypes.CDLL:
    """Load libbpf.so.1 once and declare the prototypes we use."""
    global _lib
    if _lib is not None:
        return _lib
    name = ctypes.util.find_library("bpf") or "libbpf.so.1"
    try:
        so = ctypes.CDLL(name, use_errno=True)
    except OSError as exc:
        raise BpfError(f"cannot load libbpf ({exc}); install the libbpf1 package") from None
    vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    protos: dict[str, tuple[object, list[object]]] = {
        "bpf_object__open_file": (vp, [cp, vp]),
        "bpf_object__load": (ci, [vp]),
        "bpf_object__close": (None, [vp]),
        "bpf_object__next_program": (vp, [vp, vp]),
        "bpf_object__find_map_by_name": (vp, [vp, cp]),
        "bpf_object__find_map_fd_by_name": (ci, [vp, cp]),
        "bpf_program__name": (cp, [vp]),
        "bpf_program__attach": (vp, [vp]),
        "bpf_program__set_autoload": (ci, [vp, ctypes.c_bool]),
        "bpf_link__destroy": (ci, [vp]),
        "bpf_map__set_max_entries": (ci, [vp, ctypes.c_uint32]),
        "bpf_map_update_elem": (ci, [ci, vp, vp, ctypes.c_uint64]),
        "bpf_map_lookup_elem": (ci, [ci, vp, vp]),
        "libbpf_num_possible_cpus": (ci, []),
        "libbpf_set_print": (vp, [vp]),
    }
    for fn, (res, args) in protos.items():
        f = getattr(so, fn)
        f.restype = res
        f.argtypes = args
    so.libbpf_set_print(None)  # libbpf's own chatter would interleave with our log lines
    _lib = so
    return so


def _fail(call: str, what: str, rc: int | None = None) -> BpfError:
    err = abs(rc) if rc else ctypes.get_errno()
    return BpfError(f"{call} failed for {what}: {os.strerror(err) if err else 'unknown error'}")


class BpfObject:
    """One compiled ``.bpf.o``: its programs, maps and the links that attach them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._l = lib()
        self._obj = self._l.bpf_object__open_file(str(path).encode(), None)
        if not self._obj:
            raise _fail("bpf_object__open_file", path.name)
        self._links: list[int] = []
        #: program name -> (program, link) for every program attached (the guard checks them).
        self.attached: dict[str, tuple[int, int]] = {}

    def set_max_entries(self, map_name: str, n: int) -> None:
        m = self._l.bpf_object__find_map_by_name(self._obj, map_name.encode())
        if not m:
            raise BpfError(f"{self.path.name} has no map {map_name}")
        rc = self._l.bpf_map__set_max_entries(m, n)
        if rc:
            raise _fail("bpf_map__set_max_entries", map_name, rc)

    def programs(self) -> Iterator[tuple[str, int]]:
        prog = self._l.bpf_object__next_program(self._obj, None)
        while prog:
            yield self._l.bpf_program__name(prog).decode(), prog
            prog = self._l.bpf_object__next_program(self._obj, prog)

    def find_map(self, map_name: str) -> int:
        """The libbpf map handle (for pinning before load)."""
        m = self._l.bpf_object__find_map_by_name(self._obj, map_name.encode())
        if not m:
            raise BpfError(f"{self.path.name} has no map {map_name}")
        return int(m)

    def load(self) -> None:
        rc = self._l.bpf_object__load(self._obj)
        if rc:
            raise _fail("bpf_object__load (verifier)", self.path.name, rc)

    def attach_all(self) -> dict[str, str]:
        """Attach every program; returns {program: reason} for those that could not attach
        (a tracepoint this kernel lacks, e.g. init_module without CONFIG_MODULES)."""
        failed: dict[str, str] = {}
        for name, prog in self.programs():
            link = self._l.bpf_program__attach(prog)
            if not link:
                failed[name] = str(_fail("bpf_program__attach", f"{self.path.name}:{name}"))
            else:
                self._links.append(link)
                self.attached[name] = (prog, link)
        if failed and not self._links:
            raise BpfError("; ".join(failed.values()))
        return failed

    def map_fd(self, name: str) -> int:
        fd = int(self._l.bpf_object__find_map_fd_by_name(self._obj, name.encode()))
        if fd < 0:
            raise BpfError(f"{self.path.name} has no map {name}")
        return fd

    def close(self) -> None:
        for link in self._links:
            self._l.bpf_link__destroy(link)
        self._links.clear()
        self.attached.clear()
        if self._obj:
            self._l.bpf_object__close(self._obj)
            self._obj = None


def map_update(
    fd: int,
    key: ctypes.Array[ctypes.c_char] | ctypes._SimpleCData[int] | ctypes.Structure,
    value: object,
) -> None:
    rc = lib().bpf_map_update_elem(fd, ctypes.byref(key), ctypes.byref(value), 0)  # type: ignore[arg-type]
    if rc:
        raise _fail("bpf_map_update_elem", f"fd {fd}", rc)


def percpu_sum(fd: int, slots: int | list[int]) -> int:
    """Sum a per-CPU array of u64 over every possible CPU and every slot (the first ``slots``
    slots, or the slots listed)."""
    ncpu = int(lib().libbpf_num_possible_cpus())
    values = (ctypes.c_uint64 * ncpu)()
    total = 0
    for slot in range(slots) if isinstance(slots, int) else slots:
        key = ctypes.c_uint32(slot)
        if lib().bpf_map_lookup_elem(fd, ctypes.byref(key), values) == 0:
            total += sum(values)
    return total
