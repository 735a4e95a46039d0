"""TraceLogging events decoded from their self-describing schema (no TDH, no manifest).

A TraceLogging event carries its field names and types in the EVENT_SCHEMA_TL extended item;
the payload is those fields packed in order. This reads the types the providers we consume use
(AMSI's ``AmsiScript``: strings and a counted UINT16 array) plus the other scalar types, and
refuses what it cannot size, so a payload is never misread past an unknown field.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from typing import Any

from aurora.errors import AuroraError

# TraceLoggingProvider.h: the low five bits of an InType byte name the type, 0x60 the count
# kind, 0x80 that an OutType byte follows.
_TYPE_MASK = 0x1F
_COUNT_MASK = 0x60
_CHAIN = 0x80
_CCOUNT = 0x20  # constant count, stored in the metadata
_VCOUNT = 0x40  # variable count, a UINT16 before the values
_OUT_STRING = 2

_FIXED = {
    3: "<b",
    4: "<B",
    5: "<h",
    6: "<H",
    7: "<i",
    8: "<I",
    9: "<q",
    10: "<Q",
    11: "<f",
    12: "<d",
    13: "<i",
    17: "<Q",
    20: "<I",
    21: "<Q",
}
_UNICODESTRING, _ANSISTRING, _BINARY, _GUID = 1, 2, 14, 15
_COUNTEDSTRING, _COUNTEDANSISTRING = 22, 23


class TraceLoggingError(AuroraError):
    """A TraceLogging schema or payload this decoder cannot read."""


@dataclass(frozen=True)
class TlField:
    name: str
    in_type: int
    count_kind: int
    out_type: int
    fixed_count: int


@dataclass(frozen=True)
class TlSchema:
    event_name: str
    fields: tuple[TlField, ...]


def _cstring(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.find(b"\0", pos)
    if end < 0:
        raise TraceLoggingError("TraceLogging schema: unterminated name")
    return buf[pos:end].decode("utf-8", "replace"), end + 1


def parse_schema(meta: bytes) -> TlSchema:
    """EVENT_SCHEMA_TL: UINT16 size, tag bytes (high bit: more follow), name, then fields."""
    if len(meta) < 3:
        raise TraceLoggingError("TraceLogging schema: too short")
    size = struct.unpack_from("<H", meta)[0]
    meta = meta[: min(size, len(meta))]
    pos = 2
    while pos < len(meta) and meta[pos] & 0x80:
        pos += 1
    pos += 1
    name, pos = _cstring(meta, pos)
    fields: list[TlField] = []
    while pos < len(meta):
        fname, pos = _cstring(meta, pos)
        if pos >= len(meta):
            raise TraceLoggingError(f"TraceLogging schema: field {fname!r} has no type")
        in_byte = meta[pos]
        pos += 1
        out_type = 0
        if in_byte & _CHAIN:
            out_byte = meta[pos]
            pos += 1
            out_type = out_byte & 0x7F
            while out_byte & 0x80:  # field tags follow an OutType with its high bit set
                out_byte = meta[pos]
                pos += 1
        fixed = 0
        if in_byte & _COUNT_MASK == _CCOUNT:
            fixed = struct.unpack_from("<H", meta, pos)[0]
            pos += 2
        fields.append(TlField(fname, in_byte & _TYPE_MASK, in_byte & _COUNT_MASK, out_type, fixed))
    return TlSchema(name, tuple(fields))


def _wstring(buf: bytes, pos: int) -> tuple[str, int]:
    end = pos
    while end + 1 < len(buf) and (buf[end] or buf[end + 1]):
        end += 2
    return buf[pos:end].decode("utf-16-le", "replace"), min(end + 2, len(buf))


def _one(buf: bytes, pos: int, t: int) -> tuple[Any, int]:
    if t in _FIXED:
        fmt = _FIXED[t]
        return struct.unpack_from(fmt, buf, pos)[0], pos + struct.calcsize(fmt)
    if t == _UNICODESTRING:
        return _wstring(buf, pos)
    if t == _ANSISTRING:
        end = buf.find(b"\0", pos)
        end = len(buf) if end < 0 else end
        return buf[pos:end].decode("latin-1"), end + 1
    if t == _GUID:
        return str(uuid.UUID(bytes_le=buf[pos : pos + 16])), pos + 16
    if t in (_BINARY, _COUNTEDSTRING, _COUNTEDANSISTRING):
        n = struct.unpack_from("<H", buf, pos)[0]
        raw = buf[pos + 2 : pos + 2 + n]
        if t == _COUNTEDSTRING:
            return raw.decode("utf-16-le", "replace"), pos + 2 + n
        if t == _COUNTEDANSISTRING:
            return raw.decode("latin-1"), pos + 2 + n
        return raw.hex(), pos + 2 + n
    raise TraceLoggingError(f"TraceLogging type {t} is not supported")


def decode_payload(schema: TlSchema, payload: bytes) -> dict[str, Any]:
    """The payload's fields by name; a UINT16 array shown as a string becomes that string."""
    out: dict[str, Any] = {}
    pos = 0
    try:
        for f in schema.fields:
            if f.count_kind == 0:
                out[f.name], pos = _one(payload, pos, f.in_type)
                continue
            if f.count_kind == _VCOUNT:
                n = struct.unpack_from("<H", payload, pos)[0]
                pos += 2
            elif f.count_kind == _CCOUNT:
                n = f.fixed_count
            else:
                raise TraceLoggingError(
                    f"field {f.name!r}: custom-encoded fields are not supported"
                )
            if f.in_type == 6 and f.out_type == _OUT_STRING:
                out[f.name] = payload[pos : pos + 2 * n].decode("utf-16-le", "replace")
                pos += 2 * n
                continue
            values = []
            for _ in range(n):
                v, pos = _one(payload, pos, f.in_type)
                values.append(v)
            out[f.name] = values
    except struct.error:
        raise TraceLoggingError(
            f"TraceLogging event {schema.event_name!r}: payload too short"
        ) from None
    if pos > len(payload):
        raise TraceLoggingError(f"TraceLogging event {schema.event_name!r}: payload too short")
    return out
