"""The batch reader process: same answers as reading in-process, errors carried back, and a
dead worker replaced without losing the batch it was reading."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import psutil
import pytest
from reader_crash import read_or_die

from aurora.collector.detect.batch_reader import BatchReader
from aurora.collector.store import packed_batch
from aurora.config.detection import DetectionConfig
from aurora.detection import DetectionEngine
from aurora.wire.codec import BatchDecodeError, decode_payload, encode_batch, encode_batch_raw

EVENTS = [
    {"time": 1000 + i, "class_uid": 1007, "process": {"pid": i, "name": f"p{i % 3}"}}
    for i in range(50)
]
LIMIT = 1 << 20


@pytest.fixture
def reader() -> Iterator[BatchReader]:
    r = BatchReader()
    yield r
    r.close()


def worker_pids(r: BatchReader) -> list[int]:
    assert r._pool is not None
    return list(r._pool._processes)  # type: ignore[attr-defined]


@pytest.mark.parametrize("compress", [True, False])
def test_reads_what_the_store_keeps(reader: BatchReader, compress: bool) -> None:
    batch = encode_batch("s", 1, EVENTS, compress=compress)
    size, data, keys, hits = reader.read(batch, LIMIT, 7)
    assert hits == []  # no rules: detection is off
    payload = decode_payload(batch, max_uncompressed=LIMIT)
    assert size == len(payload)
    assert keys == packed_batch.scan_keys(payload, len(EVENTS), 7)
    assert keys[4] == (1004, 1007, 4, "p1")
    stored = packed_batch.split(packed_batch.CODEC_ZSTD, size, data)
    assert [packed_batch.load_event(raw) for raw in stored] == EVENTS
    if compress:
        assert data == batch.events  # the sensor's frame is kept as it came


def test_errors_come_back_as_the_same_types(reader: BatchReader) -> None:
    with pytest.raises(BatchDecodeError, match="not valid JSON"):
        reader.read(encode_batch_raw("s", 1, [b"{not json"]), LIMIT, 0)
    with pytest.raises(BatchDecodeError, match="limit is 10"):
        reader.read(encode_batch("s", 1, EVENTS), 10, 0)
    assert reader.read(encode_batch("s", 1, EVENTS[:1]), LIMIT, 0)[2] == [(1000, 1007, 0, "p0")]


def test_a_killed_worker_is_replaced_and_the_batch_read(reader: BatchReader) -> None:
    batch = encode_batch("s", 1, EVENTS)
    reader.read(batch, LIMIT, 0)
    (pid,) = worker_pids(reader)
    os.kill(pid, signal.SIGKILL)
    assert reader.read(batch, LIMIT, 0)[2][0] == (1000, 1007, 0, "p0")
    assert worker_pids(reader) != [pid]


def test_a_batch_that_kills_the_worker_twice_is_rejected_and_reading_goes_on() -> None:
    r = BatchReader(read_or_die)
    try:
        with pytest.raises(BatchDecodeError, match="killed the batch reader process twice"):
            r.read(encode_batch("poison", 1, EVENTS), LIMIT, 0)
        assert len(r.read(encode_batch("s", 1, EVENTS), LIMIT, 0)[2]) == len(EVENTS)
    finally:
        r.close()


def test_close_stops_the_worker() -> None:
    r = BatchReader()
    r.read(encode_batch("s", 1, EVENTS), LIMIT, 0)
    (pid,) = worker_pids(r)
    r.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(RuntimeError, match="closed"):
        r.read(encode_batch("s", 1, EVENTS), LIMIT, 0)


def test_the_worker_leaves_when_the_collector_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "owner.py"
    script.write_text(
        "import sys, time\n"
        "from aurora.collector.detect.batch_reader import BatchReader\n"
        "from aurora.wire.codec import encode_batch\n"
        "if __name__ == '__main__':\n"
        "    r = BatchReader()\n"
        "    r.read(encode_batch('s', 1, [{'time': 1}]), 1 << 20, 0)\n"
        "    print(*r._pool._processes, flush=True)\n"
        "    time.sleep(60)\n"
    )
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True
    ) as owner:
        assert owner.stdout is not None
        worker = psutil.Process(int(owner.stdout.readline()))
        assert worker.ppid() == owner.pid
        owner.kill()
    with contextlib.suppress(psutil.NoSuchProcess):
        worker.wait(timeout=10)  # gone, or a zombie its new parent has not reaped
        assert worker.status() == psutil.STATUS_ZOMBIE


def test_with_rules_the_worker_returns_the_matched_events_and_rule_ids() -> None:
    golden = Path(__file__).parents[1] / "data" / "linux_events"
    attack = orjson.loads((golden / "proc_creation_lnx_aurora_reverse_shell.json").read_bytes())[
        "positive"
    ][0]
    engine = DetectionEngine.load([], include_builtin=True)
    want = tuple(r.id for r in engine.match_rules(attack))
    assert want
    batch = encode_batch("s", 1, [*EVENTS[:3], attack, EVENTS[3]])
    r = BatchReader(rules=([], DetectionConfig()))
    try:
        _, _, keys, hits = r.read(batch, LIMIT, 0)
    finally:
        r.close()
    assert len(keys) == 5
    assert [(i, orjson.loads(raw), ids) for i, raw, ids in hits] == [(3, attack, want)]
