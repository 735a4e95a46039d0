"""The bus contract (aurora.collector.bus.base), as one suite every implementation runs.

``BusSuite`` holds the tests; each implementation supplies a ``bus`` fixture in a one-line class
(the in-process bus here; the JetStream bus of the scale-out work joins with its own class).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from aurora.collector.bus import (
    AlertRaised,
    BatchCommitted,
    Bus,
    CommandQueued,
    CommandUpdated,
    HostChanged,
    MemoryBus,
    Message,
    MessageDecodeError,
    RulesChanged,
)
from aurora.collector.bus.messages import MESSAGE_TYPES, decode, encode, subject

SAMPLES: list[Message] = [
    BatchCommitted("s1", 1, 100, 98, 100),
    AlertRaised("s1", "rule-1", "k", 4, "title", 1_700_000_000_000, False, {"pid": 7}),
    CommandQueued("s2", "c1", "isolate"),
    CommandUpdated("s2", "c1", "succeeded"),
    HostChanged("s3"),
    RulesChanged("", "rule uploaded"),
]


def wait_for(cond: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


class BusSuite:
    """What every bus must do; ``bus`` is a fresh, empty bus."""

    def test_every_subscriber_gets_every_message_of_its_topics_only(self, bus: Bus) -> None:
        a: list[Message] = []
        b: list[Message] = []
        bus.subscribe([HostChanged, AlertRaised], a.append)
        bus.subscribe([HostChanged], b.append)
        for m in SAMPLES:
            bus.publish(m)
        assert bus.drain()
        assert a == [SAMPLES[1], SAMPLES[4]]
        assert b == [SAMPLES[4]]

    def test_order_is_kept_per_subject(self, bus: Bus) -> None:
        got: list[Message] = []
        bus.subscribe([BatchCommitted], got.append)
        sent = [BatchCommitted(f"s{i % 3}", i, 1, 1, i) for i in range(1, 500)]
        for m in sent:
            bus.publish(m)
        assert bus.drain()
        for sensor in ("s0", "s1", "s2"):
            assert [m for m in got if m.sensor_id == sensor] == [
                m for m in sent if m.sensor_id == sensor
            ]

    def test_publish_many_delivers_all_in_order_per_subject(self, bus: Bus) -> None:
        got: list[Message] = []
        bus.subscribe([BatchCommitted, AlertRaised], got.append)
        bus.publish_many([])
        sent: list[Message] = [BatchCommitted(f"s{i % 3}", i, 1, 1, i) for i in range(1, 300)]
        sent += [SAMPLES[1]]
        bus.publish_many(sent)
        bus.publish_many(sent[:1])
        assert bus.drain()
        assert len(got) == len(sent) + 1
        for sensor in ("s0", "s1", "s2"):
            assert [m for m in got if m.sensor_id == sensor] == [
                m for m in [*sent, sent[0]] if m.sensor_id == sensor
            ]

    def test_a_durable_consumer_shares_its_messages(self, bus: Bus) -> None:
        one: list[Message] = []
        two: list[Message] = []
        bus.subscribe([HostChanged], one.append, durable="workers")
        bus.subscribe([HostChanged], two.append, durable="workers")
        sent = [HostChanged(f"h{i}") for i in range(20)]
        for m in sent:
            bus.publish(m)
        assert bus.drain()
        assert one and two, "both members of the consumer take work"
        assert sorted(one + two, key=lambda m: m.sensor_id) == sorted(
            sent, key=lambda m: m.sensor_id
        )

    def test_a_failing_handler_gets_the_message_again_then_it_is_dropped(self, bus: Bus) -> None:
        calls: list[str] = []

        def flaky(m: Message) -> None:
            calls.append(m.sensor_id)
            if m.sensor_id == "bad" or calls.count(m.sensor_id) < 2:
                raise RuntimeError("not now")

        bus.subscribe([HostChanged], flaky, max_deliver=3)
        bus.publish(HostChanged("good"))
        bus.publish(HostChanged("bad"))
        bus.publish(HostChanged("after"))
        assert bus.drain()
        # "good" succeeds on its second delivery; "bad" is tried max_deliver times; the
        # messages behind it are still delivered.
        assert calls == ["good", "good", "bad", "bad", "bad", "after", "after"]

    def test_publish_does_not_wait_for_a_slow_subscriber(self, bus: Bus) -> None:
        release = threading.Event()
        got: list[Message] = []

        def slow(m: Message) -> None:
            release.wait(10)
            got.append(m)

        bus.subscribe([HostChanged], slow)
        started = time.monotonic()
        for i in range(100):
            bus.publish(HostChanged(f"h{i}"))
        assert time.monotonic() - started < 1.0
        release.set()
        assert bus.drain()
        assert len(got) == 100

    def test_a_closed_subscription_hears_nothing_more(self, bus: Bus) -> None:
        got: list[Message] = []
        sub = bus.subscribe([HostChanged], got.append)
        bus.publish(HostChanged("a"))
        wait_for(lambda: len(got) == 1, "the first message")
        sub.close()
        bus.publish(HostChanged("b"))
        assert bus.drain()
        assert got == [HostChanged("a")]

    def test_subscribers_cannot_change_what_others_receive(self, bus: Bus) -> None:
        seen: list[Message] = []

        def vandal(m: Message) -> None:
            assert isinstance(m, AlertRaised)
            m.evidence["pid"] = 0

        bus.subscribe([AlertRaised], vandal)
        bus.subscribe([AlertRaised], seen.append)
        bus.publish(SAMPLES[1])
        assert bus.drain()
        assert seen == [SAMPLES[1]] and SAMPLES[1].evidence == {"pid": 7}

    def test_a_closed_bus_refuses_to_publish(self, bus: Bus) -> None:
        bus.close()
        with pytest.raises(RuntimeError, match="closed"):
            bus.publish(HostChanged("a"))


class TestMemoryBus(BusSuite):
    @pytest.fixture
    def bus(self) -> Iterator[Bus]:
        b = MemoryBus()
        yield b
        b.close()


def test_every_message_type_round_trips_and_names_its_host() -> None:
    assert {type(m) for m in SAMPLES} == set(MESSAGE_TYPES)
    for m in SAMPLES:
        assert decode(encode(m)) == m
        assert subject(m) == f"{m.topic}.{m.sensor_id}"


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[]", b'{"topic": "nope"}', b'{"topic": "host.state"}', b'{"sensor_id": "x"}'],
)
def test_bad_bytes_are_a_clear_error(data: bytes) -> None:
    with pytest.raises(MessageDecodeError, match="not a bus message"):
        decode(data)


def test_a_consumer_that_falls_behind_loses_the_oldest_and_counts_them() -> None:
    bus = MemoryBus(queue_limit=10)
    release = threading.Event()
    got: list[Message] = []

    def slow(m: Message) -> None:
        release.wait(10)
        got.append(m)

    try:
        bus.subscribe([HostChanged], slow)
        bus.publish(HostChanged("first"))
        wait_for(lambda: not bus._consumers[0]._queue, "the first message to be taken")
        for i in range(25):
            bus.publish(HostChanged(f"h{i}"))
        release.set()
        assert bus.drain()
        assert bus._consumers[0].dropped == 15
        assert [m.sensor_id for m in got] == ["first"] + [f"h{i}" for i in range(15, 25)]
    finally:
        bus.close()
