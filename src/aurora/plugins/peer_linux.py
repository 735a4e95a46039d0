"""Plugins on Linux: the Unix socket they connect to, and who is on the other end of it:
SO_PEERCRED (pid, uid) from the kernel, and the SHA-256 of the executable image
``/proc/PID/exe`` points at, checked against a manifest.

The credentials are the kernel's record of the connecting process, not anything the peer says.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

from aurora.errors import AuroraError
from aurora.plugins.framing import unix_address
from aurora.plugins.manifest import Manifest, file_sha256

_UCRED = struct.Struct("3i")


class PluginSocketError(AuroraError):
    """The plugin socket cannot be created (path taken by something else, no permission...)."""


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int

    def describe(self) -> str:
        return f"pid {self.pid}, uid {self.uid}"

    def refusal(self, manifest: Manifest) -> str:
        return refusal(self, manifest)


def peer_of(sock: socket.socket) -> Peer:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return Peer(pid, uid, gid)


def executable_of(pid: int) -> str:
    """The path the process's image was run from (" (deleted)" when replaced since)."""
    return os.readlink(f"/proc/{pid}/exe")


def refusal(peer: Peer, manifest: Manifest) -> str:
    """Why ``peer`` may not speak for ``manifest``'s plugin; empty when it may."""
    if manifest.uid is None:
        return f"the manifest is for a Windows executable ({manifest.executable})"
    if peer.uid != manifest.uid:
        return f"peer uid {peer.uid} is not the manifest's uid {manifest.uid}"
    try:
        exe = executable_of(peer.pid)
        # Hash through /proc/PID/exe, not the path: it is the image actually running, even if
        # the file at the path was replaced after the process started.
        digest = file_sha256(f"/proc/{peer.pid}/exe")
    except OSError as exc:
        return f"cannot read the executable of pid {peer.pid}: {exc.strerror or exc}"
    if exe != manifest.executable:
        return f"peer runs {exe}, not the manifest's executable {manifest.executable}"
    if digest != manifest.sha256:
        return f"SHA-256 of {exe} is {digest[:16]}..., not the manifest's {manifest.sha256[:16]}..."
    return ""


class UnixChannel:
    """A connected Unix stream socket as a :class:`~aurora.plugins.channel.Channel`."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recv(self, n: int) -> bytes:
        return self.sock.recv(n)

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def settimeout(self, seconds: float | None) -> None:
        self.sock.settimeout(seconds)

    def set_send_timeout(self, seconds: float) -> None:
        whole = int(seconds)
        timeval = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.sock.close()

    def peer(self) -> Peer:
        return peer_of(self.sock)


def connect_unix(path: Path, timeout_s: float) -> UnixChannel:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout_s)
        with unix_address(path) as address:
            sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return UnixChannel(sock)


class UnixListener:
    """The sensor's plugin socket: a stale socket from a previous run is replaced, anything
    else at the path is refused."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            pass
        else:
            if not stat.S_ISSOCK(mode):
                raise PluginSocketError(f"{path} exists and is not a socket; move it away")
            path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with unix_address(path) as address:
                self.sock.bind(address)
            # Anyone may connect: who may speak is decided per connection by SO_PEERCRED and
            # the manifest, and a refused peer is logged and counted rather than never seen.
            os.chmod(path, 0o666)
            self.sock.listen(64)
        except OSError as exc:
            self.sock.close()
            raise PluginSocketError(
                f"cannot listen for plugins on {path}: {exc.strerror or exc}"
            ) from None

    def accept(self) -> UnixChannel:
        conn, _ = self.sock.accept()
        return UnixChannel(conn)

    def refresh(self) -> None:
        """Nothing to follow: the socket is open to all, each peer is checked on its hello."""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
