"""What the plugin host and the SDK need from one connection and from the place plugins connect
to, whatever carries them: a Unix socket on Linux (:mod:`.peer_linux`), a named pipe on Windows
(:mod:`.peer_windows`). Framing and the session are written once, against these."""

from __future__ import annotations

from typing import Protocol

from aurora.plugins.manifest import Manifest


class PeerIdentity(Protocol):
    """Who the operating system says is on the other end."""

    @property
    def pid(self) -> int: ...

    def describe(self) -> str:
        """For log lines: ``pid 12, uid 0``."""
        ...

    def refusal(self, manifest: Manifest) -> str:
        """Why this peer may not speak for ``manifest``'s plugin; empty when it may."""
        ...


class Channel(Protocol):
    """A connected byte stream, as much of a socket as the protocol uses."""

    def recv(self, n: int) -> bytes:
        """Up to ``n`` bytes, b"" at the end; TimeoutError past the timeout."""
        ...

    def sendall(self, data: bytes) -> None: ...

    def settimeout(self, seconds: float | None) -> None:
        """Bound each receive and send (None: block)."""
        ...

    def set_send_timeout(self, seconds: float) -> None:
        """Bound each send only: a peer that stops reading cannot hold a sender for long."""
        ...

    def wake(self) -> None:
        """From another thread: end the stream, so a blocked receive returns."""
        ...

    def close(self) -> None: ...

    def peer(self) -> PeerIdentity:
        """The connecting process, from the kernel; OSError when it cannot be told."""
        ...


class Listener(Protocol):
    """Where plugins connect: accepts connections until closed."""

    where: str

    def accept(self) -> Channel:
        """The next connection; OSError once closed."""
        ...

    def refresh(self) -> None:
        """Follow the enabled manifests where the OS enforces them (the pipe's ACL)."""
        ...

    def close(self) -> None: ...
