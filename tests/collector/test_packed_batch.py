"""How batches are packed for the store: the fast index reader agrees with the full parse, and
every batch it lets through can be read back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aurora.collector.store import packed_batch
from aurora.collector.store.packed_batch import keys_of, scan_keys
from aurora.wire.codec import BatchDecodeError

ODD_EVENTS: list[dict[str, Any]] = [
    {"time": 5, "class_uid": 1007, "process": {"pid": 7, "name": "curl"}},
    {"time": 5, "class_uid": 4001, "actor": {"process": {"pid": 8, "name": "sshd"}}},
    {"process": {"pid": 9, "file": {"path": "/usr/bin/python3"}}},  # no name, no time
    {"process": {"file": {"path": "C:\\Windows\\cmd.exe"}}},
    {"process": None, "actor": {"process": {"pid": 3}}},
    {"time": True, "class_uid": False, "process": {"pid": True, "name": 5}},
    {"time": 1.5, "class_uid": "1007", "process": {"pid": "12"}},
    {"time": 2**70, "class_uid": -(2**70), "process": {"pid": 2**64}},
    {"time": 7, "device": {"hostname": "h"}, "unmapped": {"deep": [[[{"x": 1}]]]}},
    {"time": 8, "process": {"name": "naïve-名前", "pid": 11}},
    {},
]
# Shapes the fast reader does not model: it must hand the batch to the full parse.
SLOW_EVENTS: list[dict[str, Any]] = [
    {"time": 1, "process": "not an object"},
    {"time": 2, "actor": ["x"]},
    {"time": 3, "process": {"pid": 4, "file": "path-as-string"}},
]


def _payload(events: list[dict[str, Any]]) -> bytes:
    # The standard library writes integers of any size, as a sensor in another language might.
    return json.dumps(events, ensure_ascii=False).encode()


@pytest.mark.parametrize("events", [ODD_EVENTS, ODD_EVENTS + SLOW_EVENTS, SLOW_EVENTS])
def test_fast_reader_agrees_with_the_full_parse(events: list[dict[str, Any]]) -> None:
    got = scan_keys(_payload(events), len(events), default_time=99)
    assert got == [keys_of(e, 99) for e in events]


def test_index_keys_follow_the_documented_rules() -> None:
    keys = [keys_of(e, 99) for e in ODD_EVENTS]
    assert keys[0] == (5, 1007, 7, "curl")
    assert keys[1] == (5, 4001, 8, "sshd")  # the actor's process when there is no process
    assert keys[2] == (99, 0, 9, "python3")  # name from the path, time from the default
    assert keys[3][3] == "cmd.exe"
    assert keys[5] == (99, 0, None, "")  # booleans are not numbers here
    assert keys[6] == (99, 0, None, "")
    assert keys[7] == (99, 0, None, "")  # out of SQLite's 64-bit range
    assert keys[9][3] == "naïve-名前"


@pytest.mark.parametrize(
    ("payload", "count", "reason"),
    [
        (b'[{"a": "\xff\xfe"}]', 1, "not valid UTF-8"),
        (b'[{"a": 1}', 1, "not valid JSON"),
        (b'[{"a": 1},]', 1, "not valid JSON"),
        (b'[{"a": NaN}]', 1, "not valid JSON"),
        (b"[1, 2]", 2, "array of objects"),
        (b'{"a": 1}', 1, "array of objects"),
        (b'[{"a": 1}]', 2, "claims 2 events but holds 1"),
        (b"[" + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"]", 1, "nested too deeply"),
    ],
)
def test_unreadable_batches_are_refused(payload: bytes, count: int, reason: str) -> None:
    with pytest.raises(BatchDecodeError, match=reason):
        scan_keys(payload, count, default_time=0)


def test_what_is_stored_reads_back_even_where_orjson_would_refuse() -> None:
    storable = [e for e in ODD_EVENTS if e.get("time") != 2**70]
    packed = packed_batch.pack_events(storable, default_time=1)
    raws = packed_batch.split(packed.codec, packed.size, packed.data)
    assert [packed_batch.load_event(r) for r in raws] == storable
    assert packed.keys == [keys_of(e, 1) for e in storable]
    with pytest.raises(TypeError):  # what orjson cannot write is refused before storing
        packed_batch.pack_events(ODD_EVENTS, default_time=1)
    wire = _payload(ODD_EVENTS)
    assert scan_keys(wire, len(ODD_EVENTS), 1)[7] == (1, 0, None, "")
    assert (
        packed_batch.load_event(packed_batch.split(packed_batch.CODEC_JSON, 0, wire)[7])["time"]
        == 2**70
    )
    # The fast reader skips a number too large for a double; reading it back still works.
    huge = packed_batch.split(packed_batch.CODEC_JSON, 0, b'[{"a": 1e400, "time": 3}]')
    assert scan_keys(b'[{"a": 1e400, "time": 3}]', 1, 0) == [(3, 0, None, "")]
    assert packed_batch.load_event(huge[0])["a"] == float("inf")


def test_events_are_read_back_with_the_fast_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    packed = packed_batch.pack_events([{"time": 1, "x": "y"}], default_time=0)
    [raw] = packed_batch.split(packed.codec, packed.size, packed.data)

    def refuse(*_: object) -> None:
        raise AssertionError("the slow fallback parsed an ordinary event")

    monkeypatch.setattr(packed_batch.json, "loads", refuse)
    assert packed_batch.load_event(raw) == {"time": 1, "x": "y"}


def test_hostname_is_read_from_the_event() -> None:
    assert packed_batch.hostname_of({"device": {"hostname": "web-01"}}) == "web-01"
    assert packed_batch.hostname_of({"device": "x"}) == ""
