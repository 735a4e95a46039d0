"""The ETW session's control logic against advapi32 faked at the ctypes boundary: a stale session
of our name is stopped and recreated, the callback only copies, losses are counted."""

from __future__ import annotations

import ctypes
import struct
import threading
import uuid
from typing import Any

import pytest

from aurora.sensor.windows.etw_decode import decode
from aurora.sensor.windows.etw_providers import AMSI, ENABLED, KERNEL_PROCESS
from aurora.sensor.windows.etw_session import (
    EVENT_TRACE_GUID,
    EtwSession,
    EtwSessionError,
)
from aurora.sensor.windows.ffi import etw_api as api
from aurora.sensor.windows.ffi.etw_structs import EVENT_RECORD, EVENT_TRACE_PROPERTIES
from aurora.sensor.windows.ffi.types import GUID, read_wide


def make_record(provider: uuid.UUID, event_id: int, payload: bytes, opcode: int = 0) -> Any:
    """An EVENT_RECORD as ProcessTrace lends it, plus the buffer its UserData points into."""
    buf = ctypes.create_string_buffer(payload, len(payload))
    rec = EVENT_RECORD()
    rec.EventHeader.ProviderId = GUID.from_uuid(provider)
    rec.EventHeader.EventDescriptor.Id = event_id
    rec.EventHeader.EventDescriptor.Opcode = opcode
    rec.EventHeader.ProcessId = 4242
    rec.EventHeader.TimeStamp = 133_000_000_000_000_000
    rec.UserData = ctypes.addressof(buf)
    rec.UserDataLength = len(payload)
    return rec, buf


class FakeAdvapi32:
    def __init__(self, existing: set[str] | None = None) -> None:
        self.sessions = set(existing or ())
        self.calls: list[tuple[str, Any]] = []
        self.stop_error = 0
        self.enable_errors: dict[uuid.UUID, int] = {}
        self.deliver: list[tuple[Any, Any]] = []
        self.callback: Any = None
        self.lost = (0, 0)  # EventsLost, RealTimeBuffersLost reported by QUERY
        self.overwritten = threading.Event()

    def StartTraceW(self, handle_ref: Any, name: int, props: int) -> int:
        n = read_wide(name)
        p = EVENT_TRACE_PROPERTIES.from_address(props)
        assert read_wide(props + p.LoggerNameOffset) == n  # the name lies after the struct
        assert p.LogFileMode & api.EVENT_TRACE_REAL_TIME_MODE
        self.calls.append(("StartTraceW", n))
        if n in self.sessions:
            return api.ERROR_ALREADY_EXISTS
        self.sessions.add(n)
        handle_ref._obj.value = 77
        return 0

    def ControlTraceW(self, handle: int, name: int, props: int, code: int) -> int:
        n = read_wide(name)
        self.calls.append(("ControlTraceW", (handle, n, code)))
        if code == api.EVENT_TRACE_CONTROL_STOP:
            if self.stop_error:
                return self.stop_error
            if n not in self.sessions:
                return api.ERROR_WMI_INSTANCE_NOT_FOUND
            self.sessions.discard(n)
            return 0
        p = EVENT_TRACE_PROPERTIES.from_address(props)
        p.EventsLost, p.RealTimeBuffersLost = self.lost
        return 0

    def EnableTraceEx2(self, handle: int, guid_ref: Any, code: int, level: int, *rest: Any) -> int:
        provider = guid_ref._obj.to_uuid()
        self.calls.append(("EnableTraceEx2", provider))
        return self.enable_errors.get(provider, 0)

    def OpenTraceW(self, logfile_ref: Any) -> int:
        logfile = logfile_ref._obj
        assert logfile.ProcessTraceMode == (
            api.PROCESS_TRACE_MODE_REAL_TIME | api.PROCESS_TRACE_MODE_EVENT_RECORD
        )
        self.callback = logfile.EventRecordCallback
        self.calls.append(("OpenTraceW", read_wide(logfile.LoggerName)))
        return 5

    def ProcessTrace(self, handles: Any, count: int, start: Any, end: Any) -> int:
        for rec, buf in self.deliver:
            self.callback(ctypes.pointer(rec))
            # The OS reuses the buffer as soon as the callback returns.
            ctypes.memset(buf, 0xEE, len(buf))
        self.overwritten.set()
        return 0

    def CloseTrace(self, trace: int) -> int:
        self.calls.append(("CloseTrace", trace))
        return 0


def names(fake: FakeAdvapi32) -> list[str]:
    return [c[0] for c in fake.calls]


