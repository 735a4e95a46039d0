"""WFP isolation: the filter set built from the policy (plain data), its FWPM_FILTER0 structures,
and the one-transaction install against fwpuclnt faked at the ctypes boundary."""

from __future__ import annotations

import ctypes
import ipaddress
from typing import Any

import pytest

from aurora.sensor.response.errors import IsolationError
from aurora.sensor.response.isolation import IsolationPlan
from aurora.sensor.windows.ffi import fwp
from aurora.sensor.windows.ffi.types import GUID
from aurora.sensor.windows.wfp_engine import Keep, WfpEngine, WfpEngineIsolation, filter_struct
from aurora.sensor.windows.wfp_policy import (
    BLOCK_WEIGHT,
    CONDITIONS,
    LAYERS,
    PERMIT_WEIGHT,
    SUBLAYER_KEY,
    build_filter_set,
)

PLAN = IsolationPlan(("10.0.0.5", "fd00::5"), 9443, ("192.168.7.0/24",))


def by_name(plan: IsolationPlan = PLAN) -> dict[tuple[str, str], Any]:
    return {(f.layer, f.name): f for f in build_filter_set(plan).filters}


def test_every_layer_blocks_at_the_lowest_weight_and_permits_outweigh_it() -> None:
    fs = build_filter_set(PLAN)
    assert fs.sublayer == SUBLAYER_KEY and not fs.persistent
    blocks = [f for f in fs.filters if f.action == "block"]
    assert sorted(f.layer for f in blocks) == sorted(LAYERS)
    assert all(f.weight == BLOCK_WEIGHT and f.conditions == () for f in blocks)
    permits = [f for f in fs.filters if f.action == "permit"]
    assert permits and all(f.weight == PERMIT_WEIGHT > BLOCK_WEIGHT for f in permits)
    assert len({f.key for f in fs.filters}) == len(fs.filters)  # keys unique, stable
    assert [f.key for f in build_filter_set(PLAN).filters] == [f.key for f in fs.filters]


def test_collector_is_permitted_by_address_port_and_tcp_on_its_family_only() -> None:
    f = by_name()
    v4 = f[("ALE_AUTH_CONNECT_V4", "collector 10.0.0.5")]
    assert [(c.field, c.value) for c in v4.conditions] == [
        ("IP_REMOTE_ADDRESS", ipaddress.ip_network("10.0.0.5/32")),
        ("IP_REMOTE_PORT", 9443),
        ("IP_PROTOCOL", 6),
    ]
    assert ("ALE_AUTH_CONNECT_V6", "collector fd00::5") in f
    assert ("ALE_AUTH_CONNECT_V6", "collector 10.0.0.5") not in f
    assert ("ALE_AUTH_RECV_ACCEPT_V4", "collector 10.0.0.5") not in f  # outbound only


def test_every_fail_over_collector_port_is_permitted() -> None:
    f = by_name(IsolationPlan(("10.0.0.5",), 9443, collector_ports=(9444,)))
    second = f[("ALE_AUTH_CONNECT_V4", "collector 10.0.0.5:9444")]
    assert ("IP_REMOTE_PORT", 9444) in [(c.field, c.value) for c in second.conditions]
    assert ("ALE_AUTH_CONNECT_V4", "collector 10.0.0.5") in f


def test_loopback_dns_dhcp_and_allow_list() -> None:
    f = by_name()
    for layer in LAYERS:
        (cond,) = f[(layer, "loopback")].conditions
        assert (cond.field, cond.match, cond.value) == ("FLAGS", "flags_all_set", 1)
    assert [c.value for c in f[("ALE_AUTH_CONNECT_V4", "dns/17")].conditions] == [53, 17]
    dhcp = f[("ALE_AUTH_RECV_ACCEPT_V4", "dhcp v4")].conditions
    assert [(c.field, c.value) for c in dhcp] == [
        ("IP_LOCAL_PORT", 68),
        ("IP_REMOTE_PORT", 67),
        ("IP_PROTOCOL", 17),
    ]
    assert ("ALE_AUTH_CONNECT_V6", "dhcp v6") in f
    assert ("ALE_AUTH_RECV_ACCEPT_V4", "allow 192.168.7.0/24") in f
    strict = by_name(IsolationPlan(("10.0.0.5",), 9443, allow_dns=False, allow_dhcp=False))
    assert not [k for k in strict if k[1].startswith(("dns", "dhcp"))]


