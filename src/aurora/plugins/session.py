"""One plugin connection on the sensor: check the peer and its handshake against the enabled
manifest, then read event frames into its own bounded queue until the plugin leaves or is dropped.

Each refusal or drop is logged with its reason and counted (:class:`.stats.PluginStats`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aurora.plugins import provenance
from aurora.plugins.channel import Channel, PeerIdentity
from aurora.plugins.framing import (
    PROTOCOL_VERSION,
    ConnectionClosed,
    FrameError,
    FrameTooLarge,
    encode,
    read_frame,
)
from aurora.plugins.manifest import Manifest, ManifestDir
from aurora.plugins.stats import PluginStats

log = logging.getLogger(__name__)

_SEND_TIMEOUT_S = 2.0


class Refused(Exception):
    """The connection is refused or dropped; ``kind`` is the counter, the message the reason."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    queue_wait_s: float = 0.5  # how long a frame may hold the plugin back when the queue is full
    heartbeat_s: float = 5.0
    silence_s: float = 15.0
    handshake_s: float = 5.0
    max_frame: int = 256 * 1024


class Session:
    def __init__(
        self,
        conn: Channel,
        manifests: ManifestDir,
        queue_events: int,
        ready: threading.Event,
        stats: PluginStats,
        limits: Limits,
        device: dict[str, Any],
    ) -> None:
        self.conn = conn
        self.manifests = manifests
        # One queue per plugin, drained in turns by the host: a flooding plugin fills its own.
        self.events: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_events)
        self.ready = ready
        self.stats = stats
        self.limits = limits
        self.device = device
        self.peer: PeerIdentity = conn.peer()
        self.manifest: Manifest | None = None
        self.last_seen = time.monotonic()
        self.last_sent = 0.0
        self._send_lock = threading.Lock()
        self._closed_reason = ""
        self.classes: frozenset[int] = frozenset()
        self._plugin_lost = 0
        self._invalid_logged = 0.0

    @property
    def name(self) -> str:
        return self.manifest.name if self.manifest else ""

    # ------------------------------------------------------------------ sending
    def send(self, message: dict[str, Any]) -> None:
        with self._send_lock:
            self.conn.sendall(encode(message, self.limits.max_frame))
            self.last_sent = time.monotonic()

    def close(self, kind: str, reason: str) -> None:
        """Drop the connection from another thread (silent peer, manifest removed, shutdown)."""
        if self._closed_reason:
            return
        self._closed_reason = f"{kind}:{reason}"
        self.conn.wake()  # the reading thread sees the end of the stream

    # ---------------------------------------------------------------- handshake
    def handshake(self, claim: Callable[[Session, Manifest], bool]) -> None:
        """Check the hello; ``claim`` makes this session the plugin's one connection, atomically."""
        self.conn.settimeout(self.limits.handshake_s)
        try:
            hello = read_frame(self.conn, self.limits.max_frame)
        except TimeoutError:
            raise Refused("handshake_timeout", "no hello within the handshake time") from None
        self.conn.settimeout(None)
        # A plugin that stops reading must not block the keeper's heartbeat for long.
        self.conn.set_send_timeout(_SEND_TIMEOUT_S)
        if hello.get("type") != "hello" or hello.get("protocol") != PROTOCOL_VERSION:
            raise Refused(
                "protocol", f"expected a hello for protocol {PROTOCOL_VERSION}, got {hello!r:.80}"
            )
        name, version, classes = hello.get("name"), hello.get("version"), hello.get("classes")
        if not isinstance(name, str) or not isinstance(version, str):
            raise Refused("protocol", "hello needs a string name and version")
        if not isinstance(classes, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in classes
        ):
            raise Refused("protocol", "hello classes must be a list of OCSF class ids")
        manifest = self.manifests.get(name)
        if manifest is None:
            raise Refused("not_enabled", f"plugin {name!r} is not enabled on this sensor")
        if version != manifest.version:
            raise Refused(
                "version", f"plugin {name} is version {version}, manifest says {manifest.version}"
            )
        if why := self.peer.refusal(manifest):
            raise Refused("peer", f"plugin {name}: {why}")
        undeclared = sorted(set(classes) - set(manifest.classes))
        if undeclared or not classes:
            raise Refused(
                "class",
                f"plugin {name}: class {undeclared[0] if undeclared else 'list empty'} is not "
                f"allowed by its manifest (allowed: {', '.join(map(str, manifest.classes))})",
            )
        self.classes = frozenset(classes)
        if not claim(self, manifest):
            raise Refused("duplicate", f"plugin {name} is already connected")
        self.send(
            {
                "type": "welcome",
                "protocol": PROTOCOL_VERSION,
                "heartbeat_s": self.limits.heartbeat_s,
                "max_frame": self.limits.max_frame,
            }
        )

    # ------------------------------------------------------------------ reading
    def serve(self) -> None:
        """Read frames until the plugin leaves (returns) or must be dropped (raises Refused)."""
        assert self.manifest is not None
        while True:
            try:
                frame = read_frame(self.conn, self.limits.max_frame)
            except ConnectionClosed:
                if self._closed_reason:
                    kind, _, reason = self._closed_reason.partition(":")
                    raise Refused(kind, reason) from None
                return
            self.last_seen = time.monotonic()
            kind = frame["type"]
            if kind == "events" and isinstance(frame.get("events"), list):
                self._take(frame["events"])
            elif kind == "event":
                self._take([frame.get("event")])
            elif kind == "heartbeat":
                self._plugin_heartbeat(frame)
            elif kind == "bye":
                return
            else:
                raise Refused("protocol", f"unknown frame type {kind!r:.40}")

    def _plugin_heartbeat(self, frame: dict[str, Any]) -> None:
        # The plugin's own cumulative losses (its sink overflowed): add what is new.
        lost = frame.get("lost", 0)
        if isinstance(lost, int) and not isinstance(lost, bool) and lost > self._plugin_lost:
            self.stats.lose(self.name, lost - self._plugin_lost)
            self._plugin_lost = lost

    def _take(self, batch: list[Any]) -> None:
        assert self.manifest is not None
        name, version = self.manifest.name, self.manifest.version
        deadline = time.monotonic() + self.limits.queue_wait_s
        accepted = lost_full = 0
        for event in batch:
            why = provenance.problem(event, self.classes)
            if why:
                self.stats.lose(name)
                self._log_invalid(why)
                continue
            provenance.stamp(event, name, version, self.device)
            try:
                # Blocking here stops this thread reading, so the plugin's writes block in
                # turn: backpressure, for at most queue_wait_s per frame.
                self.events.put(event, timeout=max(0.0, deadline - time.monotonic()))
                accepted += 1
            except queue.Full:
                lost_full += 1
        if accepted:
            self.ready.set()
        self.stats.accept(name, accepted)
        if lost_full:
            self.stats.lose(name, lost_full)
            log.warning("plugin %s: its sensor queue is full, %d events dropped", name, lost_full)
        self.last_seen = time.monotonic()

    def _log_invalid(self, why: str) -> None:
        now = time.monotonic()
        if now - self._invalid_logged >= 1.0:  # a broken plugin must not flood the log
            self._invalid_logged = now
            log.warning("plugin %s: event refused: %s", self.name, why)


def refuse_and_close(conn: Channel, reason: str, max_frame: int) -> None:
    """Tell the peer why (best effort: it may be gone or not reading) and hang up."""
    try:
        conn.settimeout(0.2)
        conn.sendall(encode({"type": "refused", "reason": reason[:500]}, max_frame))
    except (OSError, FrameError, FrameTooLarge):
        pass
    finally:
        conn.close()
