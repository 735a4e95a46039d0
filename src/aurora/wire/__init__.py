"""Code both sides of the wire share: the generated protobuf (``aurora.v1``) and the batch codec."""

from aurora.wire.codec import (
    MAX_BATCH_EVENTS,
    MAX_UNCOMPRESSED_BYTES,
    BatchDecodeError,
    decode_events,
    encode_batch,
    encode_batch_raw,
)

__all__ = [
    "MAX_BATCH_EVENTS",
    "MAX_UNCOMPRESSED_BYTES",
    "BatchDecodeError",
    "decode_events",
    "encode_batch",
    "encode_batch_raw",
]
