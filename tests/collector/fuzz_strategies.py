"""Hypothesis strategies for what a hostile sensor can send: event batches (garbage, bombs, and
well-formed JSON with integers of any size) and every other sensor stream message."""

from __future__ import annotations

from typing import Any

import orjson
import zstandard
from hypothesis import strategies as st

from aurora.v1 import common_pb2, stream_pb2

U64 = st.integers(0, (1 << 64) - 1)
U32 = st.integers(0, (1 << 32) - 1)
I64 = st.integers(-(1 << 63), (1 << 63) - 1)
ENUM = st.integers(-5, 10)  # proto3 enums are open: unknown values reach the collector too
SHORT = st.text(max_size=24)

# JSON values with integers well past 64 bits, deep-ish nesting and odd types where the index
# keys are read from (time, class_uid, process.pid, process.name).
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(1 << 70), 1 << 70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_PROCESS = st.fixed_dictionaries(
    {},
    optional={"pid": _JSON, "name": _JSON, "file": st.one_of(_JSON, st.just({"path": "/a/b"}))},
)
EVENT = st.fixed_dictionaries(
    {},
    optional={
        "time": _JSON,
        "class_uid": _JSON,
        "process": st.one_of(_PROCESS, _JSON),
        "actor": st.one_of(st.fixed_dictionaries({"process": _PROCESS}), _JSON),
        "extra": _JSON,
    },
)


def _dumps(value: Any) -> bytes:
    # The standard library writes integers of any size, as a hostile sensor can.
    import json

    return json.dumps(value).encode()


@st.composite
def event_batches(draw: st.DrawFn, sensor_id: str = "") -> stream_pb2.EventBatch:
    """A batch that is usually well formed (so the deep paths run), often lying about itself."""
    events = draw(st.lists(EVENT, min_size=0, max_size=6))
    payload = b"[" + b",".join(_dumps(e) for e in events) + b"]"
    payload = draw(
        st.one_of(
            st.just(payload),
            st.just(payload),
            st.binary(max_size=64),  # garbage
            st.just(b"[" + b"[" * 5000 + b"]" * 5000 + b"]"),  # deep nesting
            st.just(orjson.dumps([{"a": "x" * 1000}] * 2000)),  # over the 1 MiB test limit
        )
    )
    compression = draw(st.sampled_from([1, 2, 2, 0, 7]))
    body = zstandard.ZstdCompressor().compress(payload) if compression == 2 else payload
    if draw(st.integers(0, 9)) == 0:
        body = body[: draw(st.integers(0, len(body)))]  # truncated
    return stream_pb2.EventBatch(
        sensor_id=draw(st.sampled_from([sensor_id, "someone-else"])),
        first_seq=draw(st.one_of(st.integers(1, 1000), U64)),
        count=draw(st.one_of(st.just(len(events)), U32)),
        drops=stream_pb2.DropCounters(kernel=draw(U64), spool_evicted=draw(U64)),
        compression=compression,  # type: ignore[arg-type]
        events=body,
        uncompressed_size=draw(st.one_of(st.just(len(payload)), U32)),
    )


def sensor_messages(sensor_id: str, command_id: str) -> st.SearchStrategy[stream_pb2.SensorMessage]:
    """Any message a sensor may send after its Hello; results, progress and upload chunks are
    often about ``command_id``, a real command queued for the sensor, so they reach the store."""
    M = stream_pb2
    command = st.one_of(st.just(command_id), SHORT)
    heartbeat = st.builds(
        M.Heartbeat,
        sensor_id=SHORT,
        sent_at_unix_ms=I64,
        health=ENUM,
        capabilities=st.lists(
            st.builds(common_pb2.Capability, name=SHORT, loaded=st.booleans(), reason=SHORT),
            max_size=3,
        ),
        spool=st.builds(M.SpoolStatus, bytes_used=U64, bytes_max=U64, events_queued=U64),
        counters=st.dictionaries(SHORT, U64, max_size=4),
        isolation=ENUM,
    )
    result = st.builds(
        M.CommandResult,
        command_id=command,
        status=ENUM,
        error_code=SHORT,
        message=SHORT,
        result_json=st.one_of(st.binary(max_size=32), st.builds(_dumps, _JSON)),
    )
    progress = st.builds(
        M.CommandProgress, command_id=command, fraction=st.floats(width=32), stage=SHORT
    )
    chunk = st.builds(
        M.UploadChunk,
        command_id=command,
        offset=st.one_of(st.just(0), U64),
        data=st.binary(max_size=64),
        last=st.booleans(),
        total_size=U64,
        sha256=st.binary(max_size=32),
    )
    hello = st.builds(M.Hello, sensor_id=st.just(sensor_id), next_seq=U64)
    return st.one_of(
        st.builds(lambda b: M.SensorMessage(batch=b), event_batches(sensor_id)),
        st.builds(lambda h: M.SensorMessage(heartbeat=h), heartbeat),
        st.builds(lambda r: M.SensorMessage(result=r), result),
        st.builds(lambda p: M.SensorMessage(progress=p), progress),
        st.builds(lambda c: M.SensorMessage(chunk=c), chunk),
        st.builds(lambda h: M.SensorMessage(hello=h), hello),
        st.builds(
            lambda pem: M.SensorMessage(renew=M.RenewRequest(csr_pem=pem)), st.binary(max_size=64)
        ),
    )
