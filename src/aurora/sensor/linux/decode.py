"""Fast decoders for ring-buffer records: one ``struct.unpack_from`` per record into NamedTuples.

ctypes structures (records.py) are the checked mirror of the C layout, but reading their fields
one attribute at a time costs more than the rest of normalisation; these Structs are built from
the same field list, so they cannot drift from the mirrors (a test compares the two as well).
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from typing import Any, NamedTuple

from aurora.sensor.linux import records as R

_CODES = {
    ctypes.c_uint8: "B",
    ctypes.c_uint16: "H",
    ctypes.c_uint32: "I",
    ctypes.c_uint64: "Q",
    ctypes.c_int32: "i",
}


def struct_format(rec: type[ctypes.Structure], stop: str | None = None) -> str:
    """A little-endian struct format for ``rec``'s fields (nested structs inlined), up to ``stop``.

    Arrays of bytes/chars become ``Ns``; padding is explicit in the C structs, so none is added.
    """
    out = ["<"]
    for name, ctype in rec._fields_:  # type: ignore[misc]
        if name == stop:
            break
        out.append(_code(ctype))
    return "".join(out)


def _code(ctype: type) -> str:
    if ctype in _CODES:
        return _CODES[ctype]
    if issubclass(ctype, ctypes.Structure):
        return struct_format(ctype)[1:]
    if issubclass(ctype, ctypes.Array):
        elem: type = getattr(ctype, "_type_")  # noqa: B009 - ctypes' stubs hide it
        length: int = getattr(ctype, "_length_")  # noqa: B009
        if elem in (ctypes.c_char, ctypes.c_uint8):
            return f"{length}s"
        return _code(elem) * length
    raise TypeError(f"no struct code for {ctype}")


def _cstr(raw: bytes) -> bytes:
    return raw.split(b"\0", 1)[0]


def cfield(data: bytes, start: int, size: int) -> bytes:
    """The NUL-terminated string in ``data[start : start + size]``, without slicing it first."""
    end = data.find(b"\0", start, start + size)
    return data[start : end if end >= 0 else start + size]


class Hdr(NamedTuple):
    ts_ns: int
    cgroup_id: int
    start_ns: int
    kind: int
    pid: int
    tid: int
    ppid: int
    uid: int
    gid: int
    comm: bytes


class Exec(NamedTuple):
    hdr: Hdr
    exe_ino: int
    exe_mtime_ns: int
    exe_dev: int
    flags: int
    euid: int
    egid: int
    suid: int
    sgid: int
    loginuid: int
    sessionid: int
    old_pid: int
    args_size: int
    tty: bytes
    cgroup: bytes
    filename: bytes
    exe: bytes
    cwd: bytes
    argv: bytes


class Exit(NamedTuple):
    hdr: Hdr
    exit_code: int


class Setid(NamedTuple):
    hdr: Hdr
    syscall_nr: int
    euid: int
    suid: int
    fsuid: int
    egid: int
    sgid: int
    fsgid: int


class Ptrace(NamedTuple):
    hdr: Hdr
    request: int
    target_pid: int
    op: int


class Net(NamedTuple):
    hdr: Hdr
    family: int
    protocol: int
    sport: int
    dport: int
    op: int
    saddr: bytes
    daddr: bytes


class Dns(NamedTuple):
    hdr: Hdr
    family: int
    dport: int
    daddr: bytes
    payload: bytes


class File(NamedTuple):
    hdr: Hdr
    op: int
    open_flags: int
    mode: int
    owner_uid: int
    owner_gid: int
    path: bytes
    path2: bytes


class Kmod(NamedTuple):
    hdr: Hdr
    op: int
    flags: int
    image_len: int
    args: bytes
    path: bytes


class Bpf(NamedTuple):
    hdr: Hdr
    cmd: int
    prog_type: int
    insn_cnt: int
    prog_name: bytes


Record = Hdr | Exec | Exit | Setid | Ptrace | Net | Dns | File | Kmod | Bpf

HDR = struct.Struct(struct_format(R.EvHdr))
EXEC = struct.Struct(struct_format(R.ExecEvent, stop="tty"))
EXIT = struct.Struct(struct_format(R.ExitEvent))
SETID = struct.Struct(struct_format(R.SetidEvent))
PTRACE = struct.Struct(struct_format(R.PtraceEvent))
NET = struct.Struct(struct_format(R.NetEvent))
DNS = struct.Struct(struct_format(R.DnsEvent))
FILE = struct.Struct(struct_format(R.FileEvent))
KMOD = struct.Struct(struct_format(R.KmodEvent))
BPF = struct.Struct(struct_format(R.BpfEvent))
# (start_ns, pid, ppid) of a header: all a fork record is read for.
_S, _P, _PP = R.EvHdr.start_ns.offset, R.EvHdr.pid.offset, R.EvHdr.ppid.offset
FORK = struct.Struct(f"<{_S}xQ{_P - _S - 8}xI{_PP - _P - 4}xI")
_N_HDR = 10
_KIND = R.EvHdr.kind.offset
_TTY, _CGROUP, _STRINGS = R.ExecEvent.tty.offset, R.ExecEvent.cgroup.offset, R.ExecEvent.strings
_STR = _STRINGS.offset


_new = tuple.__new__


def _hdr(v: tuple[Any, ...]) -> Hdr:
    # comm keeps its NUL padding here; the normaliser trims it only when it uses it.
    return _new(Hdr, v[:10])  # type: ignore[type-var, no-any-return]


def decode(data: bytes) -> Record | None:
    """The record in one ring-buffer sample, or None for an unknown or short one."""
    if len(data) < HDR.size:
        return None
    kind = int.from_bytes(data[_KIND : _KIND + 4], "little")
    if kind == R.EV_EXEC:
        return _exec(data)
    if kind == R.EV_FORK:
        return _hdr(HDR.unpack_from(data))
    parse = _SMALL.get(kind)
    if parse is None or len(data) < parse[0].size:
        return None
    fmt, make = parse
    return make(fmt.unpack_from(data))


def _exec(data: bytes) -> Exec | None:
    if len(data) < _STR:
        return None
    v = EXEC.unpack_from(data)
    h = _hdr(v)
    exe_len, cwd_len, argv_len, filename_len = v[21:25]
    # The strings are packed back to back: filename, exe, cwd, argv.
    exe = _STR + filename_len
    cwd = exe + exe_len
    argv = cwd + cwd_len
    return Exec._make(
        (
            h,
            *v[10:21],
            v[25],
            _cstr(data[_TTY : _TTY + R.TTY_NAME_MAX]),
            _cstr(data[_CGROUP : _CGROUP + R.CGROUP_NAME_MAX]),
            data[_STR:exe],
            data[exe:cwd],
            data[cwd:argv],
            data[argv : argv + argv_len],
        )
    )


def _dns(v: tuple[Any, ...]) -> Dns:
    return Dns._make((_hdr(v), v[10], v[11], v[14], v[15][: v[12]]))


_SMALL: dict[int, tuple[struct.Struct, Callable[[tuple[Any, ...]], Record]]] = {
    R.EV_EXIT: (EXIT, lambda v: Exit._make((_hdr(v), v[10]))),
    R.EV_SETID: (SETID, lambda v: Setid._make((_hdr(v), *v[10:17]))),
    R.EV_PTRACE: (PTRACE, lambda v: Ptrace._make((_hdr(v), *v[10:13]))),
    R.EV_NET: (NET, lambda v: Net._make((_hdr(v), *v[10:15], v[16], v[17]))),
    R.EV_DNS: (DNS, _dns),
    R.EV_DNS_TCP: (DNS, _dns),
    R.EV_DNS_ANSWER: (DNS, _dns),
    R.EV_DNS_TCP_ANSWER: (DNS, _dns),
    R.EV_FILE: (
        FILE,
        lambda v: File._make((_hdr(v), *v[10:15], _cstr(v[17][: v[15]]), _cstr(v[18][: v[16]]))),
    ),
    R.EV_KMOD: (KMOD, lambda v: Kmod._make((_hdr(v), *v[10:13], _cstr(v[17]), v[18][: v[13]]))),
    R.EV_BPF: (BPF, lambda v: Bpf._make((_hdr(v), *v[10:13], _cstr(v[14])))),
}
