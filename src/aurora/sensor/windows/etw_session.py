"""The sensor's real-time ETW session: create it, enable providers, consume it on its own thread.

A session left by a previous run under our name is stopped and created anew, never joined: its
settings and enabled providers are unknown. The OS calls the record callback on ProcessTrace's
thread with borrowed memory, so the callback only copies the record into a bounded queue (a full
queue is a counted loss); decoding happens on the sensor's polling thread. Losses the OS reports
(``EventsLost`` and lost buffers from a QUERY, RT_LostEvent records) are counted too.
"""

from __future__ import annotations

import ctypes
import logging
import queue
import threading
import uuid
from typing import Any

from aurora.errors import AuroraError
from aurora.sensor.windows.etw_providers import ENABLED, Enablement
from aurora.sensor.windows.etw_record import EtwRecord, copy_event_record
from aurora.sensor.windows.ffi import etw_api as api
from aurora.sensor.windows.ffi.etw_structs import (
    EVENT_RECORD_CALLBACK,
    EVENT_TRACE_LOGFILEW,
    EVENT_TRACE_PROPERTIES,
)
from aurora.sensor.windows.ffi.types import GUID, INVALID_PROCESSTRACE_HANDLE, wide

log = logging.getLogger(__name__)

SESSION_NAME = "AuroraEDR"
# EventTraceGuid: the system's own events about a session; opcode 32 is RT_LostEvent.
EVENT_TRACE_GUID = uuid.UUID("68fdd900-4a3e-11d1-84f4-0000f80464e3")
RT_LOST_OPCODES = {32, 33, 34}  # lost event, lost buffer, lost file
_NAME_BYTES = 1024 * 2


class EtwSessionError(AuroraError):
    """The ETW session could not be created, enabled or opened."""


def properties_buffer(name: str) -> Any:
    """EVENT_TRACE_PROPERTIES followed by room for the session name, as StartTraceW wants."""
    size = ctypes.sizeof(EVENT_TRACE_PROPERTIES) + _NAME_BYTES
    buf = ctypes.create_string_buffer(size)
    props = EVENT_TRACE_PROPERTIES.from_buffer(buf)
    props.Wnode.BufferSize = size
    props.Wnode.Flags = api.WNODE_FLAG_TRACED_GUID
    props.Wnode.ClientContext = 1  # QPC timestamps
    props.BufferSize = 256  # KB per buffer
    props.MinimumBuffers = 16
    props.MaximumBuffers = 64
    props.FlushTimer = 1
    props.LogFileMode = api.EVENT_TRACE_REAL_TIME_MODE
    props.LoggerNameOffset = ctypes.sizeof(EVENT_TRACE_PROPERTIES)
    encoded = (name + "\0").encode("utf-16-le")
    ctypes.memmove(ctypes.addressof(buf) + props.LoggerNameOffset, encoded, len(encoded))
    return buf


