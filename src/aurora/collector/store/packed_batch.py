"""How the store keeps events: one compressed JSON array per batch, plus a few index keys per event.

Parsing every event into Python objects and writing each one's JSON as its own row cost more than
everything else on the ingest path together (see docs/collector.md, "Ingest performance"). So a
batch's JSON array is kept whole, compressed (the sensor's own zstd frame when it sent one), and
each event contributes only the columns hunting filters on: time, class, pid and process name.
Those are read with msgspec, whose typed decoder walks the JSON in C and skips every field it was
not asked for without building Python objects for it. An event shaped unusually (say, a
``process`` that is not an object) makes the fast reader give up on the batch, and the ordinary
full parse takes over, so both readers always agree on what is stored.

Readers decompress a batch, split its array into events (again msgspec, without parsing them) and
parse only the events they return.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson
import zstandard

from aurora.wire.codec import INT64_MAX, BatchDecodeError, parse_events

#: The bytes of a batch: a JSON array as sent (codec 0) or zstd-compressed (codec 1).
CODEC_JSON = 0
CODEC_ZSTD = 1

#: An event's row id is its batch id shifted left this far plus its index in the batch; 17 bits
#: hold the wire's 100,000-event batch limit. Ids therefore follow arrival order.
ORDINAL_BITS = 17
MAX_EVENTS_PER_BATCH = (1 << ORDINAL_BITS) - 1

_ZSTD_LEVEL = 1

#: (time_ms, class_uid, pid, process_name) of one event: the columns its index row holds.
EventKeys = tuple[int, int, int | None, str]


@dataclass(frozen=True)
class PackedBatch:
    """A batch as the store keeps it: ``data`` encoded per ``codec``, ``size`` bytes of JSON once
    decoded, and one :data:`EventKeys` per event, in order."""

    codec: int
    size: int
    data: bytes
    keys: Sequence[EventKeys]

    @property
    def count(self) -> int:
        return len(self.keys)


# --- index keys -------------------------------------------------------------------------------


def _stored_int(value: Any) -> int | None:
    """An integer a store can hold, else None: the index key is unknown. The event keeps the
    value verbatim in the batch's JSON, so nothing is lost."""
    # bool is an int to Python but not a time, a class or a pid.
    if isinstance(value, int) and not isinstance(value, bool) and ~INT64_MAX <= value <= INT64_MAX:
        return value
    return None


def _int(value: Any, default: int) -> int:
    stored = _stored_int(value)
    return default if stored is None else stored


def _name(name: Any, path: Any) -> str:
    if isinstance(name, str):
        return name
    if isinstance(path, str):
        return path.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return ""


def process_of(ev: dict[str, Any]) -> dict[str, Any]:
    """The process an event is about: the launched one for 1007, else the acting one."""
    proc = ev.get("process")
    if isinstance(proc, dict):
        return proc
    actor = ev.get("actor")
    if isinstance(actor, dict) and isinstance(actor.get("process"), dict):
        return actor["process"]  # type: ignore[no-any-return]
    return {}


def keys_of(ev: dict[str, Any], default_time: int) -> EventKeys:
    """The index keys of a parsed event (``default_time`` when it has no usable ``time``)."""
    proc = process_of(ev)
    file = proc.get("file")
    path = file.get("path") if isinstance(file, dict) else None
    return (
        _int(ev.get("time"), default_time),
        _int(ev.get("class_uid"), 0),
        _stored_int(proc.get("pid")),
        _name(proc.get("name"), path),
    )


def hostname_of(ev: dict[str, Any]) -> str:
    device = ev.get("device")
    name = device.get("hostname") if isinstance(device, dict) else None
    return name if isinstance(name, str) else ""


# The fields keys_of reads, as msgspec types. A field of another JSON type than declared raises
# ValidationError, and the batch is read the slow way instead.
class _File(msgspec.Struct, gc=False):
    path: Any = None


class _Proc(msgspec.Struct, gc=False):
    pid: Any = None
    name: Any = None
    file: _File | None = None


class _Actor(msgspec.Struct, gc=False):
    process: _Proc | None = None


class _Event(msgspec.Struct, gc=False):
    time: Any = None
    class_uid: Any = None
    process: _Proc | None = None
    actor: _Actor | None = None


_EVENTS = msgspec.json.Decoder(list[_Event])
_SPLIT = msgspec.json.Decoder(list[msgspec.Raw])


def _fast_keys(ev: _Event, default_time: int) -> EventKeys:
    proc = ev.process
    if proc is None and ev.actor is not None:
        proc = ev.actor.process
    if proc is None:
        return (_int(ev.time, default_time), _int(ev.class_uid, 0), None, "")
    path = proc.file.path if proc.file is not None else None
    return (
        _int(ev.time, default_time),
        _int(ev.class_uid, 0),
        _stored_int(proc.pid),
        _name(proc.name, path),
    )


def scan_keys(payload: bytes, count: int, default_time: int) -> list[EventKeys]:
    """Validate a batch's JSON array and return each event's index keys, without building the
    events. Raises :class:`BatchDecodeError` when the array cannot be stored."""
    # msgspec skips the fields it is not asked for without checking their UTF-8, so check it
    # here (ASCII, the usual case, needs no decoding).
    if not payload.isascii():
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BatchDecodeError(
                f"events are not valid UTF-8: {exc.reason} at byte {exc.start}"
            ) from None
    try:
        events = _EVENTS.decode(payload)
    except msgspec.ValidationError:
        return _slow_keys(payload, count, default_time)
    except msgspec.DecodeError as exc:
        raise BatchDecodeError(f"events are not valid JSON: {exc}") from None
    except RecursionError:
        raise BatchDecodeError("events are nested too deeply") from None
    if len(events) != count:
        raise BatchDecodeError(f"batch claims {count} events but holds {len(events)}")
    return [_fast_keys(ev, default_time) for ev in events]


def _slow_keys(payload: bytes, count: int, default_time: int) -> list[EventKeys]:
    return [keys_of(ev, default_time) for ev in parse_events(payload, count)]


# --- packing and unpacking --------------------------------------------------------------------


def compress(payload: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compress(payload)


def pack_events(events: Sequence[dict[str, Any]], default_time: int) -> PackedBatch:
    """Pack events given as dicts (callers without the wire bytes, such as tests and tools).
    Raises TypeError for a value JSON cannot represent, like ``orjson.dumps``."""
    payload = b"[" + b",".join(orjson.dumps(e) for e in events) + b"]"
    keys = [keys_of(e, default_time) for e in events]
    return PackedBatch(CODEC_ZSTD, len(payload), compress(payload), keys)


def split(codec: int, size: int, data: bytes) -> list[msgspec.Raw]:
    """The events of a stored batch, each still JSON (``orjson.loads`` takes them as they are)."""
    if codec == CODEC_ZSTD:
        data = zstandard.ZstdDecompressor().decompress(data, max_output_size=max(size, 1))
    elif codec != CODEC_JSON:
        raise ValueError(f"unknown event batch codec {codec}")
    return _SPLIT.decode(data)


def load_event(raw: msgspec.Raw | bytes) -> dict[str, Any]:
    """Parse one stored event. The fast reader accepts a few things orjson refuses (a number too
    large for a double, nesting deeper than 1024); the standard library reads those."""
    view = memoryview(raw)  # orjson takes a buffer, not a msgspec.Raw itself
    try:
        ev = orjson.loads(view)
    except orjson.JSONDecodeError:
        ev = json.loads(bytes(view))
    return ev if isinstance(ev, dict) else {}
