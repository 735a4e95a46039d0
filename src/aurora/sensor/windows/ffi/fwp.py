"""Windows Filtering Platform structures (fwptypes.h, fwpmtypes.h) for x64 and the fwpuclnt
functions isolation calls, with the constants it passes them."""

from __future__ import annotations

import ctypes

from aurora.sensor.windows.ffi.types import (
    DWORD,
    GUID,
    HANDLE,
    LPWSTR,
    PVOID,
    UINT32,
    UINT64,
    LazyDll,
)

UINT8 = ctypes.c_uint8
UINT16 = ctypes.c_uint16

# FWP_DATA_TYPE
FWP_EMPTY, FWP_UINT8, FWP_UINT16, FWP_UINT32, FWP_UINT64 = 0, 1, 2, 3, 4
FWP_BYTE_ARRAY16_TYPE = 11
FWP_V4_ADDR_MASK, FWP_V6_ADDR_MASK = 0x100, 0x101
# FWP_MATCH_TYPE
FWP_MATCH_EQUAL, FWP_MATCH_FLAGS_ALL_SET = 0, 6
# FWP_ACTION_TYPE: the basic action with FWP_ACTION_FLAG_TERMINATING (0x1000)
FWP_ACTION_BLOCK, FWP_ACTION_PERMIT = 0x1001, 0x1002
FWP_CONDITION_FLAG_IS_LOOPBACK = 0x00000001
FWPM_SESSION_FLAG_DYNAMIC = 0x00000001
FWPM_FILTER_FLAG_PERSISTENT = 0x00000001
FWPM_SUBLAYER_FLAG_PERSISTENT = 0x00000001
RPC_C_AUTHN_WINNT = 10
FWP_E_ALREADY_EXISTS = 0x80320009
FWP_E_SUBLAYER_NOT_FOUND = 0x80320007


class FWP_BYTE_BLOB(ctypes.Structure):
    _fields_ = [("size", UINT32), ("data", PVOID)]


class FWPM_DISPLAY_DATA0(ctypes.Structure):
    _fields_ = [("name", LPWSTR), ("description", LPWSTR)]


class FWP_V4_ADDR_AND_MASK(ctypes.Structure):
    _fields_ = [("addr", UINT32), ("mask", UINT32)]


class FWP_V6_ADDR_AND_MASK(ctypes.Structure):
    _fields_ = [("addr", UINT8 * 16), ("prefixLength", UINT8)]


class _FwpValueUnion(ctypes.Union):
    # Every member of the SDK union is a scalar of at most 8 bytes or a pointer.
    _fields_ = [
        ("uint8", UINT8),
        ("uint16", UINT16),
        ("uint32", UINT32),
        ("uint64", ctypes.POINTER(UINT64)),
        ("byteArray16", PVOID),
        ("v4AddrMask", ctypes.POINTER(FWP_V4_ADDR_AND_MASK)),
        ("v6AddrMask", ctypes.POINTER(FWP_V6_ADDR_AND_MASK)),
        ("pointer", PVOID),
    ]


class FWP_VALUE0(ctypes.Structure):
    _anonymous_ = ("u",)
    _fields_ = [("type", UINT32), ("u", _FwpValueUnion)]


class FWP_CONDITION_VALUE0(ctypes.Structure):
    _anonymous_ = ("u",)
    _fields_ = [("type", UINT32), ("u", _FwpValueUnion)]


class FWPM_FILTER_CONDITION0(ctypes.Structure):
    _fields_ = [
        ("fieldKey", GUID),
        ("matchType", UINT32),
        ("conditionValue", FWP_CONDITION_VALUE0),
    ]


class _ActionUnion(ctypes.Union):
    _fields_ = [("filterType", GUID), ("calloutKey", GUID)]


class FWPM_ACTION0(ctypes.Structure):
    _anonymous_ = ("u",)
    _fields_ = [("type", UINT32), ("u", _ActionUnion)]


class _ContextUnion(ctypes.Union):
    _fields_ = [("rawContext", UINT64), ("providerContextKey", GUID)]


class FWPM_FILTER0(ctypes.Structure):
    _anonymous_ = ("ctx",)
    _fields_ = [
        ("filterKey", GUID),
        ("displayData", FWPM_DISPLAY_DATA0),
        ("flags", UINT32),
        ("providerKey", ctypes.POINTER(GUID)),
        ("providerData", FWP_BYTE_BLOB),
        ("layerKey", GUID),
        ("subLayerKey", GUID),
        ("weight", FWP_VALUE0),
        ("numFilterConditions", UINT32),
        ("filterCondition", ctypes.POINTER(FWPM_FILTER_CONDITION0)),
        ("action", FWPM_ACTION0),
        ("ctx", _ContextUnion),
        ("reserved", ctypes.POINTER(GUID)),
        ("filterId", UINT64),
        ("effectiveWeight", FWP_VALUE0),
    ]


class FWPM_SUBLAYER0(ctypes.Structure):
    _fields_ = [
        ("subLayerKey", GUID),
        ("displayData", FWPM_DISPLAY_DATA0),
        ("flags", UINT32),
        ("providerKey", ctypes.POINTER(GUID)),
        ("providerData", FWP_BYTE_BLOB),
        ("weight", UINT16),
    ]


class FWPM_SESSION0(ctypes.Structure):
    _fields_ = [
        ("sessionKey", GUID),
        ("displayData", FWPM_DISPLAY_DATA0),
        ("flags", UINT32),
        ("txnWaitTimeoutInMSec", UINT32),
        ("processId", DWORD),
        ("sid", PVOID),
        ("username", LPWSTR),
        ("kernelMode", ctypes.c_int32),
    ]


PHANDLE = ctypes.POINTER(HANDLE)

fwpuclnt = LazyDll(
    "fwpuclnt",
    {
        "FwpmEngineOpen0": (
            DWORD,
            [LPWSTR, UINT32, PVOID, ctypes.POINTER(FWPM_SESSION0), PHANDLE],
        ),
        "FwpmEngineClose0": (DWORD, [HANDLE]),
        "FwpmTransactionBegin0": (DWORD, [HANDLE, UINT32]),
        "FwpmTransactionCommit0": (DWORD, [HANDLE]),
        "FwpmTransactionAbort0": (DWORD, [HANDLE]),
        "FwpmSubLayerAdd0": (DWORD, [HANDLE, ctypes.POINTER(FWPM_SUBLAYER0), PVOID]),
        "FwpmSubLayerDeleteByKey0": (DWORD, [HANDLE, ctypes.POINTER(GUID)]),
        "FwpmFilterAdd0": (
            DWORD,
            [HANDLE, ctypes.POINTER(FWPM_FILTER0), PVOID, ctypes.POINTER(UINT64)],
        ),
        "FwpmFilterDeleteByKey0": (DWORD, [HANDLE, ctypes.POINTER(GUID)]),
    },
)
