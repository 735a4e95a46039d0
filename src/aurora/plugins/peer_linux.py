"""Who is on the other end of a plugin's Unix socket: SO_PEERCRED (pid, uid) from the kernel,
and the SHA-256 of the executable image ``/proc/PID/exe`` points at, checked against a manifest.

The credentials are the kernel's record of the connecting process, not anything the peer says.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

from aurora.plugins.manifest import Manifest, file_sha256

_UCRED = struct.Struct("3i")


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int


def peer_of(sock: socket.socket) -> Peer:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return Peer(pid, uid, gid)


def executable_of(pid: int) -> str:
    """The path the process's image was run from (" (deleted)" when replaced since)."""
    return os.readlink(f"/proc/{pid}/exe")


def refusal(peer: Peer, manifest: Manifest) -> str:
    """Why ``peer`` may not speak for ``manifest``'s plugin; empty when it may."""
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
