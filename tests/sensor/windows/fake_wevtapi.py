"""A stand-in for wevtapi.dll at the ctypes boundary: the same functions, arguments,
out-parameters and Win32 error codes, over an in-memory channel whose records tests control."""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field
from typing import Any

from aurora.sensor.windows.ffi import wevtapi as w
from aurora.sensor.windows.ffi.types import read_wide


def event_xml(channel: str, rid: int, image: str = "C:\\Windows\\System32\\cmd.exe") -> str:
    return (
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
        "<Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID>"
        f"<TimeCreated SystemTime='2024-05-01T10:00:00.000Z'/><EventRecordID>{rid}</EventRecordID>"
        f"<Channel>{channel}</Channel><Computer>WS1</Computer></System><EventData>"
        f"<Data Name='Image'>{image}</Data><Data Name='ProcessId'>{1000 + rid}</Data>"
        "</EventData></Event>"
    )


@dataclass
class FakeLog:
    channel: str
    records: list[tuple[int, str]] = field(default_factory=list)  # (record id, rendered XML)
    cleared_before: int = 0  # records below this id are gone (cleared / overwritten)
    stale_once: bool = False  # the next EvtNext reports ERROR_EVT_QUERY_RESULT_STALE

    def add(self, *rids: int) -> None:
        self.records.extend((r, event_xml(self.channel, r)) for r in rids)


class FakeWevtapi:
    def __init__(self, log: FakeLog) -> None:
        self.log = log
        self.error = 0
        self.calls: list[tuple[str, Any]] = []
        self._next_handle = 100
        self.objects: dict[int, Any] = {}

    def last_error(self) -> int:
        return self.error

    def _new(self, obj: Any) -> int:
        self._next_handle += 1
        self.objects[self._next_handle] = obj
        return self._next_handle

    # --- the DLL's functions -------------------------------------------------------------
    def EvtCreateBookmark(self, xml_ptr: int | None) -> int:
        rid = None
        if xml_ptr:
            m = re.search(r"RecordId='(\d+)'", read_wide(xml_ptr))
            if m is None:
                self.error = 13  # ERROR_INVALID_DATA: not a bookmark
                return 0
            rid = int(m.group(1))
        self.calls.append(("EvtCreateBookmark", rid))
        return self._new({"bookmark": rid})

    def EvtSubscribe(self, session, signal, channel_ptr, query_ptr, bookmark, ctx, cb, flags):
        channel = read_wide(channel_ptr)
        self.calls.append(("EvtSubscribe", (channel, flags)))
        if channel != self.log.channel:
            self.error = w.ERROR_EVT_CHANNEL_NOT_FOUND
            return None
        ids = [r for r, _ in self.log.records if r >= self.log.cleared_before]
        if flags == w.EvtSubscribeStartAfterBookmark | w.EvtSubscribeStrict:
            after = self.objects[bookmark]["bookmark"]
            if after < self.log.cleared_before - 1:
                self.error = 1168  # ERROR_NOT_FOUND: the bookmarked record was cleared
                return None
            position = after
        elif flags == w.EvtSubscribeStartAtOldestRecord:
            position = (min(ids) - 1) if ids else self.log.cleared_before - 1
        else:  # future events only
            position = max([r for r, _ in self.log.records], default=0)
        return self._new({"subscription": position})

    def EvtNext(self, sub, count, handles, timeout, flags, returned_ref):
        if self.log.stale_once:
            self.log.stale_once = False
            self.error = w.ERROR_EVT_QUERY_RESULT_STALE
            return 0
        state = self.objects[sub]
        ready = [
            (r, x)
            for r, x in self.log.records
            if r > state["subscription"] and r >= self.log.cleared_before
        ][:count]
        if not ready:
            self.error = w.ERROR_NO_MORE_ITEMS
            return 0
        for i, (rid, xml) in enumerate(ready):
            handles[i] = self._new({"event": rid, "xml": xml})
        state["subscription"] = ready[-1][0]
        returned_ref._obj.value = len(ready)
        return 1

    def EvtRender(self, ctx, handle, flags, size, buf, used_ref, props_ref):
        obj = self.objects[handle]
        if flags == w.EvtRenderBookmark:
            text = (
                f"<BookmarkList><Bookmark Channel='{self.log.channel}' "
                f"RecordId='{obj['bookmark']}' IsCurrent='true'/></BookmarkList>"
            )
        else:
            text = obj["xml"]
        data = (text + "\0").encode("utf-16-le")
        used_ref._obj.value = len(data)
        if size < len(data):
            self.error = w.ERROR_INSUFFICIENT_BUFFER
            return 0
        ctypes.memmove(buf, data, len(data))
        return 1

    def EvtUpdateBookmark(self, bookmark: int, event: int) -> int:
        self.objects[bookmark]["bookmark"] = self.objects[event]["event"]
        return 1

    def EvtClose(self, handle: int) -> int:
        self.objects.pop(handle, None)
        return 1
