"""Plugins on Windows: the sensor's named pipe and who is on the other end of it.

The pipe is created with ``FILE_FLAG_FIRST_PIPE_INSTANCE`` (a process that took the name first
makes the sensor refuse to start its plugin host, rather than talk through a squatter's pipe),
``PIPE_REJECT_REMOTE_CLIENTS``, and a DACL built from the enabled manifests' accounts: only they
(and SYSTEM) may open it, without the right to create instances of their own. Each client is
then named by the kernel (``GetNamedPipeClientProcessId`` -> ``QueryFullProcessImageNameW``) and
its image hashed against the manifest. Framing and the session are the Unix socket's.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import ntpath
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from aurora.errors import AuroraError
from aurora.plugins import pipe_ffi as f
from aurora.plugins.manifest import Manifest, ManifestDir, file_sha256
from aurora.plugins.peer_linux import PluginSocketError
from aurora.plugins.pipe_api import PipeApi, PipeError

log = logging.getLogger(__name__)

PIPE_NAME = r"\\.\pipe\aurora-plugins"
# FILE_GENERIC_READ | FILE_WRITE_DATA. Not FILE_GENERIC_WRITE: its FILE_APPEND_DATA is, on a
# pipe, FILE_CREATE_PIPE_INSTANCE, which would let a plugin serve instances of the sensor's pipe.
PLUGIN_RIGHTS = 0x0012008B
T = TypeVar("T")


class NamedPipeUnavailable(AuroraError):
    """The plugin named pipe was asked for where there are no named pipes (not Windows)."""


def pipe_sddl(manifests: Iterable[Manifest]) -> str:
    """The pipe's security descriptor: owned by SYSTEM, a protected DACL denying network logons
    and allowing SYSTEM and each enabled Windows plugin's account to read and write."""
    accounts = sorted({m.account for m in manifests if m.windows and m.account} - {"SY"})
    allowed = "".join(f"(A;;0x{PLUGIN_RIGHTS:08x};;;{account})" for account in accounts)
    return f"O:SYG:SYD:P(D;;GA;;;NU)(A;;GA;;;SY){allowed}"


def enabled(manifests: ManifestDir) -> list[Manifest]:
    found = (manifests.get(name) for name in manifests.names())
    return [m for m in found if m is not None]


@dataclass(frozen=True)
class WindowsPeer:
    """A pipe client as the kernel names it: its pid and the full path of its image."""

    pid: int
    image: str
    image_error: str = ""
    hash_image: Callable[[str], str] = file_sha256

    def describe(self) -> str:
        return f"pid {self.pid}, image {self.image or '?'}"

    def refusal(self, manifest: Manifest) -> str:
        if not manifest.windows:
            return f"the manifest is for a Linux executable ({manifest.executable})"
        if self.image_error:
            return f"cannot name the image of pid {self.pid}: {self.image_error}"
        # NTFS paths compare without case; the kernel may spell them differently from the admin.
        if ntpath.normcase(self.image) != ntpath.normcase(manifest.executable):
            return f"peer runs {self.image}, not the manifest's executable {manifest.executable}"
        try:
            digest = self.hash_image(self.image)
        except OSError as exc:
            return f"cannot read {self.image}: {exc.strerror or exc}"
        if digest != manifest.sha256:
            return (
                f"SHA-256 of {self.image} is {digest[:16]}..., "
                f"not the manifest's {manifest.sha256[:16]}..."
            )
        return ""


class PipeChannel:
    """One end of a connected pipe instance as a :class:`~aurora.plugins.channel.Channel`.

    Synchronous pipe I/O has no timeout of its own: a bounded call arms a timer that cancels it
    (``CancelIoEx``), and only the call that armed it, under a lock.
    """

    def __init__(
        self,
        api: PipeApi,
        handle: int,
        *,
        server: bool,
        hash_image: Callable[[str], str] = file_sha256,
    ) -> None:
        self.api = api
        self.handle = handle
        self.server = server
        self.hash_image = hash_image
        self._recv_timeout: float | None = None
        self._send_timeout: float | None = None
        self._lock = threading.Lock()
        self._armed = 0  # the bounded call a timer may cancel (0: none)
        self._calls = 0
        self._woken = False
        self._closed = False

    def _bounded(self, timeout: float | None, call: Callable[[], T]) -> T:
        if timeout is None:
            return call()
        with self._lock:
            self._calls += 1
            self._armed = mine = self._calls
        expired = threading.Event()

        def expire() -> None:
            with self._lock:
                if self._armed == mine:
                    expired.set()
                    self.api.cancel(self.handle)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            return call()
        except PipeError as exc:
            if exc.winerror == f.ERROR_OPERATION_ABORTED and expired.is_set():
                raise TimeoutError(f"pipe I/O took over {timeout} s") from None
            raise
        finally:
            with self._lock:
                self._armed = 0
            timer.cancel()

    def recv(self, n: int) -> bytes:
        if self._woken:
            return b""
        try:
            return self._bounded(self._recv_timeout, lambda: self.api.read(self.handle, n))
        except PipeError as exc:
            if exc.winerror == f.ERROR_OPERATION_ABORTED and self._woken:
                return b""
            raise

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            sent = self._bounded(self._send_timeout, functools.partial(self._write, bytes(view)))
            view = view[sent:]

    def _write(self, chunk: bytes) -> int:
        return self.api.write(self.handle, chunk)

    def settimeout(self, seconds: float | None) -> None:
        self._recv_timeout = self._send_timeout = seconds

    def set_send_timeout(self, seconds: float) -> None:
        self._send_timeout = seconds

    def wake(self) -> None:
        self._woken = True
        self.api.cancel(self.handle)
        if self.server:
            self.api.disconnect(self.handle)  # a read not yet started finds the pipe gone

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.server:
            self.api.disconnect(self.handle)
        self.api.close(self.handle)

    def peer(self) -> WindowsPeer:
        pid = self.api.client_pid(self.handle)  # PipeError (an OSError): no peer to check
        try:
            image = self.api.image_of(pid)
        except PipeError as exc:
            return WindowsPeer(pid, "", str(exc), self.hash_image)
        return WindowsPeer(pid, image, "", self.hash_image)


