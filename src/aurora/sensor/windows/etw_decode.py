"""ETW payloads -> named fields: manifest events by layout, TraceLogging by its own schema, and
classic kernel process records (the MOF ``Process_V4_TypeGroup1`` layout)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from aurora.errors import AuroraError
from aurora.sensor.windows.etw_providers import LAYOUTS, PROVIDER_NAMES, Layout
from aurora.sensor.windows.etw_record import (
    EXT_TYPE_EVENT_SCHEMA_TL,
    EXT_TYPE_PROV_TRAITS,
    EtwRecord,
)
from aurora.sensor.windows.tracelogging import decode_payload, parse_schema

# Classic kernel events: EVENT_TRACE_GROUP_PROCESS is 0x0300; its high byte is what the record
# header carries. Types 1-4: start, end, rundown start, rundown end (evntrace.h).
KERNEL_GROUP_PROCESS = 0x03
PROCESS_TYPES = {1: "Start", 2: "End", 3: "DCStart", 4: "DCEnd"}
# Image loads are logged under the process group as type 10 (PERFINFO 0x030A); unloads and
# rundowns under EVENT_TRACE_GROUP_IMAGE (0x1400).
KERNEL_GROUP_IMAGE = 0x14
IMAGE_TYPES = {(KERNEL_GROUP_PROCESS, 10): "Load", (KERNEL_GROUP_IMAGE, 10): "Load"} | {
    (KERNEL_GROUP_IMAGE, t): n for t, n in ((2, "Unload"), (3, "DCStart"), (4, "DCEnd"))
}


_KERNEL = "NT Kernel Logger"


class EtwDecodeError(AuroraError):
    """A payload shorter than, or inconsistent with, the layout that describes it."""


@dataclass(frozen=True)
class Decoded:
    """A record's provider name, event name and fields (``fields`` empty when not decodable)."""

    provider_name: str
    event_name: str
    fields: dict[str, Any]
    record: EtwRecord


def _wstr(buf: bytes, pos: int) -> tuple[str, int]:
    end = pos
    while end + 1 < len(buf) and (buf[end] or buf[end + 1]):
        end += 2
    if end + 1 >= len(buf):
        raise EtwDecodeError("unterminated UTF-16 string")
    return buf[pos:end].decode("utf-16-le", "replace"), end + 2


