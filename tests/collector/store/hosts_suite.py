"""The hosts area contract: the fleet table, heartbeats and revocation."""

from __future__ import annotations

from aurora.collector.store import HostRecord
from aurora.collector.store.base import HostStore
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
