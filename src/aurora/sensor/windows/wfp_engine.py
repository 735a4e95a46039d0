"""Installs a WFP filter set (:mod:`.wfp_policy`) through fwpuclnt, all of it in one transaction.

By default the engine session is dynamic: every filter it added disappears when the session
closes, so a crashed sensor cannot leave a host cut off. Persistent mode marks the sublayer and
filters persistent (they survive reboots) and the sensor re-applies its saved plan at start. A
failure anywhere aborts the transaction, so the host keeps its previous state, never half of it.
"""

from __future__ import annotations

import ctypes
import ipaddress
from typing import Any

from aurora.sensor.response.errors import IsolationError
from aurora.sensor.response.isolation import IsolationPlan
from aurora.sensor.response.isolation_windows import WfpIsolation
from aurora.sensor.windows.ffi import fwp
from aurora.sensor.windows.ffi.types import GUID, HANDLE, wide
from aurora.sensor.windows.wfp_policy import (
    CONDITIONS,
    LAYERS,
    Condition,
    Filter,
    FilterSet,
    build_filter_set,
)

_MATCH = {"equal": fwp.FWP_MATCH_EQUAL, "flags_all_set": fwp.FWP_MATCH_FLAGS_ALL_SET}
_PORT_FIELDS = {"IP_REMOTE_PORT", "IP_LOCAL_PORT"}
_NOT_FOUND = {0x80320002, 0x80320007}  # FWP_E_FILTER_NOT_FOUND, FWP_E_SUBLAYER_NOT_FOUND


