"""End-to-end canaries: one harmless marker action per watched family, expected back through the
sensor's own pipeline (kernel hook -> ring -> decoder -> normaliser) within a bound.

Markers: an exec of ``/bin/true`` carrying a nonce (process), a file created and removed in a
watched directory (file), a loopback connect to a listener the guard holds (network), a DNS query
for a nonce name sent to a local port (dns). A family whose marker has not come back within the
bound is *blind*, since the time its marker went out. Marker events are consumed here and never
spooled: they are the sensor's self-test, not host telemetry.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aurora.sensor.guard.status import OK, Observation

log = logging.getLogger("aurora.sensor.guard")

CANARY_FAMILIES = ("process", "file", "network", "dns")
_RECENT = 8  # nonces still recognised after they came back (a marker yields several events)


@dataclass
class _Pending:
    nonce: str
    fired_ms: int
    back: bool = False


@dataclass
class Canaries:
    families: list[str]
    watch_paths: list[str]
    timeout_s: float
    fired: int = 0
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _recent: list[str] = field(default_factory=list)
    _child_pids: list[int] = field(default_factory=list)
    _listener: socket.socket | None = None

    def __post_init__(self) -> None:
        self.families = [f for f in self.families if f in CANARY_FAMILIES]
        if "file" in self.families and self._file_dir() is None:
            self.families.remove("file")
        if "network" in self.families:
            self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._listener.bind(("127.0.0.1", 0))
            self._listener.listen(8)
            self._listener.setblocking(False)

    def _file_dir(self) -> Path | None:
        for p in self.watch_paths:
            if "*" not in p and Path(p).is_dir():
                return Path(p)
        return None

    def fire(self, now_ms: int) -> None:
        """Send one marker per family whose previous one came back (or that has none out):
        a blind family keeps its first marker's time as the time it went blind."""
        for family in self.families:
            pending = self._pending.get(family)
            if pending is not None and not pending.back:
                continue
            nonce = f"aurora-canary-{uuid.uuid4().hex[:16]}"
            self._pending[family] = _Pending(nonce, now_ms)
            self._recent = ([*self._recent, nonce])[-_RECENT:]
            getattr(self, f"_fire_{family}")(nonce)
            self.fired += 1

    def _fire_process(self, nonce: str) -> None:
        child = subprocess.Popen(["/bin/true", nonce], close_fds=True)
        self._child_pids = ([*self._child_pids, child.pid])[-_RECENT:]
        child.wait(timeout=5)

    def _fire_file(self, nonce: str) -> None:
        directory = self._file_dir()
        if directory is None:
            return
        marker = directory / f".{nonce}"
        try:
            marker.write_bytes(b"")
        finally:
            marker.unlink(missing_ok=True)

    def _fire_network(self, nonce: str) -> None:
        assert self._listener is not None
        with socket.create_connection(self._listener.getsockname(), timeout=2):
            pass
        try:
            conn, _ = self._listener.accept()
            conn.close()
        except BlockingIOError:
            pass

    def _fire_dns(self, nonce: str) -> None:
        name = f"{nonce}.invalid"
        query = struct.pack(">HHHHHH", 0x4155, 0x0100, 1, 0, 0, 0)
        for label in name.split("."):
            query += bytes([len(label)]) + label.encode()
        query += b"\0" + struct.pack(">HH", 1, 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            # Nobody needs to answer: the sensor sees the query as it is sent.
            s.sendto(query, ("127.0.0.1", 53))

    def consume(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events that are not markers; markers mark their family as come back."""
        if not self._recent:
            return events
        kept = []
        for ev in events:
            family = self._marker_family(ev)
            if family is None:
                kept.append(ev)
        return kept

    def _marker_family(self, ev: dict[str, Any]) -> str | None:
        cls = ev.get("class_uid")
        text = ""
        family = ""
        if cls == 1007:
            proc = ev.get("process") or {}
            text, family = str(proc.get("cmd_line", "")), "process"
            if "aurora-canary-" not in text and proc.get("pid") in self._child_pids:
                return "process-child"  # the marker's fork, before its exec
        elif cls == 1001:
            text, family = str((ev.get("file") or {}).get("path", "")), "file"
        elif cls == 4003:
            text, family = str((ev.get("query") or {}).get("hostname", "")), "dns"
        elif cls == 4001 and self._listener is not None:
            port = self._listener.getsockname()[1]
            dst, src = ev.get("dst_endpoint") or {}, ev.get("src_endpoint") or {}
            if port in (dst.get("port"), src.get("port")) and dst.get("ip") == "127.0.0.1":
                actor = (ev.get("actor") or {}).get("process") or {}
                if actor.get("pid") in (None, os.getpid()):
                    self._came_back("network", None)
                    return "network"
            return None
        if not family or "aurora-canary-" not in text:
            return None
        self._came_back(family, text)
        return family

    def _came_back(self, family: str, text: str | None) -> None:
        pending = self._pending.get(family)
        if pending is not None and (text is None or pending.nonce in text):
            pending.back = True

    def all_back(self) -> bool:
        """Every family's latest marker came back (vacuously true with no family to watch)."""
        return all((p := self._pending.get(f)) is not None and p.back for f in self.families)

    def observe(self, now_ms: int) -> list[Observation]:
        out = []
        for family in self.families:
            pending = self._pending.get(family)
            name = f"canary/{family}"
            if pending is None or pending.back:
                out.append(Observation(name, OK))
            elif now_ms - pending.fired_ms > self.timeout_s * 1000:
                blind_for = (now_ms - pending.fired_ms) / 1000
                out.append(
                    Observation(
                        name,
                        "blind",
                        f"marker sent {blind_for:.0f} s ago has not come back through the sensor",
                        since_ms=pending.fired_ms,
                    )
                )
        return out

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
