"""Plugin test helpers: manifests for this interpreter, a running host on a short socket path,
raw protocol clients for hostile peers, and a plugin that emits what it is given."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import orjson

from aurora.plugins.host import PluginHost
from aurora.plugins.manifest import Manifest, ManifestDir, file_sha256
from aurora.plugins.sdk import EventSink, Plugin, Runner

# The image every Python plugin in these tests runs: what /proc/PID/exe points at.
PYTHON_EXE = os.readlink("/proc/self/exe")
PYTHON_SHA256 = file_sha256(PYTHON_EXE)


def manifest_for(
    name: str,
    *,
    classes: tuple[int, ...] = (3002,),
    uid: int = 0,
    version: str = "1.0",
    sha256: str = PYTHON_SHA256,
) -> Manifest:
    return Manifest(name, version, PYTHON_EXE, sha256, classes, uid if uid >= 0 else os.getuid())


@contextmanager
def short_dir() -> Iterator[Path]:
    """A directory with a short path: a Unix socket path must fit in 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="apl-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def running_host(*manifests: Manifest, **kwargs: Any) -> Iterator[PluginHost]:
    with short_dir() as root:
        store = ManifestDir(root / "manifests")
        for manifest in manifests:
            store.enable(manifest)
        host = PluginHost(root / "p.sock", store, **kwargs)
        host.start()
        try:
            yield host
        finally:
            host.stop()


def auth_event(i: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "class_uid": 3002,
        "activity_id": 1,
        "time": int(time.time() * 1000),
        "status_id": 1,
        "user": {"name": f"user{i}"},
        **extra,
    }


def send_frame(sock: socket.socket, message: dict[str, Any]) -> None:
    body = orjson.dumps(message)
    sock.sendall(struct.pack(">I", len(body)) + body)


def read_answer(sock: socket.socket, timeout: float = 5.0) -> dict[str, Any]:
    sock.settimeout(timeout)
    header = sock.recv(4, socket.MSG_WAITALL)
    if len(header) < 4:
        return {"type": "closed"}
    (size,) = struct.unpack(">I", header)
    body: dict[str, Any] = orjson.loads(sock.recv(size, socket.MSG_WAITALL))
    return body


@contextmanager
def raw_client(host: PluginHost) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(host.socket_path))
    try:
        yield sock
    finally:
        sock.close()


def handshake(
    sock: socket.socket, name: str, *, version: str = "1.0", classes: tuple[int, ...] = (3002,)
) -> dict[str, Any]:
    hello = {"type": "hello", "protocol": 1, "name": name, "version": version}
    send_frame(sock, {**hello, "classes": list(classes)})
    return read_answer(sock)


class ListPlugin(Plugin):
    """Emits ``events`` once, then waits to be stopped."""

    name: ClassVar[str] = "lister"
    version: ClassVar[str] = "1.0"
    classes: ClassVar[tuple[int, ...]] = (3002,)

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def run(self, sink: EventSink, stop: threading.Event) -> None:
        for event in self.events:
            sink.emit(event)
        stop.wait()


@contextmanager
def running_plugin(runner: Runner) -> Iterator[Runner]:
    thread = threading.Thread(target=runner.run, name="test-plugin", daemon=True)
    thread.start()
    try:
        yield runner
    finally:
        runner.stop()
        thread.join(timeout=10)


def drain(host: PluginHost, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got += host.poll(100)
    return got


def list_plugin(
    name: str, events: list[dict[str, Any]], classes: tuple[int, ...] = (3002,)
) -> ListPlugin:
    """A ListPlugin speaking as ``name``."""
    cls = type(f"{name}_plugin", (ListPlugin,), {"name": name, "classes": classes})
    plugin: ListPlugin = cls(events)
    return plugin