def test_a_stale_session_of_our_name_is_stopped_and_recreated_never_joined() -> None:
    fake = FakeAdvapi32(existing={"AuroraEDR"})
    session = EtwSession(dll=fake)
    session.start()
    assert session.replaced_stale
    assert fake.calls[:3] == [
        ("StartTraceW", "AuroraEDR"),
        ("ControlTraceW", (0, "AuroraEDR", api.EVENT_TRACE_CONTROL_STOP)),
        ("StartTraceW", "AuroraEDR"),
    ]
    assert [c[1] for c in fake.calls if c[0] == "EnableTraceEx2"] == [p.provider for p in ENABLED]
    assert names(fake)[-1] == "OpenTraceW"
    session.stop()
    assert "AuroraEDR" not in fake.sessions and ("CloseTrace", 5) in fake.calls


def test_a_stale_session_we_cannot_stop_is_a_clear_error() -> None:
    fake = FakeAdvapi32(existing={"AuroraEDR"})
    fake.stop_error = api.ERROR_ACCESS_DENIED
    with pytest.raises(
        EtwSessionError, match="cannot stop the stale ETW session AuroraEDR: error 5"
    ):
        EtwSession(dll=fake).start()
    assert names(fake).count("StartTraceW") == 1


def test_a_fresh_start_does_not_touch_other_sessions() -> None:
    fake = FakeAdvapi32(existing={"EventLog-System"})
    session = EtwSession(dll=fake)
    session.start()
    assert not session.replaced_stale
    assert "EventLog-System" in fake.sessions
    assert not any(c[0] == "ControlTraceW" for c in fake.calls)
    session.stop()


def test_the_callback_copies_so_decoding_later_sees_the_original_bytes() -> None:
    content = "Invoke-Expression".encode("utf-16-le")
    payload = (
        struct.pack("<QBI", 1, 1, 1)
        + "PowerShell\0".encode("utf-16-le")
        + "\0".encode("utf-16-le")
        + struct.pack("<II", len(content), len(content))
        + content
        + b"\x22" * 32
        + struct.pack("<i", 0)
    )
    fake = FakeAdvapi32()
    fake.deliver = [make_record(AMSI, 1101, payload)]
    session = EtwSession(dll=fake)
    session.start()
    assert fake.overwritten.wait(10)
    (record,) = session.drain()
    assert record.user_data == payload and record.pid == 4242
    assert decode(record).fields["content"] == content
    session.stop()


def test_lost_events_are_counted_from_records_queue_and_query() -> None:
    fake = FakeAdvapi32()
    fake.lost = (7, 2)
    fake.deliver = [make_record(EVENT_TRACE_GUID, 0, b"", opcode=32)] + [
        make_record(KERNEL_PROCESS, 1, b"x") for _ in range(3)
    ]
    session = EtwSession(dll=fake, queue_size=2)
    session.start()
    assert fake.overwritten.wait(10)
    assert session.rt_lost == 1 and session.queue_full_losses == 1
    assert len(session.drain()) == 2
    assert session.os_losses() == 9
    session.stop()


def test_providers_that_cannot_be_enabled_are_reported_and_none_is_fatal() -> None:
    fake = FakeAdvapi32()
    fake.enable_errors = {AMSI: api.ERROR_ACCESS_DENIED}
    session = EtwSession(dll=fake)
    session.start()
    assert session.enabled[AMSI] == "EnableTraceEx2 error 5"
    assert session.enabled[KERNEL_PROCESS] == ""
    session.stop()
    fake = FakeAdvapi32()
    fake.enable_errors = {p.provider: api.ERROR_ACCESS_DENIED for p in ENABLED}
    with pytest.raises(EtwSessionError, match="no ETW provider could be enabled"):
        EtwSession(dll=fake).start()
    assert "AuroraEDR" not in fake.sessions  # the half-made session is not left behind


def test_windows_sensor_decodes_etw_off_the_callback_and_reports_losses(tmp_path: Any) -> None:
    from aurora.sensor.windows.sensor import WindowsSensor

    script = "Get-Process".encode("utf-16-le")
    payload = (
        struct.pack("<QBI", 1, 1, 1)
        + "PowerShell\0".encode("utf-16-le")
        + "\0".encode("utf-16-le")
        + struct.pack("<II", len(script), len(script))
        + script
        + b"\x00" * 32
        + struct.pack("<i", 0)
    )
    fake = FakeAdvapi32()
    fake.lost = (4, 0)
    fake.deliver = [make_record(AMSI, 1101, payload), make_record(AMSI, 1101, b"\x01")]
    sensor = WindowsSensor(tmp_path, etw=EtwSession(dll=fake), subscribers=[])
    sensor.start()
    assert fake.overwritten.wait(10)
    events = sensor.poll(0)
    assert [e["script"]["script_content"]["value"] for e in events] == ["Get-Process"]
    drops = sensor.drop_counts()
    assert drops["etw"] == 4 and drops["undecodable"] == 1  # the truncated record
    assert {c.name for c in sensor.capabilities() if c.loaded} >= {f"etw:{AMSI}"}
    sensor.stop()
    assert "AuroraEDR" not in fake.sessions
