"""Event batch codec: round-trips through protobuf bytes, compression, and every rejection."""

from __future__ import annotations

import orjson
import pytest
import zstandard

from aurora.v1 import stream_pb2
from aurora.wire import BatchDecodeError, decode_events, encode_batch, encode_batch_raw

EVENTS = [
    {
        "class_uid": 1007,
        "activity_id": 1,
        "time": 1_700_000_000_000 + i,
        "process": {"pid": 1000 + i, "cmd_line": f"/bin/echo hello {i}", "name": "echo"},
        "metadata": {"version": "1.8.0", "product": {"name": "Aurora EDR"}},
    }
    for i in range(500)
]


def roundtrip(batch: stream_pb2.EventBatch) -> stream_pb2.EventBatch:
    """Through the wire format, as gRPC would carry it."""
    return stream_pb2.EventBatch.FromString(batch.SerializeToString())


@pytest.mark.parametrize("compress", [True, False])
def test_roundtrip(compress: bool) -> None:
    batch = encode_batch(
        "sensor-1", 41, EVENTS, kernel_drops=3, spool_evicted=7, spool_corrupt=2, compress=compress
    )
    got = roundtrip(batch)
    assert got.sensor_id == "sensor-1"
    assert got.first_seq == 41
    assert got.count == len(EVENTS)
    assert (got.drops.kernel, got.drops.spool_evicted, got.drops.spool_corrupt) == (3, 7, 2)
    assert decode_events(got) == EVENTS


def test_compression_shrinks_realistic_events() -> None:
    batch = encode_batch("s", 1, EVENTS)
    assert batch.compression == stream_pb2.COMPRESSION_ZSTD
    assert len(batch.events) * 5 < batch.uncompressed_size


def test_raw_encoding_matches_dict_encoding() -> None:
    raw = [orjson.dumps(e) for e in EVENTS]
    assert decode_events(roundtrip(encode_batch_raw("s", 1, raw))) == EVENTS


def _tampered(**changes: object) -> stream_pb2.EventBatch:
    batch = encode_batch("s", 1, EVENTS[:3])
    for key, value in changes.items():
        setattr(batch, key, value)
    return batch


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (_tampered(count=0), "empty batch"),
        (_tampered(count=4), "claims 4 events but holds 3"),
        (_tampered(count=10_000_000), "limit is"),
        (_tampered(first_seq=0), "first_seq"),
        (_tampered(events=b"\x28\xb5\x2f\xfd garbage"), "corrupt zstd"),
        (_tampered(compression=7), "unknown compression"),
        (_tampered(uncompressed_size=(1 << 32) - 1), "uncompressed"),
        (_tampered(uncompressed_size=5), "differs from the declared"),
    ],
)
def test_rejections(batch: stream_pb2.EventBatch, message: str) -> None:
    with pytest.raises(BatchDecodeError, match=message):
        decode_events(batch)


def test_not_json_and_not_objects() -> None:
    for payload in (b"{not json", b"[1, 2]", b'{"a": 1}'):
        batch = stream_pb2.EventBatch(
            sensor_id="s",
            first_seq=1,
            count=2,
            compression=stream_pb2.COMPRESSION_NONE,
            events=payload,
            uncompressed_size=len(payload),
        )
        with pytest.raises(BatchDecodeError):
            decode_events(batch)


def test_decompression_bomb_is_bounded() -> None:
    bomb = zstandard.ZstdCompressor().compress(b"[" + b" " * (8 * 1024 * 1024) + b"]")
    batch = stream_pb2.EventBatch(
        sensor_id="s",
        first_seq=1,
        count=1,
        compression=stream_pb2.COMPRESSION_ZSTD,
        events=bomb,
        uncompressed_size=10,
    )
    with pytest.raises(BatchDecodeError, match=r"corrupt zstd|differs"):
        decode_events(batch, max_uncompressed=1024 * 1024)
