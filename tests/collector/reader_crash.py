"""A batch reader for the worker process that dies on batches from sensor "poison"."""

from __future__ import annotations

import os

from aurora.collector.detect.batch_reader import Read, read_batch
from aurora.v1 import stream_pb2


def read_or_die(batch: stream_pb2.EventBatch, max_uncompressed: int, received_ms: int) -> Read:
    if batch.sensor_id == "poison":
        os._exit(3)
    return read_batch(batch, max_uncompressed, received_ms)
