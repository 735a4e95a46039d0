"""Event batch codec: OCSF dicts <-> ``EventBatch`` (a zstd-compressed JSON array).

The events travel as one JSON array rather than one protobuf message per event: OCSF is a JSON
schema, the store keeps JSON, and one zstd frame over a whole batch compresses several times
better than per-event fields would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
import orjson
import zstandard

from aurora.errors import AuroraError
from aurora.v1 import stream_pb2

MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024
MAX_BATCH_EVENTS = 100_000
#: The largest integer a store column holds (SQLite's and PostgreSQL's signed 64 bits). The wire's
#: uint64 fields go up to twice that, so every one of them is checked against it at decode.
INT64_MAX = (1 << 63) - 1
ZSTD_LEVEL = 3
_SPLIT = msgspec.json.Decoder(list[msgspec.Raw])


class BatchDecodeError(AuroraError):
    """A batch that cannot be accepted; ``reason`` is logged and returned in the BatchAck."""


def encode_batch(
    sensor_id: str,
    first_seq: int,
    events: Sequence[dict[str, Any]],
    *,
    kernel_drops: int = 0,
    spool_evicted: int = 0,
    spool_corrupt: int = 0,
    plugin_drops: int = 0,
    compress: bool = True,
) -> stream_pb2.EventBatch:
    """Build a batch from event dicts."""
    return encode_batch_raw(
        sensor_id,
        first_seq,
        [orjson.dumps(e) for e in events],
        kernel_drops=kernel_drops,
        spool_evicted=spool_evicted,
        spool_corrupt=spool_corrupt,
        plugin_drops=plugin_drops,
        compress=compress,
    )


def encode_batch_raw(
    sensor_id: str,
    first_seq: int,
    raw_events: Sequence[bytes],
    *,
    kernel_drops: int = 0,
    spool_evicted: int = 0,
    spool_corrupt: int = 0,
    plugin_drops: int = 0,
    compress: bool = True,
) -> stream_pb2.EventBatch:
    """Build a batch from events already serialised as JSON objects (as the spool keeps them)."""
    payload = _join(raw_events)
    body = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(payload) if compress else payload
    return stream_pb2.EventBatch(
        sensor_id=sensor_id,
        first_seq=first_seq,
        count=len(raw_events),
        drops=stream_pb2.DropCounters(
            kernel=kernel_drops,
            spool_evicted=spool_evicted,
            spool_corrupt=spool_corrupt,
            plugin=plugin_drops,
        ),
        compression=stream_pb2.COMPRESSION_ZSTD if compress else stream_pb2.COMPRESSION_NONE,
        events=body,
        uncompressed_size=len(payload),
    )


def saturate(value: int) -> int:
    """A wire counter (uint64) as a store can keep it: clamped to :data:`INT64_MAX`."""
    return min(value, INT64_MAX)


def _join(raw_events: Iterable[bytes]) -> bytes:
    return b"[" + b",".join(raw_events) + b"]"


def decode_events(
    batch: stream_pb2.EventBatch, *, max_uncompressed: int = MAX_UNCOMPRESSED_BYTES
) -> list[dict[str, Any]]:
    """Decompress and parse a batch, checking every claim it makes about itself."""
    return parse_events(decode_payload(batch, max_uncompressed=max_uncompressed), batch.count)


def split_events(payload: bytes, count: int) -> list[msgspec.Raw]:
    """Cut a batch's JSON array into its ``count`` events, each still JSON (not parsed)."""
    try:
        raws = _SPLIT.decode(payload)
    except msgspec.ValidationError:
        raise BatchDecodeError("events must be a JSON array of objects") from None
    except msgspec.DecodeError as exc:
        raise BatchDecodeError(f"events are not valid JSON: {exc}") from None
    except RecursionError:
        raise BatchDecodeError("events are nested too deeply") from None
    if len(raws) != count:
        raise BatchDecodeError(f"batch claims {count} events but holds {len(raws)}")
    return raws


def parse_event(raw: msgspec.Raw | bytes) -> dict[str, Any]:
    """One event of :func:`split_events`, parsed; it must be a JSON object."""
    try:
        event = orjson.loads(memoryview(raw))  # orjson takes a buffer, not a msgspec.Raw
    except orjson.JSONDecodeError as exc:
        raise BatchDecodeError(f"events are not valid JSON: {exc}") from None
    if not isinstance(event, dict):
        raise BatchDecodeError("events must be a JSON array of objects")
    return event


def parse_events(payload: bytes, count: int) -> list[dict[str, Any]]:
    """Parse a batch's JSON array, which must hold exactly ``count`` objects. The one full parse
    of a batch: the collector's batch reader and every tool read batches through it."""
    return [parse_event(raw) for raw in split_events(payload, count)]


def decode_payload(
    batch: stream_pb2.EventBatch, *, max_uncompressed: int = MAX_UNCOMPRESSED_BYTES
) -> bytes:
    """Check a batch's header claims and return its JSON array bytes, not yet parsed (for a
    reader that parses them its own way, such as the collector's index extraction)."""
    if batch.count == 0:
        raise BatchDecodeError("empty batch (count is 0)")
    if batch.count > MAX_BATCH_EVENTS:
        raise BatchDecodeError(f"batch claims {batch.count} events, limit is {MAX_BATCH_EVENTS}")
    if batch.first_seq == 0:
        raise BatchDecodeError("first_seq must start at 1")
    if batch.first_seq + batch.count - 1 > INT64_MAX:
        # Sequence numbers are stored and compared as integers; past this they cannot be.
        raise BatchDecodeError(
            f"sequence numbers {batch.first_seq}+{batch.count} exceed the store's 64-bit range"
        )
    if batch.uncompressed_size > max_uncompressed:
        raise BatchDecodeError(
            f"batch is {batch.uncompressed_size} bytes uncompressed, limit is {max_uncompressed}"
        )
    return _decompress(batch, max_uncompressed)


def _decompress(batch: stream_pb2.EventBatch, max_uncompressed: int) -> bytes:
    if batch.compression == stream_pb2.COMPRESSION_NONE:
        if len(batch.events) > max_uncompressed:
            raise BatchDecodeError(f"batch exceeds {max_uncompressed} bytes")
        return batch.events
    if batch.compression != stream_pb2.COMPRESSION_ZSTD:
        raise BatchDecodeError(f"unknown compression {batch.compression}")
    try:
        # max_output_size bounds memory even when the frame header lies about its size.
        out = zstandard.ZstdDecompressor().decompress(
            batch.events, max_output_size=max_uncompressed
        )
    except zstandard.ZstdError as exc:
        raise BatchDecodeError(f"corrupt zstd payload: {exc}") from None
    if len(out) != batch.uncompressed_size:
        raise BatchDecodeError(
            f"uncompressed size {len(out)} differs from the declared {batch.uncompressed_size}"
        )
    return out
