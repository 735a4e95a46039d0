"""Fuzzing what a sensor sends (hypothesis, bounded: about 30 s in all). The batch decoder and
every stream message must end in a clean refusal, never a crash, a hang or unbounded memory."""

from __future__ import annotations

import contextlib
import logging
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from client import Identity, Stream, make_event
from fuzz_strategies import event_batches, sensor_messages

from aurora.collector.detect.batch_reader import read_batch
from aurora.collector.refusals import RefusalLimiter
from aurora.collector.server import Collector
from aurora.collector.store import packed_batch
from aurora.v1 import stream_pb2
from aurora.wire.codec import INT64_MAX, BatchDecodeError, decode_events, encode_batch
from conftest import addr

_LIMIT = 1 << 20  # bytes of JSON a fuzzed batch may decompress to
_MAX_PEAK = 48 << 20  # the most memory one batch may take to decode: a small multiple of _LIMIT
_FAST = settings(
    max_examples=400,
    deadline=2000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _in_range(value: int | None) -> bool:
    return value is None or ~INT64_MAX <= value <= INT64_MAX


@pytest.mark.timeout(120)
@_FAST
@given(event_batches())
def test_the_batch_decoder_refuses_cleanly(batch: stream_pb2.EventBatch) -> None:
    tracemalloc.start()
    try:
        try:
            size, data, keys, _ = read_batch(batch, _LIMIT, 1_700_000_000_000)
        except BatchDecodeError as exc:
            assert str(exc)  # a reason the ack can carry
            return
        finally:
            peak = tracemalloc.get_traced_memory()[1]
        assert peak < _MAX_PEAK, f"decoding took {peak} bytes"
    finally:
        tracemalloc.stop()
    assert len(keys) == batch.count
    assert all(_in_range(t) and _in_range(c) and _in_range(p) for t, c, p, _ in keys)
    assert len(zstandard.ZstdDecompressor().decompress(data, max_output_size=size)) == size
    # The full parse (detection on, tools) agrees and reads the same keys.
    parsed = decode_events(batch, max_uncompressed=_LIMIT)
    assert [packed_batch.keys_of(e, 1_700_000_000_000) for e in parsed] == keys


@pytest.mark.timeout(60)
@_FAST
@given(st.binary(max_size=512))
def test_any_bytes_parse_as_a_message_or_fail_to_decode(raw: bytes) -> None:
    with contextlib.suppress(DecodeError):
        stream_pb2.SensorMessage.FromString(raw)


@pytest.mark.timeout(180)
def test_fuzzed_stream_messages_over_mtls_leave_the_stream_working(
    collector: Collector, enrolled: Callable[..., Identity], caplog: pytest.LogCaptureFixture
) -> None:
    """One real stream takes every fuzzed message; after each example a good batch must still be
    acknowledged, and nothing the collector logs carries a traceback."""
    ident = enrolled()
    assert collector.stream is not None
    collector.stream.refusals = RefusalLimiter(budget=1 << 30)  # the fuzzer is refused a lot
    cmd = collector.commands.enqueue(ident.sensor_id, "triage")
    stream = Stream(addr(collector), ident)
    stream.hello()
    caplog.set_level(logging.INFO, logger="aurora.collector")
    good_seq = [1]

    @settings(max_examples=60, deadline=10_000, database=None)
    @given(st.lists(sensor_messages(ident.sensor_id, cmd.command_id), min_size=1, max_size=6))
    def run(messages: list[stream_pb2.SensorMessage]) -> None:
        for msg in messages:
            stream.send(**{msg.WhichOneof("body"): getattr(msg, msg.WhichOneof("body"))})
        seq = good_seq[0] = good_seq[0] + 1
        stream.send(batch=encode_batch(ident.sensor_id, seq, [make_event(seq)]))
        while True:
            ack = stream.recv_kind("ack", timeout=10)
            if ack.first_seq == seq and ack.count == 1:
                assert ack.accepted, ack.reason
                return

    try:
        run()
    finally:
        stream.close()
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert not tracebacks, tracebacks
