"""Runs a :class:`Plugin`: its producing thread, and the connection to the sensor (its Unix
socket, or on Windows its named pipe): connect, handshake, heartbeats both ways, reconnect with
exponential backoff."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aurora.errors import AuroraError
from aurora.plugins.channel import Channel
from aurora.plugins.framing import (
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    ConnectionClosed,
    FrameError,
    FrameTooLarge,
    encode,
    read_frame,
)
from aurora.plugins.peer_linux import connect_unix
from aurora.plugins.pipe_api import PipeApi
from aurora.plugins.sdk.plugin import Plugin
from aurora.plugins.sdk.sink import EventSink

log = logging.getLogger(__name__)

DEFAULT_SOCKET = Path("/var/lib/aurora-sensor/plugins.sock")


class PluginRefused(AuroraError):
    """The sensor refused the handshake; the message is its reason."""


class _Connection:
    """One connected, welcomed session with the sensor."""

    def __init__(self, sock: Channel, welcome: dict[str, Any]) -> None:
        self.sock = sock
        self.heartbeat_s = float(welcome.get("heartbeat_s", 5.0))
        self.max_frame = int(welcome.get("max_frame", MAX_FRAME_BYTES))
        self.last_heard = time.monotonic()
        self.last_sent = time.monotonic()
        self.closed = threading.Event()
        self.reason = ""
        threading.Thread(target=self._listen, name="aurora-plugin-rx", daemon=True).start()

    def _listen(self) -> None:
        try:
            while True:
                frame = read_frame(self.sock, self.max_frame)
                self.last_heard = time.monotonic()
                if frame["type"] in ("refused", "bye"):
                    self.reason = str(frame.get("reason", "closed by the sensor"))
                    break
        except (ConnectionClosed, FrameError, OSError) as exc:
            self.reason = self.reason or str(exc)
        self.closed.set()

    def send(self, message: dict[str, Any]) -> None:
        self.sock.sendall(encode(message, self.max_frame))
        self.last_sent = time.monotonic()

    def close(self) -> None:
        self.sock.wake()
        self.sock.close()


class Runner:
    def __init__(
        self,
        plugin: Plugin,
        socket_path: Path = DEFAULT_SOCKET,
        *,
        sink: EventSink | None = None,
        batch_max: int = 256,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        pipe_name: str | None = None,
        pipe_api: PipeApi | None = None,
    ) -> None:
        """``pipe_name`` (the default on Windows: the sensor's pipe) connects to a named pipe
        instead of ``socket_path``."""
        self.plugin = plugin
        self.socket_path = socket_path
        if pipe_name is None and sys.platform == "win32":
            from aurora.plugins.peer_windows import PIPE_NAME

            pipe_name = PIPE_NAME
        self.pipe_name = pipe_name
        self.pipe_api = pipe_api
        self.sink = sink if sink is not None else EventSink()  # an empty sink is falsy
        self.batch_max = batch_max
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.stop_event = threading.Event()
        self.connected = threading.Event()
        self.last_refusal = ""
        self.sent = 0

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> int:
        """Run until :meth:`stop`; returns 0. Refusals and lost connections are retried."""
        producer = threading.Thread(
            target=self.plugin.run, args=(self.sink, self.stop_event), name="plugin", daemon=True
        )
        producer.start()
        delay = self.backoff_s
        while not self.stop_event.is_set():
            try:
                conn = self._connect()
            except PluginRefused as exc:
                self.last_refusal = exc.message
                log.error("sensor refused plugin %s: %s", self.plugin.name, exc.message)
            except (OSError, FrameError, ConnectionClosed) as exc:
                log.info("sensor socket %s not reachable: %s", self.socket_path, exc)
            else:
                delay = self.backoff_s  # a welcome resets the backoff
                self.connected.set()
                reason = self._pump(conn)
                self.connected.clear()
                conn.close()
                if not self.stop_event.is_set():
                    log.warning("connection to the sensor lost: %s", reason)
            self.stop_event.wait(delay)
            delay = min(self.backoff_max_s, delay * 2)
        producer.join(timeout=5)
        return 0

    def _open(self, timeout_s: float) -> Channel:
        if self.pipe_name is not None:
            from aurora.plugins.peer_windows import connect_pipe

            return connect_pipe(self.pipe_name, timeout_s, self.pipe_api)
        return connect_unix(self.socket_path, timeout_s)

    def _connect(self) -> _Connection:
        sock = self._open(10.0)
        try:
            hello = {
                "type": "hello",
                "protocol": PROTOCOL_VERSION,
                "name": self.plugin.name,
                "version": self.plugin.version,
                "classes": list(self.plugin.classes),
            }
            sock.sendall(encode(hello))
            answer = read_frame(sock)
        except BaseException:
            sock.close()
            raise
        if answer["type"] != "welcome":
            sock.close()
            raise PluginRefused(str(answer.get("reason", f"answered {answer['type']!r}")))
        sock.settimeout(None)
        return _Connection(sock, answer)

    def _pump(self, conn: _Connection) -> str:
        """Send events and heartbeats until the connection ends; the reason it ended."""
        while not self.stop_event.is_set() and not conn.closed.is_set():
            # Three missed heartbeats, and a second's grace for a sensor under load.
            if time.monotonic() - conn.last_heard > 3 * conn.heartbeat_s + 1.0:
                return "the sensor stopped sending heartbeats"
            events = self.sink.take(self.batch_max, min(0.2, conn.heartbeat_s / 2))
            try:
                if events:
                    self._send_events(conn, events)
                if time.monotonic() - conn.last_sent >= conn.heartbeat_s:
                    conn.send({"type": "heartbeat", "lost": self.sink.lost})
            except OSError as exc:
                self.sink.put_back(events)
                return str(exc)
        if self.stop_event.is_set():
            with contextlib.suppress(OSError, FrameError):
                conn.send({"type": "heartbeat", "lost": self.sink.lost})
                conn.send({"type": "bye"})
        return conn.reason or "stopped"

    def _send_events(self, conn: _Connection, events: list[dict[str, Any]]) -> None:
        try:
            conn.send({"type": "events", "events": events})
        except FrameTooLarge:
            if len(events) == 1:
                self.sink.count_lost(1)
                log.error("plugin %s: one event is over the frame limit; dropped", self.plugin.name)
                return
            half = len(events) // 2
            self._send_events(conn, events[:half])
            self._send_events(conn, events[half:])
            return
        self.sent += len(events)
