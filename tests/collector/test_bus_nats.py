"""The bus contract on NATS JetStream (the same ``BusSuite`` as the in-process bus), and what
only a bus between processes can show: durable consumers across nodes, redelivery after a
member dies, a restarted server, an unreachable one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_bus import BusSuite, wait_for
from tests.agent.helpers import free_port
from tests.natsserver import NatsServer, nats_server

from aurora.collector.bus import AlertRaised, Bus, HostChanged, Message
from aurora.collector.bus.nats_bus import JetStreamBus, bus_subject, subject_token
from aurora.collector.bus.nats_link import REQUEST_TIMEOUT_S, BusUnavailable

pytestmark = pytest.mark.nats
__all__ = ["nats_server"]


class TestJetStreamBus(BusSuite):
    @pytest.fixture
    def bus(self, nats_server: NatsServer) -> Iterator[Bus]:
        b = JetStreamBus.connect(nats_server.url, "test")
        yield b
        b.close()


def test_subjects_name_the_topic_and_host_and_never_break_a_token() -> None:
    assert bus_subject(HostChanged("abc-1")) == "aurora.bus.host.state.abc-1"
    assert subject_token("") == "_"
    for hostile in ("a.b", "*", ">", "a b", "é"):
        token = subject_token(hostile)
        assert token.isascii() and token.isalnum()


def test_unreachable_nats_is_a_one_line_error() -> None:
    port = free_port()
    with pytest.raises(BusUnavailable, match=f"cannot reach NATS at nats://127.0.0.1:{port}"):
        JetStreamBus.connect(f"nats://127.0.0.1:{port}", "test")


def test_a_durable_consumer_is_shared_between_nodes_and_resumes(nats_server: NatsServer) -> None:
    one, two = (JetStreamBus.connect(nats_server.url, n) for n in ("one", "two"))
    try:
        got_one: list[Message] = []
        got_two: list[Message] = []
        one.subscribe([HostChanged], got_one.append, durable="workers")
        sub_two = two.subscribe([HostChanged], got_two.append, durable="workers")
        sent = [HostChanged(f"h{i}") for i in range(40)]
        for m in sent:
            one.publish(m)
        assert one.drain() and two.drain()
        assert got_one and got_two
        assert sorted(got_one + got_two, key=str) == sorted(sent, key=str)
        # A member leaves: the consumer keeps collecting for the one that remains.
        sub_two.close()
        one.publish(HostChanged("later"))
        wait_for(lambda: HostChanged("later") in got_one, "the remaining member")
    finally:
        one.close()
        two.close()


def test_a_message_in_the_hands_of_a_dead_member_is_delivered_again(
    nats_server: NatsServer,
) -> None:
    """A member that takes a message and never acknowledges it (its process died) does not lose
    it: after ack_wait JetStream hands it to another member."""
    stuck = threading.Event()
    dying = JetStreamBus.connect(nats_server.url, "dying", ack_wait_s=1.0)
    healthy = JetStreamBus.connect(nats_server.url, "healthy", ack_wait_s=1.0)
    got: list[Message] = []
    try:
        dying.subscribe([HostChanged], lambda m: stuck.wait(30), durable="pair")
        dying.publish(HostChanged("h1"))
        wait_for(lambda: dying._subs[0].busy, "the first member to take the message")
        healthy.subscribe([HostChanged], got.append, durable="pair")
        dying.link.close()  # gone without acknowledging: as after SIGKILL
        wait_for(lambda: got == [HostChanged("h1")], "redelivery to the healthy member", 15)
    finally:
        stuck.set()
        healthy.close()


def test_a_restarted_server_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats")
    server.start()
    bus = JetStreamBus.connect(server.url, "restart")
    got: list[Message] = []
    try:
        bus.subscribe([HostChanged], got.append, durable="keeper")
        bus.publish(HostChanged("before"))
        wait_for(lambda: len(got) == 1, "the first message")
        server.restart()
        wait_for(bus.link.connected.is_set, "the reconnection", 15)
        bus.publish(HostChanged("after"))
        wait_for(lambda: len(got) == 2, "the message published after the restart", 15)
        assert got == [HostChanged("before"), HostChanged("after")]
    finally:
        bus.close()
        server.stop()


def test_publish_while_the_server_is_down_fails_clearly(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats")
    server.start()
    bus = JetStreamBus.connect(server.url, "down")
    try:
        server.stop()
        with pytest.raises(BusUnavailable, match=r"JetStream did not take a host\.state message"):
            bus.publish(HostChanged("lost-view"))
        with pytest.raises(BusUnavailable, match=r"JetStream did not take 2 messages"):
            bus.publish_many([HostChanged("lost-1"), HostChanged("lost-2")])
    finally:
        bus.close()


def test_a_durable_name_taken_for_other_topics_is_refused_on_every_node(
    nats_server: NatsServer,
) -> None:
    one, two = (JetStreamBus.connect(nats_server.url, n) for n in ("one", "two"))
    try:
        one.subscribe([HostChanged], lambda m: None, durable="shared")
        two.subscribe([HostChanged], lambda m: None, durable="shared")  # same topics: joins
        with pytest.raises(ValueError, match="already takes other topics"):
            two.subscribe([AlertRaised], lambda m: None, durable="shared")
    finally:
        one.close()
        two.close()


def test_a_bus_whose_server_is_gone_closes_at_once(tmp_path: Path) -> None:
    """A node stopped while NATS is down (SIGTERM during an outage): drain says nothing settled
    and close returns without waiting out a request timeout per consumer and for the client's
    own close (10 s in all before, for a front-end)."""
    server = NatsServer(tmp_path / "nats")
    server.start()
    bus = JetStreamBus.connect(server.url, "outage")
    got: list[Message] = []
    bus.subscribe([HostChanged], got.append, durable="workers")
    bus.subscribe([AlertRaised], got.append)
    bus.publish(HostChanged("h1"))
    wait_for(lambda: len(got) == 1, "the message")
    server.stop()
    wait_for(lambda: not bus.link.connected.is_set(), "the link to notice")
    start = time.monotonic()
    assert bus.drain(timeout=REQUEST_TIMEOUT_S) is False
    bus.close()
    took = time.monotonic() - start
    assert took < REQUEST_TIMEOUT_S, f"closing took {took:.1f} s"
    assert not bus.link._thread.is_alive()