class EtwSession:
    def __init__(
        self,
        name: str = SESSION_NAME,
        providers: tuple[Enablement, ...] = ENABLED,
        dll: Any = None,
        queue_size: int = 65536,
    ) -> None:
        self.name = name
        self.providers = providers
        self.dll = dll if dll is not None else api.advapi32
        self.records: queue.Queue[EtwRecord] = queue.Queue(queue_size)
        self.queue_full_losses = 0
        self.rt_lost = 0
        self.enabled: dict[uuid.UUID, str] = {}  # provider -> "" when enabled, else the reason
        self.replaced_stale = False
        self._handle = ctypes.c_uint64(0)
        self._trace = INVALID_PROCESSTRACE_HANDLE
        self._thread: threading.Thread | None = None
        self._callback = EVENT_RECORD_CALLBACK(self._on_record)
        self._logfile: EVENT_TRACE_LOGFILEW | None = None
        self._name = wide(name)

    # ----------------------------------------------------------------- control
    def _start_trace(self) -> int:
        props = properties_buffer(self.name)
        return int(
            self.dll.StartTraceW(
                ctypes.byref(self._handle), ctypes.addressof(self._name), ctypes.addressof(props)
            )
        )

    def _control(self, code: int) -> tuple[int, EVENT_TRACE_PROPERTIES]:
        buf = properties_buffer(self.name)
        rc = int(
            self.dll.ControlTraceW(
                self._handle.value, ctypes.addressof(self._name), ctypes.addressof(buf), code
            )
        )
        return rc, EVENT_TRACE_PROPERTIES.from_buffer_copy(buf)

    def start(self) -> None:
        rc = self._start_trace()
        if rc == api.ERROR_ALREADY_EXISTS:
            # A session of our name outlived its owner: stop it and start ours, never join it.
            log.warning("ETW session %s already exists: stopping it and starting anew", self.name)
            self._handle.value = 0
            stop_rc, _ = self._control(api.EVENT_TRACE_CONTROL_STOP)
            if stop_rc not in (api.ERROR_SUCCESS, api.ERROR_MORE_DATA):
                raise EtwSessionError(
                    f"cannot stop the stale ETW session {self.name}: error {stop_rc}"
                )
            self.replaced_stale = True
            rc = self._start_trace()
        if rc != api.ERROR_SUCCESS:
            raise EtwSessionError(f"StartTraceW({self.name}) failed with error {rc}")
        for p in self.providers:
            guid = GUID.from_uuid(p.provider)
            erc = int(
                self.dll.EnableTraceEx2(
                    self._handle.value,
                    ctypes.byref(guid),
                    api.EVENT_CONTROL_CODE_ENABLE_PROVIDER,
                    p.level,
                    p.match_any_keyword,
                    0,
                    0,
                    None,
                )
            )
            self.enabled[p.provider] = "" if erc == 0 else f"EnableTraceEx2 error {erc}"
        if not any(reason == "" for reason in self.enabled.values()):
            self.stop()
            raise EtwSessionError(f"no ETW provider could be enabled on {self.name}")
        logfile = EVENT_TRACE_LOGFILEW()
        logfile.LoggerName = ctypes.addressof(self._name)
        logfile.ProcessTraceMode = (
            api.PROCESS_TRACE_MODE_REAL_TIME | api.PROCESS_TRACE_MODE_EVENT_RECORD
        )
        logfile.EventRecordCallback = self._callback
        self._logfile = logfile
        trace = int(self.dll.OpenTraceW(ctypes.byref(logfile)))
        if trace == INVALID_PROCESSTRACE_HANDLE:
            self.stop()
            raise EtwSessionError(f"OpenTraceW({self.name}) failed")
        self._trace = trace
        self._thread = threading.Thread(target=self._process, name="aurora-etw", daemon=True)
        self._thread.start()

    def _process(self) -> None:
        handles = ctypes.c_uint64(self._trace)
        rc = int(self.dll.ProcessTrace(ctypes.byref(handles), 1, None, None))
        if rc not in (api.ERROR_SUCCESS, api.ERROR_CANCELLED):
            log.error("ProcessTrace ended with error %d", rc)

    # --------------------------------------------------------------- consuming
    def _on_record(self, ptr: Any) -> None:
        """Runs on ProcessTrace's thread: copy, count, return. No decoding, no blocking."""
        record = copy_event_record(ptr)
        if record.provider == EVENT_TRACE_GUID and record.opcode in RT_LOST_OPCODES:
            self.rt_lost += 1
            return
        try:
            self.records.put_nowait(record)
        except queue.Full:
            self.queue_full_losses += 1

    def drain(self, limit: int = 4096) -> list[EtwRecord]:
        out: list[EtwRecord] = []
        while len(out) < limit:
            try:
                out.append(self.records.get_nowait())
            except queue.Empty:
                break
        return out

    def os_losses(self) -> int:
        """What the OS says this session lost: events and real-time buffers (QUERY)."""
        return self.query()[1]

    def query(self) -> tuple[bool, int]:
        """(the session still exists, what the OS says it lost), from one QUERY: a session
        stopped from outside (logman stop, xperf) answers ERROR_WMI_INSTANCE_NOT_FOUND."""
        rc, props = self._control(api.EVENT_TRACE_CONTROL_QUERY)
        if rc != api.ERROR_SUCCESS:
            return False, 0
        lost = int(props.EventsLost) + int(props.RealTimeBuffersLost) + int(props.LogBuffersLost)
        return True, lost

    def stop(self) -> None:
        if self._handle.value or self._trace != INVALID_PROCESSTRACE_HANDLE:
            self._control(api.EVENT_TRACE_CONTROL_STOP)
        if self._trace != INVALID_PROCESSTRACE_HANDLE:
            self.dll.CloseTrace(self._trace)
            self._trace = INVALID_PROCESSTRACE_HANDLE
        self._handle.value = 0
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
