"""The plugin wire format: a 4-byte big-endian length, then one JSON object of at most
:data:`MAX_FRAME_BYTES`. Shared by the sensor's host and the SDK, so both ends frame alike."""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import orjson

from aurora.errors import AuroraError

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 256 * 1024
_HEADER = struct.Struct(">I")


class FrameError(AuroraError):
    """The peer sent something that is not a frame: the connection cannot be trusted further."""


class FrameTooLarge(FrameError):
    pass


class ConnectionClosed(AuroraError):
    """The peer closed the connection between frames."""


class ByteSource(Protocol):
    """What frames are read from: a socket, or any :class:`~aurora.plugins.channel.Channel`."""

    def recv(self, n: int, /) -> bytes: ...


# sun_path holds 108 bytes with its NUL; a longer path is reached through its directory's fd.
_SUN_PATH_MAX = 107


@contextlib.contextmanager
def unix_address(path: Path) -> Iterator[str]:
    """An address for ``path`` that fits in sun_path: the path itself, or, when it is too long,
    ``/proc/self/fd/N/<name>`` through a descriptor of its directory (held while in use)."""
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        yield str(path)
        return
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def encode(message: dict[str, Any], limit: int = MAX_FRAME_BYTES) -> bytes:
    body = orjson.dumps(message)
    if len(body) > limit:
        raise FrameTooLarge(f"frame of {len(body):,} bytes is over the {limit:,} byte limit")
    return _HEADER.pack(len(body)) + body


def _read_exact(sock: ByteSource, n: int, *, started: bool) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        try:
            chunk = sock.recv(n - len(chunks))
        except ConnectionResetError:
            chunk = b""  # the peer went away: the same as a close, judged below
        if not chunk:
            if not chunks and not started:
                raise ConnectionClosed("peer closed the connection")
            raise FrameError(f"connection closed inside a frame ({len(chunks)} of {n} bytes)")
        chunks += chunk
    return bytes(chunks)


def read_frame(sock: ByteSource, limit: int = MAX_FRAME_BYTES) -> dict[str, Any]:
    """The next message; FrameTooLarge before reading a body over ``limit``, FrameError for
    bytes that are not a JSON object, ConnectionClosed at a clean end of stream."""
    (size,) = _HEADER.unpack(_read_exact(sock, _HEADER.size, started=False))
    if size > limit:
        raise FrameTooLarge(f"frame of {size:,} bytes announced, over the {limit:,} byte limit")
    body = _read_exact(sock, size, started=True)
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise FrameError(f"frame of {size} bytes is not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise FrameError("frame is not a JSON object with a string 'type'")
    return message
