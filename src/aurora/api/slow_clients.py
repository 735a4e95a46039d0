"""uvicorn's HTTP/1.1 protocol with a bound on how long a request head may take to arrive.

uvicorn times a connection out only between requests, and only until the first byte comes, so a
client that connects and says nothing, or drips its headers one line at a time, holds its
connection forever; enough of them exhaust the console's file descriptors. Here every request
head (the first, and each one after a keep-alive response) must be complete within the bound.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


class HeadBoundedH11(H11Protocol):
    """H11Protocol that closes a connection whose next request head is late."""

    head_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        super().data_received(data)
        if self.cycle is not before:  # a request head was parsed: the application has it now
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        who = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
        log.warning(
            "closing console connection from %s: no request within %ss", who, self.head_timeout_s
        )
        self.transport.abort()


def head_bounded_h11(head_timeout_s: float) -> type[H11Protocol]:
    """The protocol class to hand uvicorn (``http=``), with its own bound."""
    return type("HeadBoundedH11", (HeadBoundedH11,), {"head_timeout_s": head_timeout_s})