def _astr(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.find(b"\0", pos)
    if end < 0:
        raise EtwDecodeError("unterminated ANSI string")
    return buf[pos:end].decode("latin-1"), end + 1


_INTS = {"u8": "<B", "u32": "<I", "i32": "<i", "u64": "<Q", "filetime": "<Q", "ptr": "<Q"}


def decode_layout(layout: Layout, buf: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pos = 0
    try:
        for name, kind in layout:
            if kind in _INTS:
                fmt = _INTS[kind]
                out[name] = struct.unpack_from(fmt, buf, pos)[0]
                pos += struct.calcsize(fmt)
            elif kind == "bool":
                out[name] = struct.unpack_from("<i", buf, pos)[0] != 0
                pos += 4
            elif kind == "wstr":
                out[name], pos = _wstr(buf, pos)
            elif kind == "astr":
                out[name], pos = _astr(buf, pos)
            else:
                n = 32 if kind == "bin32" else int(out[kind.split(":", 1)[1]])
                if pos + n > len(buf):
                    raise EtwDecodeError(f"field {name}: {n} bytes past the payload's end")
                out[name] = buf[pos : pos + n]
                pos += n
    except struct.error:
        raise EtwDecodeError("payload shorter than its layout") from None
    return out


def _sid(buf: bytes, pos: int) -> tuple[str, int]:
    """A SID as ``S-1-5-21-...``: revision, count, 48-bit big-endian authority, sub-authorities."""
    revision, count = buf[pos], buf[pos + 1]
    authority = int.from_bytes(buf[pos + 2 : pos + 8], "big")
    subs = struct.unpack_from(f"<{count}I", buf, pos + 8)
    return "-".join(["S", str(revision), str(authority), *map(str, subs)]), pos + 8 + 4 * count


def decode_kernel_process(buf: bytes, version: int) -> dict[str, Any]:
    """Process_V3/V4_TypeGroup1 from a 64-bit kernel (pointers are 8 bytes)."""
    if version < 3:
        raise EtwDecodeError(f"kernel process records version {version} are not supported")
    try:
        key, pid, ppid, session, exit_status, dtb = struct.unpack_from("<QIIIiQ", buf, 0)
        pos = 32
        out: dict[str, Any] = {
            "UniqueProcessKey": key,
            "ProcessId": pid,
            "ParentId": ppid,
            "SessionId": session,
            "ExitStatus": exit_status,
            "DirectoryTableBase": dtb,
        }
        if version >= 4:
            out["Flags"] = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        # UserSID is a TOKEN_USER (pointer + attributes, 16 bytes on x64) followed by the SID;
        # a zero pointer means no SID follows.
        has_sid = struct.unpack_from("<Q", buf, pos)[0] != 0
        pos += 16
        out["UserSID"] = ""
        if has_sid:
            out["UserSID"], pos = _sid(buf, pos)
        out["ImageFileName"], pos = _astr(buf, pos)
        out["CommandLine"], pos = _wstr(buf, pos)
        if version >= 4:
            out["PackageFullName"], pos = _wstr(buf, pos)
            out["ApplicationId"], pos = _wstr(buf, pos)
    except (struct.error, IndexError):
        raise EtwDecodeError("kernel process record shorter than its layout") from None
    return out


def decode_kernel_image(buf: bytes, version: int) -> dict[str, Any]:
    """Image_Load (version 2/3) from a 64-bit kernel: base, size, pid, checksum, stamp, file.

    The name is at offset 56 in every record of the recording; the 24 bytes before it (signature
    level and type, DefaultBase, reserved) are not read, as their use varies by record type.
    """
    if version < 2:
        raise EtwDecodeError(f"kernel image records version {version} are not supported")
    try:
        base, size, pid, checksum, stamp = struct.unpack_from("<QQIII", buf, 0)
        name, _ = _wstr(buf, 56)
    except struct.error:
        raise EtwDecodeError("kernel image record shorter than its layout") from None
    return {
        "ImageBase": base,
        "ImageSize": size,
        "ProcessId": pid,
        "ImageChecksum": checksum,
        "TimeDateStamp": stamp,
        "FileName": name,
    }


def _provider_trait_name(raw: bytes | None) -> str:
    if raw is None or len(raw) < 3:
        return ""
    end = raw.find(b"\0", 2)
    return raw[2 : end if end >= 0 else len(raw)].decode("utf-8", "replace")


def decode(record: EtwRecord) -> Decoded:
    """Decode one record; raises :class:`EtwDecodeError` (or TraceLoggingError) when damaged."""
    if record.kernel_group is not None:
        group, kind = record.kernel_group, record.opcode
        if (group, kind) in IMAGE_TYPES:
            fields = decode_kernel_image(record.user_data, record.version)
            return Decoded(_KERNEL, f"Image/{IMAGE_TYPES[(group, kind)]}", fields, record)
        if group == KERNEL_GROUP_PROCESS and kind in PROCESS_TYPES:
            fields = decode_kernel_process(record.user_data, record.version)
            return Decoded(_KERNEL, f"Process/{PROCESS_TYPES[kind]}", fields, record)
        return Decoded(_KERNEL, f"group{group}/{kind}", {}, record)
    schema_tl = record.ext(EXT_TYPE_EVENT_SCHEMA_TL)
    if schema_tl is not None:
        schema = parse_schema(schema_tl)
        name = _provider_trait_name(record.ext(EXT_TYPE_PROV_TRAITS)) or str(record.provider)
        return Decoded(name, schema.event_name, decode_payload(schema, record.user_data), record)
    provider = PROVIDER_NAMES.get(record.provider, str(record.provider))
    layout = LAYOUTS.get((record.provider, record.event_id, record.version))
    if layout is None:
        return Decoded(provider, str(record.event_id), {}, record)
    return Decoded(provider, str(record.event_id), decode_layout(layout, record.user_data), record)