class PipeListener:
    """The sensor's pipe: one instance always waits for the next plugin, so the name is never
    free for another process to take while the sensor runs."""

    def __init__(
        self,
        name: str,
        manifests: ManifestDir,
        api: PipeApi | None = None,
        hash_image: Callable[[str], str] = file_sha256,
    ) -> None:
        self.where = name
        self.manifests = manifests
        self.api = api or PipeApi()
        self.hash_image = hash_image
        self.sddl = ""
        self._lock = threading.Lock()
        self._closed = False
        self._listening: int | None = self._new_instance(first=True)

    def _new_instance(self, *, first: bool) -> int:
        sddl = pipe_sddl(enabled(self.manifests))
        try:
            descriptor = self.api.security_descriptor(sddl)
            try:
                handle = self.api.create_instance(self.where, descriptor, first=first)
            finally:
                self.api.free(descriptor)
        except PipeError as exc:
            if first and exc.winerror == f.ERROR_ACCESS_DENIED:
                raise PluginSocketError(
                    f"{self.where} already exists: another process holds the plugin pipe's name, "
                    "and the sensor will not serve plugins through a pipe it did not create"
                ) from None
            raise PluginSocketError(f"cannot create the plugin pipe {self.where}: {exc}") from None
        self.sddl = sddl
        return handle

    def accept(self) -> PipeChannel:
        handle = self._listening
        if handle is None:
            raise OSError("the plugin pipe is closed")
        self.api.wait_for_client(handle)  # PipeError (an OSError) once closed
        with self._lock:
            if self._closed:
                raise OSError("the plugin pipe is closed")
            try:
                # The next instance first: the name always has one waiting.
                self._listening = self._new_instance(first=False)
            except PluginSocketError:
                self.api.close(handle)
                raise
        return PipeChannel(self.api, handle, server=True, hash_image=self.hash_image)

    def refresh(self) -> None:
        """A manifest enabled or removed: the pipe's DACL follows (SetKernelObjectSecurity on
        the waiting instance sets it for the pipe)."""
        sddl = pipe_sddl(enabled(self.manifests))
        with self._lock:
            if sddl == self.sddl or self._listening is None:
                return
            descriptor = self.api.security_descriptor(sddl)
            try:
                self.api.set_dacl(self._listening, descriptor)
            finally:
                self.api.free(descriptor)
            self.sddl = sddl
        log.info("plugin pipe %s: access now %s", self.where, sddl)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            handle, self._listening = self._listening, None
        if handle is not None:
            # Wake the accepting thread's ConnectNamedPipe: cancel it, and, should the cancel
            # not reach a synchronous wait, be its client (accept sees the pipe closed).
            self.api.cancel(handle)
            with contextlib.suppress(OSError):
                self.api.close(self.api.open_client(self.where))
            self.api.close(handle)


def connect_pipe(name: str, timeout_s: float, api: PipeApi | None = None) -> PipeChannel:
    """The plugin's end: open the sensor's pipe (identification only: the sensor can tell who
    the plugin is, never act as it)."""
    pipes = api or PipeApi()
    channel = PipeChannel(pipes, pipes.open_client(name), server=False)
    channel.settimeout(timeout_s)
    return channel


def listen_pipe(
    name: str = PIPE_NAME, manifests: ManifestDir | None = None, api: PipeApi | None = None
) -> PipeListener:
    """The sensor's plugin pipe; named pipes exist only on Windows (tests bring their own API)."""
    if api is None and sys.platform != "win32":
        raise NamedPipeUnavailable(
            f"plugin named pipe {name} is not implemented on {sys.platform}: named pipes are "
            "Windows only; plugins connect to the sensor's Unix socket here"
        )
    if manifests is None:
        raise NamedPipeUnavailable("the plugin pipe needs the sensor's manifest directory")
    return PipeListener(name, manifests, api)
