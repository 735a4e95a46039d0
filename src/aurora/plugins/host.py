"""The sensor's plugin host: where local plugins connect (a Unix socket on Linux, a named pipe
on Windows), an event source for the agent like the eBPF sensor, and the keeper of every
plugin's heartbeats and loss counts.

One thread accepts, one thread per plugin reads (:mod:`.session`), one keeper thread sends
heartbeats, drops silent plugins and those whose manifest was removed. Events wait in one bounded
queue per plugin, which :meth:`PluginHost.poll` drains in turns for the agent.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aurora.plugins.channel import Channel, Listener
from aurora.plugins.framing import ConnectionClosed, FrameError, FrameTooLarge
from aurora.plugins.manifest import Manifest, ManifestDir
from aurora.plugins.peer_linux import PluginSocketError, UnixListener
from aurora.plugins.provenance import local_device
from aurora.plugins.session import Limits, Refused, Session, refuse_and_close
from aurora.plugins.stats import PluginStats
from aurora.sensor.source import Capability

log = logging.getLogger(__name__)

QUEUE_EVENTS = 10_000  # per plugin
MAX_CONNECTIONS = 32
_POLL_BATCH = 4096


__all__ = ["PluginHost", "PluginSocketError"]


class PluginHost:
    def __init__(
        self,
        socket_path: Path,
        manifests: ManifestDir,
        *,
        queue_events: int = QUEUE_EVENTS,
        limits: Limits | None = None,
        max_connections: int = MAX_CONNECTIONS,
        listener: Callable[[], Listener] | None = None,
        pipe_name: str = "",
    ) -> None:
        self.socket_path = socket_path
        self.pipe_name = pipe_name  # Windows; empty: the default pipe
        self._make_listener = listener or self._platform_listener
        self.manifests = manifests
        self.limits = limits or Limits()
        self.max_connections = max_connections
        self.stats = PluginStats()
        self.queue_events = queue_events
        self._ready = threading.Event()  # set when a plugin queued events
        # Queues of plugins gone while events were still waiting: drained like the others.
        self._leftovers: list[queue.Queue[dict[str, Any]]] = []
        self._device = local_device()
        self._lock = threading.Lock()
        self._sessions: dict[int, Session] = {}  # by id(); named ones are connected plugins
        self._stop = threading.Event()
        self._listener: Listener | None = None
        self._threads: list[threading.Thread] = []
        self._logged_at: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}

    # -------------------------------------------------------------- EventSource
    def start(self) -> None:
        self._listener = self._make_listener()
        for target, name in ((self._accept_loop, "accept"), (self._keeper, "keeper")):
            thread = threading.Thread(target=target, name=f"aurora-plugins-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("plugin host listening on %s", self._listener.where)

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        self._ready.clear()  # before draining: an event queued after this sets it again
        out = self._drain()
        if not out and self._ready.wait(timeout_ms / 1000):
            out = self._drain()
        return out

    def _drain(self) -> list[dict[str, Any]]:
        with self._lock:
            queues = [s.events for s in self._sessions.values() if s.manifest is not None]
            queues += self._leftovers
        # Equal shares per plugin, so a flooding plugin cannot crowd the others out of a poll.
        share = max(1, _POLL_BATCH // max(1, len(queues)))
        out: list[dict[str, Any]] = []
        for waiting in queues:
            with contextlib.suppress(queue.Empty):
                for _ in range(share):
                    out.append(waiting.get_nowait())
        if self._leftovers:
            with self._lock:
                self._leftovers = [q for q in self._leftovers if not q.empty()]
        return out

    def capabilities(self) -> list[Capability]:
        return [Capability(f"plugin:{name}", True) for name in self.connected()]

    def drop_counts(self) -> dict[str, int]:
        return {}  # plugin losses are not kernel losses: see plugin_losses()

    def plugin_losses(self) -> dict[str, int]:
        """Cumulative events lost per plugin (refused, invalid, queue full, lost by the plugin)."""
        return self.stats.lost_by_plugin()

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            session.close("shutdown", "sensor stopping")
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def connected(self) -> list[str]:
        with self._lock:
            return sorted(s.name for s in self._sessions.values() if s.name)

    # ---------------------------------------------------------------- listener
    def _platform_listener(self) -> Listener:
        if sys.platform == "win32":
            from aurora.plugins.peer_windows import PIPE_NAME, listen_pipe

            return listen_pipe(self.pipe_name or PIPE_NAME, self.manifests)
        return UnixListener(self.socket_path)

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stop.is_set():
            try:
                conn = listener.accept()
            except OSError:
                if not self._stop.is_set():
                    log.error(
                        "plugin listener %s failed; no new plugin can connect", listener.where
                    )
                return  # closed by stop()
            with self._lock:
                busy = len(self._sessions) >= self.max_connections
            if busy:
                self._refuse(conn, None, "busy", f"over {self.max_connections} plugin connections")
                continue
            threading.Thread(
                target=self._serve, args=(conn,), name="aurora-plugin", daemon=True
            ).start()

    def _refuse(self, conn: Channel, session: Session | None, kind: str, why: str) -> None:
        self.stats.refuse(kind)
        who = f" ({session.peer.describe()})" if session else ""
        self._warn(kind, f"plugin connection refused [{kind}]{who}: {why}")
        refuse_and_close(conn, why, self.limits.max_frame)

    def _warn(self, kind: str, line: str) -> None:
        """One line per kind of refusal a second at most: a peer reconnecting in a loop must
        not flood the log (every refusal is still counted)."""
        now = time.monotonic()
        with self._lock:
            if now - self._logged_at.get(kind, -1.0) < 1.0:
                self._unlogged[kind] = self._unlogged.get(kind, 0) + 1
                return
            self._logged_at[kind] = now
            skipped = self._unlogged.pop(kind, 0)
        log.warning("%s%s", line, f" ({skipped} more since the last line)" if skipped else "")

    # ----------------------------------------------------------------- sessions
    def _serve(self, conn: Channel) -> None:
        try:
            session = Session(
                conn,
                self.manifests,
                self.queue_events,
                self._ready,
                self.stats,
                self.limits,
                self._device,
            )
        except OSError as exc:
            self._refuse(conn, None, "peer", f"no peer credentials: {exc}")
            return
        key = id(session)
        with self._lock:
            self._sessions[key] = session
        try:
            self._handshake_and_serve(session)
        finally:
            with self._lock:
                self._sessions.pop(key, None)
                if not session.events.empty():
                    self._leftovers.append(session.events)

    def _handshake_and_serve(self, session: Session) -> None:
        conn = session.conn
        try:
            session.handshake(self._claim)
        except Refused as exc:
            return self._refuse(conn, session, exc.kind, exc.reason)
        except (FrameError, ConnectionClosed, OSError) as exc:
            return self._refuse(conn, session, _frame_kind(exc), f"bad handshake: {exc}")
        log.info(
            "plugin %s %s connected (pid %d)",
            session.name,
            session.manifest.version if session.manifest else "",
            session.peer.pid,
        )
        try:
            session.serve()
        except Refused as exc:
            self._drop(session, exc.kind, exc.reason)
            return
        except (FrameError, OSError) as exc:
            # The frame that broke the stream held at least one event: count it lost.
            self.stats.lose(session.name)
            self._drop(session, _frame_kind(exc), str(exc))
            return
        log.info("plugin %s disconnected", session.name)
        conn.close()

    def _claim(self, session: Session, manifest: Manifest) -> bool:
        with self._lock:
            if any(s.name == manifest.name for s in self._sessions.values()):
                return False
            session.manifest = manifest
            return True

    def _drop(self, session: Session, kind: str, why: str) -> None:
        self.stats.refuse(kind)
        self._warn(kind, f"plugin {session.name} dropped [{kind}]: {why}")
        refuse_and_close(session.conn, why, self.limits.max_frame)

    # ------------------------------------------------------------------- keeper
    def _keeper(self) -> None:
        tick = min(1.0, self.limits.heartbeat_s / 2)
        while not self._stop.wait(tick):
            listener = self._listener
            if listener is not None:
                try:
                    listener.refresh()
                except OSError as exc:
                    log.error(
                        "plugin listener %s: cannot follow the manifests: %s", listener.where, exc
                    )
            now = time.monotonic()
            with self._lock:
                sessions = [s for s in self._sessions.values() if s.manifest is not None]
            for session in sessions:
                self._keep(session, now)

    def _keep(self, session: Session, now: float) -> None:
        if now - session.last_seen > self.limits.silence_s:
            silent = now - session.last_seen
            session.close("silent", f"nothing received for {silent:.1f} s")
            return
        current = self.manifests.get(session.name)
        if current is None or current != session.manifest:
            session.close("manifest_removed", "its manifest was removed or changed")
            return
        if now - session.last_sent >= self.limits.heartbeat_s:
            try:
                session.send({"type": "heartbeat"})
            except (OSError, FrameError):
                session.close("silent", "heartbeat could not be sent")


def _frame_kind(exc: BaseException) -> str:
    if isinstance(exc, FrameTooLarge):
        return "oversized"
    if isinstance(exc, FrameError):
        return "garbage"
    return "io"
