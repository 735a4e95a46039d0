"""The event-log calls the channel subscriber makes, over wevtapi through ctypes.

Tests replace ``dll`` (and ``last_error``) with fakes that behave as wevtapi does at the ctypes
boundary: same functions, same out-parameters, same error codes.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from aurora.errors import AuroraError
from aurora.sensor.windows.ffi import wevtapi as w
from aurora.sensor.windows.ffi.types import DWORD, EVT_HANDLE, read_wide, wide


class EvtError(AuroraError):
    """A wevtapi call failed; ``code`` is the Win32 error."""

    def __init__(self, call: str, code: int) -> None:
        super().__init__(f"{call} failed with Windows error {code}")
        self.code = code


class EvtApi:
    def __init__(self, dll: Any = None, last_error: Callable[[], int] | None = None) -> None:
        self.dll = dll if dll is not None else w.wevtapi
        getter: Callable[[], int] = getattr(ctypes, "get_last_error", lambda: 0)
        self.last_error = last_error or getter

    def _fail(self, call: str) -> EvtError:
        return EvtError(call, int(self.last_error()))

    def subscribe(self, channel: str, bookmark: int | None) -> int:
        """Pull-mode subscription: after the bookmark (strictly) if given, else future events."""
        flags = (
            w.EvtSubscribeStartAfterBookmark | w.EvtSubscribeStrict
            if bookmark
            else w.EvtSubscribeToFutureEvents
        )
        return self._subscribe(channel, bookmark, flags)

    def subscribe_oldest(self, channel: str) -> int:
        return self._subscribe(channel, None, w.EvtSubscribeStartAtOldestRecord)

    def _subscribe(self, channel: str, bookmark: int | None, flags: int) -> int:
        name, query = wide(channel), wide("*")
        handle = self.dll.EvtSubscribe(
            None, None, ctypes.addressof(name), ctypes.addressof(query), bookmark, None, None, flags
        )
        if not handle:
            raise self._fail("EvtSubscribe")
        return int(handle)

    def next(self, subscription: int, count: int, timeout_ms: int) -> list[int]:
        """Up to ``count`` event handles; [] when none came in time."""
        handles = (EVT_HANDLE * count)()
        returned = DWORD(0)
        ok = self.dll.EvtNext(subscription, count, handles, timeout_ms, 0, ctypes.byref(returned))
        if not ok:
            code = int(self.last_error())
            if code in (w.ERROR_NO_MORE_ITEMS, w.ERROR_TIMEOUT):
                return []
            raise EvtError("EvtNext", code)
        return [int(handles[i] or 0) for i in range(returned.value)]

    def _render(self, handle: int, flags: int) -> str:
        used, props = DWORD(0), DWORD(0)
        ok = self.dll.EvtRender(
            None, handle, flags, 0, None, ctypes.byref(used), ctypes.byref(props)
        )
        if not ok and int(self.last_error()) != w.ERROR_INSUFFICIENT_BUFFER:
            raise self._fail("EvtRender")
        buf = ctypes.create_string_buffer(used.value + 2)
        if not self.dll.EvtRender(
            None, handle, flags, used.value, buf, ctypes.byref(used), ctypes.byref(props)
        ):
            raise self._fail("EvtRender")
        return read_wide(ctypes.addressof(buf), (used.value + 2) // 2)

    def render_xml(self, handle: int) -> str:
        return self._render(handle, w.EvtRenderEventXml)

    def render_bookmark(self, bookmark: int) -> str:
        return self._render(bookmark, w.EvtRenderBookmark)

    def create_bookmark(self, xml: str | None) -> int:
        text = wide(xml) if xml else None
        handle = self.dll.EvtCreateBookmark(ctypes.addressof(text) if text is not None else None)
        if not handle:
            raise self._fail("EvtCreateBookmark")
        return int(handle)

    def update_bookmark(self, bookmark: int, event: int) -> None:
        if not self.dll.EvtUpdateBookmark(bookmark, event):
            raise self._fail("EvtUpdateBookmark")

    def close(self, handle: int) -> None:
        self.dll.EvtClose(handle)