def test_filter_structures_carry_the_sdk_encodings() -> None:
    f = by_name()
    keep = Keep()
    sub = GUID.from_uuid(SUBLAYER_KEY)
    s = filter_struct(f[("ALE_AUTH_CONNECT_V4", "collector 10.0.0.5")], sub, False, keep)
    assert s.layerKey.to_uuid() == LAYERS["ALE_AUTH_CONNECT_V4"]
    assert s.subLayerKey.to_uuid() == SUBLAYER_KEY
    assert (s.action.type, s.weight.type, s.weight.uint8) == (fwp.FWP_ACTION_PERMIT, 1, 15)
    assert s.flags == 0 and s.numFilterConditions == 3
    addr, port, proto = (s.filterCondition[i] for i in range(3))
    assert addr.fieldKey.to_uuid() == CONDITIONS["IP_REMOTE_ADDRESS"]
    assert addr.conditionValue.type == fwp.FWP_UINT32
    assert addr.conditionValue.uint32 == 0x0A000005  # host order, as WFP wants
    assert (port.conditionValue.type, port.conditionValue.uint16) == (fwp.FWP_UINT16, 9443)
    assert (proto.conditionValue.type, proto.conditionValue.uint8) == (fwp.FWP_UINT8, 6)
    net = filter_struct(f[("ALE_AUTH_CONNECT_V4", "allow 192.168.7.0/24")], sub, True, keep)
    value = net.filterCondition[0].conditionValue
    assert value.type == fwp.FWP_V4_ADDR_MASK
    assert (value.v4AddrMask.contents.addr, value.v4AddrMask.contents.mask) == (
        0xC0A80700,
        0xFFFFFF00,
    )
    assert net.flags == fwp.FWPM_FILTER_FLAG_PERSISTENT
    v6 = filter_struct(f[("ALE_AUTH_CONNECT_V6", "collector fd00::5")], sub, False, keep)
    v6value = v6.filterCondition[0].conditionValue
    assert v6value.type == fwp.FWP_BYTE_ARRAY16_TYPE
    assert ctypes.string_at(v6value.byteArray16, 16) == ipaddress.ip_address("fd00::5").packed
    block = filter_struct(f[("ALE_AUTH_RECV_ACCEPT_V6", "block all")], sub, False, keep)
    assert (block.action.type, block.numFilterConditions) == (fwp.FWP_ACTION_BLOCK, 0)


class FakeFwpuclnt:
    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail_at = fail_at
        self.session_flags: int | None = None
        self.filters: dict[Any, Any] = {}
        self.pending: dict[Any, Any] | None = None

    def FwpmEngineOpen0(
        self, server: Any, authn: int, ident: Any, session: Any, handle: Any
    ) -> int:
        self.session_flags = session._obj.flags
        handle._obj.value = 1234
        self.calls.append(("open", self.session_flags))
        return 0

    def FwpmEngineClose0(self, h: int) -> int:
        self.calls.append(("close", h))
        return 0

    def FwpmTransactionBegin0(self, h: int, flags: int) -> int:
        self.pending = dict(self.filters)
        self.calls.append(("begin", h))
        return 0

    def FwpmTransactionCommit0(self, h: int) -> int:
        assert self.pending is not None
        self.filters, self.pending = self.pending, None
        self.calls.append(("commit", h))
        return 0

    def FwpmTransactionAbort0(self, h: int) -> int:
        self.pending = None
        self.calls.append(("abort", h))
        return 0

    def FwpmSubLayerAdd0(self, h: int, sub: Any, sd: Any) -> int:
        self.calls.append(("sublayer", (sub._obj.subLayerKey.to_uuid(), sub._obj.weight)))
        return 0

    def FwpmSubLayerDeleteByKey0(self, h: int, key: Any) -> int:
        return fwp.FWP_E_SUBLAYER_NOT_FOUND

    def FwpmFilterAdd0(self, h: int, f: Any, sd: Any, fid: Any) -> int:
        n = sum(1 for c in self.calls if c[0] == "filter")
        self.calls.append(("filter", f._obj.filterKey.to_uuid()))
        if self.fail_at is not None and n == self.fail_at:
            return 0x80320009  # FWP_E_ALREADY_EXISTS
        assert self.pending is not None
        self.pending[f._obj.filterKey.to_uuid()] = f._obj.action.type
        fid._obj.value = n + 1
        return 0

    def FwpmFilterDeleteByKey0(self, h: int, key: Any) -> int:
        assert self.pending is not None
        return 0 if self.pending.pop(key._obj.to_uuid(), None) else 0x80320002


def test_isolation_installs_in_one_dynamic_transaction_and_removes_cleanly() -> None:
    dll = FakeFwpuclnt()
    backend = WfpEngineIsolation(engine=WfpEngine(dll))
    backend.apply(PLAN)
    assert dll.session_flags == fwp.FWPM_SESSION_FLAG_DYNAMIC
    kinds = [c[0] for c in dll.calls]
    assert kinds[:3] == ["open", "begin", "sublayer"] and kinds[-1] == "commit"
    assert kinds.count("begin") == 1 and kinds.count("commit") == 1
    assert len(dll.filters) == len(build_filter_set(PLAN).filters)
    assert backend.is_applied()
    backend.apply(PLAN)  # re-applying replaces, never piles up
    assert len(dll.filters) == len(build_filter_set(PLAN).filters)
    backend.remove()
    assert dll.filters == {} and not backend.is_applied()


def test_a_failure_mid_install_aborts_the_whole_transaction() -> None:
    dll = FakeFwpuclnt(fail_at=5)
    backend = WfpEngineIsolation(engine=WfpEngine(dll))
    with pytest.raises(IsolationError, match=r"FwpmFilterAdd0.*0x80320009"):
        backend.apply(PLAN)
    assert [c[0] for c in dll.calls][-1] == "abort"
    assert dll.filters == {} and not backend.is_applied()


def test_persistent_mode_uses_a_normal_session_and_persistent_objects() -> None:
    dll = FakeFwpuclnt()
    WfpEngineIsolation(persistent=True, engine=WfpEngine(dll)).apply(PLAN)
    assert dll.session_flags == 0


def test_the_platform_picks_persistence_from_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from aurora.config.response import ResponseConfig
    from aurora.sensor.platform import windows

    monkeypatch.setattr(windows.sys, "platform", "win32")
    backend = windows.isolation_backend(ResponseConfig(isolation_persistent=True))
    assert isinstance(backend, WfpEngineIsolation) and backend.persistent
    assert not windows.isolation_backend(ResponseConfig()).persistent  # type: ignore[attr-defined]
