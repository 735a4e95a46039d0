"""Code both sides of the wire share: the generated protobuf (``aurora.v1``), the batch codec and
the table of response actions with their ``Command`` form."""

from aurora.wire.action_codec import check_sendable, for_executor, from_command, to_command
from aurora.wire.actions import (
    ACTION_NAMES,
    HOST_ACTIONS,
    REGISTRY,
    REQUESTABLE,
    ActionSpec,
    Param,
    check_request,
)
from aurora.wire.codec import (
    MAX_BATCH_EVENTS,
    MAX_UNCOMPRESSED_BYTES,
    BatchDecodeError,
    decode_events,
    encode_batch,
    encode_batch_raw,
)

__all__ = [
    "ACTION_NAMES",
    "HOST_ACTIONS",
    "MAX_BATCH_EVENTS",
    "MAX_UNCOMPRESSED_BYTES",
    "REGISTRY",
    "REQUESTABLE",
    "ActionSpec",
    "BatchDecodeError",
    "Param",
    "check_request",
    "check_sendable",
    "decode_events",
    "encode_batch",
    "encode_batch_raw",
    "for_executor",
    "from_command",
    "to_command",
]
