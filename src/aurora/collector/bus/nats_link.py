"""One connection to NATS, driven from the collector's threads: an asyncio loop of its own in a
daemon thread, with blocking and future-returning ways to run JetStream calls on it.

The collector's parts run on threads and on other event loops (gRPC, the console), and nats-py
is bound to the loop that connected; so every call crosses into this one loop. After the first
connection the client reconnects forever (a restarted nats-server is waited for, not fatal);
the first connection itself is bounded, so an unreachable server is a one-line start-up error.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError

from aurora.errors import AuroraError

log = logging.getLogger("aurora.collector.bus")

T = TypeVar("T")

#: How long a first connection may take before the start is refused.
CONNECT_TIMEOUT_S = 5.0
#: How long one JetStream request (publish, consumer info) waits for its answer.
REQUEST_TIMEOUT_S = 5.0
_ERROR_LOG_EVERY_S = 10.0


class BusUnavailable(AuroraError):
    """NATS cannot be reached, or JetStream did not acknowledge in time."""


class NatsLink:
    """A connected nats-py client and its JetStream context, owned by one loop thread."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"aurora-nats-{name}", daemon=True
        )
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._last_error_log = 0.0
        self.last_error = ""
        self.connected = threading.Event()
        self._closing = False  # a disconnection we asked for is not worth a warning

    @classmethod
    def open(cls, url: str, name: str, timeout: float = CONNECT_TIMEOUT_S) -> NatsLink:
        """Connect, or raise :class:`BusUnavailable` naming the server and the reason."""
        link = cls(url, name)
        link._thread.start()
        try:
            link.call(link._connect(timeout), timeout + 1)
        except Exception as exc:
            link._stop_loop()
            reason = str(exc) or type(exc).__name__
            if isinstance(exc, TimeoutError):
                reason = link.last_error or f"no answer within {timeout:g}s"
            raise BusUnavailable(f"cannot reach NATS at {url}: {reason}") from None
        return link

    async def _connect(self, timeout: float) -> None:
        # Reconnecting forever keeps a node alive across a nats-server restart; but the initial
        # attempt would loop forever too, so it is bounded here.
        self._nc = await asyncio.wait_for(
            nats.connect(
                self.url.split(","),
                name=f"aurora-{self.name}",
                connect_timeout=min(2.0, timeout),
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.25,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnect,
                reconnected_cb=self._on_reconnect,
            ),
            timeout,
        )
        self._js = self._nc.jetstream(timeout=REQUEST_TIMEOUT_S)
        self.connected.set()

    @staticmethod
    async def _cancel_the_rest() -> None:
        """Cancel whatever still runs on the loop (fetch loops, the client's own readers), so
        the loop closes with no task pending."""
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    async def _on_error(self, exc: Exception) -> None:
        self.last_error = str(exc) or type(exc).__name__
        if self._nc is None:
            return  # the first connection: its failure is the start-up error, said once
        now = time.monotonic()
        if now - self._last_error_log >= _ERROR_LOG_EVERY_S:
            self._last_error_log = now
            log.warning("NATS %s: %s", self.url, exc or type(exc).__name__)

    async def _on_disconnect(self) -> None:
        if self.connected.is_set() and not self._closing:
            log.warning("NATS %s: disconnected; reconnecting", self.url)
        self.connected.clear()

    async def _on_reconnect(self) -> None:
        log.info("NATS %s: reconnected", self.url)
        self.connected.set()

    async def ensure_stream(self, config: StreamConfig) -> None:
        """Create the stream, or bring an existing one to ``config`` (limits may change between
        releases; the subjects and name do not)."""
        try:
            await self.js.add_stream(config)
        except BadRequestError:
            await self.js.update_stream(config)

    @property
    def js(self) -> JetStreamContext:
        assert self._js is not None, "not connected"
        return self._js

    @property
    def nc(self) -> Client:
        assert self._nc is not None, "not connected"
        return self._nc

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Run ``coro`` on the link's loop; thread-safe, returns at once."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = REQUEST_TIMEOUT_S) -> T:
        """Run ``coro`` on the link's loop and wait for its result (not from the loop itself)."""
        fut = self.submit(coro)
        try:
            return fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._closing = True
        # With the server gone, the client's close waits out its timeout for nothing: its
        # reconnect loop is cancelled with the rest of the loop's tasks below.
        if self._nc is not None and not self._nc.is_closed and self.connected.is_set():
            try:
                self.call(self._nc.close(), 5)
            except Exception as exc:  # closing a link whose server is gone
                log.debug("closing the NATS link: %s", exc)
        self._stop_loop()

    def _stop_loop(self) -> None:
        try:
            self.call(self._cancel_the_rest(), 5)
        except Exception as exc:
            log.debug("stopping the NATS loop: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()