class Keep:
    """Owns the ctypes buffers a filter structure points into until the call returns."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def __call__(self, obj: Any) -> Any:
        self.items.append(obj)
        return obj


def _value(cond: Condition, keep: Keep) -> fwp.FWP_CONDITION_VALUE0:
    v = fwp.FWP_CONDITION_VALUE0()
    val = cond.value
    if isinstance(val, ipaddress.IPv4Network):
        # WFP takes IPv4 addresses and masks as host-order integers.
        addr = int(val.network_address)
        if val.prefixlen == 32:
            v.type, v.uint32 = fwp.FWP_UINT32, addr
        else:
            am = keep(fwp.FWP_V4_ADDR_AND_MASK(addr, int(val.netmask)))
            v.type, v.v4AddrMask = fwp.FWP_V4_ADDR_MASK, ctypes.pointer(am)
    elif isinstance(val, ipaddress.IPv6Network):
        raw = val.network_address.packed
        if val.prefixlen == 128:
            arr = keep((ctypes.c_uint8 * 16).from_buffer_copy(raw))
            v.type, v.byteArray16 = fwp.FWP_BYTE_ARRAY16_TYPE, ctypes.addressof(arr)
        else:
            am6 = keep(fwp.FWP_V6_ADDR_AND_MASK())
            ctypes.memmove(am6.addr, raw, 16)
            am6.prefixLength = val.prefixlen
            v.type, v.v6AddrMask = fwp.FWP_V6_ADDR_MASK, ctypes.pointer(am6)
    elif cond.field in _PORT_FIELDS:
        v.type, v.uint16 = fwp.FWP_UINT16, int(val)
    elif cond.field == "IP_PROTOCOL":
        v.type, v.uint8 = fwp.FWP_UINT8, int(val)
    else:
        v.type, v.uint32 = fwp.FWP_UINT32, int(val)
    return v


def filter_struct(f: Filter, sublayer: GUID, persistent: bool, keep: Keep) -> fwp.FWPM_FILTER0:
    """One :class:`Filter` as the FWPM_FILTER0 FwpmFilterAdd0 takes."""
    s = fwp.FWPM_FILTER0()
    s.filterKey = GUID.from_uuid(f.key)
    s.displayData.name = ctypes.addressof(keep(wide(f"Aurora isolation: {f.name}")))
    s.flags = fwp.FWPM_FILTER_FLAG_PERSISTENT if persistent else 0
    s.layerKey = GUID.from_uuid(LAYERS[f.layer])
    s.subLayerKey = sublayer
    s.weight.type, s.weight.uint8 = fwp.FWP_UINT8, f.weight
    conds = keep((fwp.FWPM_FILTER_CONDITION0 * max(1, len(f.conditions)))())
    for i, c in enumerate(f.conditions):
        conds[i].fieldKey = GUID.from_uuid(CONDITIONS[c.field])
        conds[i].matchType = _MATCH[c.match]
        conds[i].conditionValue = _value(c, keep)
    s.numFilterConditions = len(f.conditions)
    s.filterCondition = ctypes.cast(conds, ctypes.POINTER(fwp.FWPM_FILTER_CONDITION0))
    s.action.type = fwp.FWP_ACTION_PERMIT if f.action == "permit" else fwp.FWP_ACTION_BLOCK
    return s


class WfpEngine:
    """One engine session; dynamic filters live exactly as long as it stays open."""

    def __init__(self, dll: Any = None) -> None:
        self.dll = dll if dll is not None else fwp.fwpuclnt
        self.handle: int | None = None
        self.applied: FilterSet | None = None

    def _check(self, call: str, rc: int) -> None:
        if rc != 0:
            raise IsolationError(f"WFP {call} failed with 0x{rc & 0xFFFFFFFF:08X}")

    def _open(self, dynamic: bool) -> int:
        if self.handle is None:
            session = fwp.FWPM_SESSION0()
            session.flags = fwp.FWPM_SESSION_FLAG_DYNAMIC if dynamic else 0
            handle = HANDLE()
            rc = self.dll.FwpmEngineOpen0(
                None, fwp.RPC_C_AUTHN_WINNT, None, ctypes.byref(session), ctypes.byref(handle)
            )
            self._check("FwpmEngineOpen0", rc)
            self.handle = int(handle.value or 0)
        return self.handle

    def _delete(self, h: int, fs: FilterSet) -> None:
        for f in fs.filters:
            key = GUID.from_uuid(f.key)
            rc = self.dll.FwpmFilterDeleteByKey0(h, ctypes.byref(key))
            if rc and rc not in _NOT_FOUND:
                self._check("FwpmFilterDeleteByKey0", rc)
        sub = GUID.from_uuid(fs.sublayer)
        rc = self.dll.FwpmSubLayerDeleteByKey0(h, ctypes.byref(sub))
        if rc and rc not in _NOT_FOUND:
            self._check("FwpmSubLayerDeleteByKey0", rc)

    def _transaction(self, h: int, body: Any) -> None:
        self._check("FwpmTransactionBegin0", self.dll.FwpmTransactionBegin0(h, 0))
        try:
            body()
            self._check("FwpmTransactionCommit0", self.dll.FwpmTransactionCommit0(h))
        except BaseException:
            self.dll.FwpmTransactionAbort0(h)
            raise

    def apply(self, fs: FilterSet) -> None:
        h = self._open(dynamic=not fs.persistent)
        previous = self.applied

        def body() -> None:
            if previous is not None:
                self._delete(h, previous)
            self._delete(h, fs)  # a persistent set left by an earlier run
            keep = Keep()
            sub = fwp.FWPM_SUBLAYER0()
            sub.subLayerKey = GUID.from_uuid(fs.sublayer)
            sub.displayData.name = ctypes.addressof(keep(wide("Aurora EDR isolation")))
            sub.flags = fwp.FWPM_SUBLAYER_FLAG_PERSISTENT if fs.persistent else 0
            sub.weight = fs.sublayer_weight
            self._check("FwpmSubLayerAdd0", self.dll.FwpmSubLayerAdd0(h, ctypes.byref(sub), None))
            for f in fs.filters:
                s = filter_struct(f, sub.subLayerKey, fs.persistent, keep)
                fid = ctypes.c_uint64(0)
                rc = self.dll.FwpmFilterAdd0(h, ctypes.byref(s), None, ctypes.byref(fid))
                self._check(f"FwpmFilterAdd0({f.layer}, {f.name})", rc)

        self._transaction(h, body)
        self.applied = fs

    def remove(self) -> None:
        if self.applied is None:
            return
        fs = self.applied
        h = self._open(dynamic=not fs.persistent)
        self._transaction(h, lambda: self._delete(h, fs))
        self.applied = None

    def close(self) -> None:
        if self.handle is not None:
            self.dll.FwpmEngineClose0(self.handle)
            self.handle = None


class WfpEngineIsolation(WfpIsolation):
    """The Windows isolation backend: the policy's filter set through :class:`WfpEngine`."""

    def __init__(self, persistent: bool = False, engine: WfpEngine | None = None) -> None:
        self.persistent = persistent
        self.engine = engine or WfpEngine()

    def apply(self, plan: IsolationPlan) -> None:
        self.engine.apply(build_filter_set(plan, self.persistent))

    def remove(self) -> None:
        self.engine.remove()

    def is_applied(self) -> bool:
        return self.engine.applied is not None
