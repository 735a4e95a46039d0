"""The hosts area contract: the fleet table, heartbeats and revocation."""

from __future__ import annotations

import time

from aurora.collector.store import HostRecord
from aurora.collector.store.base import HostStatus, HostStore
from store.records import heartbeat


class HostsSuite:
    def test_fleet_register_and_status(self, store: HostStore) -> None:
        store.register_host(HostRecord("s1", hostname="alpha", os_name="linux", enrolled_ms=1))
        store.update_host_status(heartbeat("s1"))
        h = store.get_host("s1")
        assert h is not None
        assert (h.health, h.queue_depth, h.isolation, h.connected, h.last_seen_ms) == (
            "degraded",
            3,
            "isolated",
            True,
            50,
        )
        # The heartbeat's counters are only shown as sent, never added to the drop totals
        # (those grow with the batches' deltas: see the events suite).
        assert (h.drops_kernel, h.drops_spool_evicted, h.drops_spool_corrupt) == (0, 0, 0)
        assert h.counters["lost_kernel"] == 4
        assert h.capabilities[0]["name"] == "process" and h.counters["events_sent"] == 9
        store.mark_all_disconnected()
        assert store.get_host("s1").connected is False  # type: ignore[union-attr]
        assert [x.sensor_id for x in store.list_hosts()] == ["s1"]

    def test_revocation_and_unknown_sensors(self, store: HostStore) -> None:
        store.register_host(HostRecord("s1"))
        assert store.is_revoked("s1") is False
        assert store.is_revoked("nobody") is True
        assert store.revoke_host("s1", 5) is True
        assert store.revoke_host("nobody", 5) is False
        assert store.is_revoked("s1") is True

    def test_on_a_shared_store_a_node_marks_only_its_own_hosts_disconnected(
        self, store: HostStore
    ) -> None:
        far = int(time.time() * 1000) + 600_000
        for sid, node in (("s1", "node-a"), ("s2", "node-b")):
            store.register_host(HostRecord(sid, hostname=sid))
            store.beat_node(node, far)
            store.update_host_status(HostStatus(sid, 10, connected=True, holder=node))
        store.mark_all_disconnected("node-a")  # node-a starting again after a crash
        assert [(h.sensor_id, h.connected, h.holder) for h in store.list_hosts()] == [
            ("s1", False, "node-a"),
            ("s2", True, "node-b"),
        ]

    def test_a_stream_end_does_not_disconnect_a_host_another_node_took(
        self, store: HostStore
    ) -> None:
        store.beat_node("node-b", int(time.time() * 1000) + 600_000)
        store.register_host(HostRecord("s1"))
        store.update_host_status(HostStatus("s1", 10, connected=True, holder="node-a"))
        store.update_host_status(HostStatus("s1", 20, connected=True, holder="node-b"))
        store.release_host("s1", "node-a", 30)  # node-a learns late that its stream ended
        host = store.get_host("s1")
        assert host is not None and (host.connected, host.holder) == (True, "node-b")
        store.release_host("s1", "node-b", 40)
        host = store.get_host("s1")
        assert host is not None and (host.connected, host.last_seen_ms) == (False, 40)

    def test_hosts_of_a_node_that_stopped_beating_are_shown_disconnected(
        self, store: HostStore
    ) -> None:
        now = int(time.time() * 1000)
        store.beat_node("dead", now - 1)  # its lease ran out: SIGKILLed or cut off
        store.beat_node("live", now + 600_000)
        for sid, node in (("s1", "dead"), ("s2", "live"), ("s3", "")):
            store.register_host(HostRecord(sid, hostname=sid))
            store.update_host_status(HostStatus(sid, 10, connected=True, holder=node))
        store.update_host_status(HostStatus("s3", 10, holder=""))
        shown = {h.sensor_id: h.connected for h in store.list_hosts()}
        assert shown == {"s1": False, "s2": True, "s3": True}  # "": a single node's host
        assert store.get_host("s1").connected is False  # type: ignore[union-attr]
        store.beat_node("dead", now + 600_000)  # back (a restarted node beats again)
        assert store.get_host("s1").connected is True  # type: ignore[union-attr]
