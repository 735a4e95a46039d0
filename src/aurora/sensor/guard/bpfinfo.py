"""What the kernel says about a BPF program, link or map, through libbpf's bpf syscall wrappers.

The guard asks the kernel directly (BPF_OBJ_GET_INFO_BY_FD) rather than shelling out to bpftool:
the answer names the object behind a descriptor, so a descriptor closed and reused, a link gone
or a program swapped all show as a different id or tag.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from aurora.sensor.linux import libbpf

_INFO_BYTES = 256  # larger than the kernel's prog/link info structs; the tail stays zero
_declared = False


def _lib() -> ctypes.CDLL:
    global _declared
    so = libbpf.lib()
    if not _declared:
        vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
        protos: dict[str, tuple[object, list[object]]] = {
            "bpf_link__fd": (ci, [vp]),
            "bpf_link__disconnect": (None, [vp]),
            "bpf_program__fd": (ci, [vp]),
            "bpf_obj_get_info_by_fd": (ci, [ci, vp, ctypes.POINTER(ctypes.c_uint32)]),
            "bpf_map__set_pin_path": (ci, [vp, cp]),
            "bpf_map_delete_elem": (ci, [ci, vp]),
            "bpf_link_get_next_id": (ci, [ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32)]),
            "bpf_link_get_fd_by_id": (ci, [ctypes.c_uint32]),
            "bpf_prog_get_fd_by_id": (ci, [ctypes.c_uint32]),
        }
        for fn, (res, args) in protos.items():
            f = getattr(so, fn)
            f.restype = res
            f.argtypes = args
        _declared = True
    return so


class ObjectGone(libbpf.BpfError):
    """The descriptor no longer names a BPF object (closed, or reused by something else)."""


def _info(fd: int, buf: ctypes.Array[ctypes.c_char] | None = None) -> bytes:
    if fd < 0:
        raise ObjectGone("no descriptor")
    buf = buf if buf is not None else ctypes.create_string_buffer(_INFO_BYTES)
    size = ctypes.c_uint32(_INFO_BYTES)
    rc = _lib().bpf_obj_get_info_by_fd(fd, buf, ctypes.byref(size))
    if rc:
        err = abs(rc)
        raise ObjectGone(f"descriptor {fd}: {os.strerror(err)}")
    return buf.raw


@dataclass(frozen=True)
class ProgInfo:
    prog_id: int
    tag: str
    name: str = ""  # the kernel's copy, at most 15 characters
    map_ids: frozenset[int] = frozenset()  # programs of one loaded object share their maps


@dataclass(frozen=True)
class LinkInfo:
    link_id: int
    prog_id: int
    link_type: int = 0


def prog_info(fd: int) -> ProgInfo:
    """struct bpf_prog_info: type, id, tag[8] are its first fields, name[16] sits at byte 64
    (uapi, stable)."""
    raw = _info(fd)
    name = raw[64:80].split(b"\0", 1)[0].decode(errors="replace")
    return ProgInfo(int.from_bytes(raw[4:8], "little"), raw[8:16].hex(), name)


def prog_info_with_maps(fd: int, most: int = 64) -> ProgInfo:
    """:func:`prog_info` plus the ids of the maps the program uses (the kernel fills the array
    whose address and length go in at nr_map_ids, byte 52, and map_ids, byte 56)."""
    ids = (ctypes.c_uint32 * most)()
    buf = ctypes.create_string_buffer(_INFO_BYTES)
    struct.pack_into("<IQ", buf, 52, most, ctypes.addressof(ids))
    raw = _info(fd, buf)
    count = min(int.from_bytes(raw[52:56], "little"), most)
    name = raw[64:80].split(b"\0", 1)[0].decode(errors="replace")
    return ProgInfo(
        int.from_bytes(raw[4:8], "little"), raw[8:16].hex(), name, frozenset(ids[:count])
    )


def link_info(fd: int) -> LinkInfo:
    """struct bpf_link_info: type, id, prog_id are its first fields (uapi, stable)."""
    raw = _info(fd)
    link_type = int.from_bytes(raw[0:4], "little")
    if link_type == 0:
        raise ObjectGone(f"descriptor {fd} is not a BPF link")
    return LinkInfo(
        int.from_bytes(raw[4:8], "little"), int.from_bytes(raw[8:12], "little"), link_type
    )


def newest_link_id(after: int = 0) -> int:
    """The highest link id on the host, walking only the ids above ``after`` (ids only grow, so
    a walk from the last answer costs one call per link created since)."""
    so = _lib()
    current = ctypes.c_uint32(after)
    while so.bpf_link_get_next_id(current.value, ctypes.byref(current)) == 0:
        after = current.value
    return after


def all_links(after: int = 0) -> Iterator[tuple[LinkInfo, ProgInfo]]:
    """Every BPF link on the host with an id above ``after``, with the program it runs (ids
    walked with BPF_LINK_GET_NEXT_ID); links or programs gone while walking are skipped."""
    so = _lib()
    current = ctypes.c_uint32(after)
    while so.bpf_link_get_next_id(current.value, ctypes.byref(current)) == 0:
        lfd = so.bpf_link_get_fd_by_id(current.value)
        if lfd < 0:
            continue
        try:
            link = link_info(lfd)
            pfd = so.bpf_prog_get_fd_by_id(link.prog_id)
            if pfd < 0:
                continue
            try:
                yield link, prog_info_with_maps(pfd)
            finally:
                os.close(pfd)
        except ObjectGone:
            continue
        finally:
            os.close(lfd)


def link_fd(link: int) -> int:
    return int(_lib().bpf_link__fd(link))


def forget_link(link: int) -> None:
    """Tell libbpf a link's descriptor is no longer ours: someone closed it, and its number may
    now belong to another file, which libbpf would otherwise close when the sensor stops."""
    _lib().bpf_link__disconnect(link)


def program_fd(prog: int) -> int:
    return int(_lib().bpf_program__fd(prog))


def set_pin_path(bpf_map: int, path: str) -> None:
    rc = _lib().bpf_map__set_pin_path(bpf_map, path.encode())
    if rc:
        raise libbpf.BpfError(f"bpf_map__set_pin_path {path}: {os.strerror(abs(rc))}")


def array_digest(fd: int, entries: int, value_size: int) -> str:
    """SHA-256 of every value of an array map, in key order: changes when anyone writes it."""
    so = libbpf.lib()
    digest = hashlib.sha256()
    value = ctypes.create_string_buffer(value_size)
    for i in range(entries):
        key = ctypes.c_uint32(i)
        if so.bpf_map_lookup_elem(fd, ctypes.byref(key), value) != 0:
            raise ObjectGone(f"map descriptor {fd}: lookup failed")
        digest.update(value.raw)
    return digest.hexdigest()


def hash_has(fd: int, key: int) -> bool:
    """Whether a u32-keyed hash map holds ``key``."""
    value = ctypes.create_string_buffer(8)
    k = ctypes.c_uint32(key)
    return bool(libbpf.lib().bpf_map_lookup_elem(fd, ctypes.byref(k), value) == 0)


def hash_put(fd: int, key: int) -> None:
    libbpf.map_update(fd, ctypes.c_uint32(key), ctypes.c_uint8(1))
