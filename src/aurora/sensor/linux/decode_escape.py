"""Fast decoders for the escape family's records (bpf/escape.bpf.c), the same way as
:mod:`aurora.sensor.linux.decode`: one ``struct.unpack_from`` per record into a NamedTuple, with
formats built from the checked ctypes mirrors so they cannot drift from the C structs.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, NamedTuple

from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode import Hdr, struct_format
from aurora.sensor.linux.decode import _cstr as _cstr  # one C-string rule for every decoder


class Ns(NamedTuple):
    hdr: Hdr
    flags: int
    op: int
    ns_type: int
    target_inum: int
    own_inum: int
    target_pid: int
    fd: int


class Mount(NamedTuple):
    hdr: Hdr
    flags: int
    ret: int
    op: int
    mnt_ns: int
    fstype: bytes
    source: bytes
    target: bytes


class Capset(NamedTuple):
    hdr: Hdr
    effective: int
    permitted: int
    inheritable: int
    euid: int
    user_ns: int


class Rename(NamedTuple):
    hdr: Hdr
    new_name: bytes


class Memfd(NamedTuple):
    hdr: Hdr
    flags: int
    name: bytes


class Iouring(NamedTuple):
    hdr: Hdr
    op: int
    fd: int
    sq_entries: int
    cq_entries: int
    setup_flags: int
    opcode: int
    sq_thread: int
    op_name: bytes


class ReleaseAgent(NamedTuple):
    hdr: Hdr
    open_flags: int
    path: bytes


EscapeRecord = Ns | Mount | Capset | Rename | Memfd | Iouring | ReleaseAgent


def _fmt(rec: type[Any]) -> struct.Struct:
    return struct.Struct(struct_format(rec))


def _hdr(v: tuple[Any, ...]) -> Hdr:
    return Hdr._make(v[:10])


_DECODERS: dict[int, tuple[struct.Struct, Callable[[tuple[Any, ...]], EscapeRecord]]] = {
    R.EV_NS: (_fmt(R.NsEvent), lambda v: Ns._make((_hdr(v), *v[10:17]))),
    R.EV_MOUNT: (
        _fmt(R.MountEvent),
        lambda v: Mount._make((_hdr(v), *v[10:14], *(_cstr(s) for s in v[15:18]))),
    ),
    R.EV_CAPSET: (_fmt(R.CapsetEvent), lambda v: Capset._make((_hdr(v), *v[10:15]))),
    R.EV_RENAME: (_fmt(R.RenameEvent), lambda v: Rename._make((_hdr(v), _cstr(v[10])))),
    R.EV_MEMFD: (_fmt(R.MemfdEvent), lambda v: Memfd._make((_hdr(v), v[10], _cstr(v[12])))),
    R.EV_IOURING: (
        _fmt(R.IouringEvent),
        lambda v: Iouring._make((_hdr(v), *v[10:17], _cstr(v[18]))),
    ),
    R.EV_RELEASE_AGENT: (
        _fmt(R.ReleaseAgentEvent),
        lambda v: ReleaseAgent._make((_hdr(v), v[10], _cstr(v[13][: v[11]]))),
    ),
}


def decode(data: bytes) -> EscapeRecord | None:
    """The escape-family record in one ring-buffer sample, or None for another kind or a short
    one."""
    kind = int.from_bytes(data[R.EvHdr.kind.offset : R.EvHdr.kind.offset + 4], "little")
    entry = _DECODERS.get(kind)
    if entry is None or len(data) < entry[0].size:
        return None
    fmt, make = entry
    return make(fmt.unpack_from(data))
