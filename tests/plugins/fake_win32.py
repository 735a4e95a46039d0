"""kernel32 and advapi32 as the plugin pipe calls them, at the ctypes boundary: the same function
names, arguments and out-parameters, Win32 error codes through ``last_error``.

Pipe instances carry their bytes over real socketpairs, so the framing and the session above
them run on a real byte stream. The fake enforces what the kernel would: FIRST_PIPE_INSTANCE on
a taken name, the DACL's accounts at CreateFileW, a busy pipe with no waiting instance. Every call
is recorded with its decoded arguments for the tests to check.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import select
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from aurora.plugins import pipe_ffi as f
from aurora.sensor.windows.ffi.types import read_wide

_ALLOWED = re.compile(r"\(A;;[^;]*;;;([^)]+)\)")


@dataclass
class _Handle:
    kind: str  # "server", "client", "process"
    pipe: str = ""
    sock: socket.socket | None = None
    client_pid: int = 0
    pid: int = 0
    connected: threading.Event = field(default_factory=threading.Event)
    wake_r: int = -1
    wake_w: int = -1
    pending: bool = False  # a call blocks on this handle: CancelIoEx has something to cancel
    disconnected: bool = False

    def __post_init__(self) -> None:
        if self.kind != "process":
            self.wake_r, self.wake_w = os.pipe()
            os.set_blocking(self.wake_r, False)

    def drain_wake(self) -> bool:
        try:
            return bool(os.read(self.wake_r, 64))
        except BlockingIOError:
            return False


class FakeWindows:
    def __init__(self, processes: dict[int, str]) -> None:
        self.processes = processes  # pid -> image path
        self.client_pid = 0  # who calls CreateFileW next
        self.client_account = ""
        self.pipes: dict[str, str] = {}  # name -> SDDL of the pipe
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.descriptors: dict[int, str] = {}
        self.freed: list[int] = []
        self._handles: dict[int, _Handle] = {}
        self._next = 0x100
        self._lock = threading.Lock()
        self._errors = threading.local()

    # ------------------------------------------------------------------ plumbing
    def last_error(self) -> int:
        return int(getattr(self._errors, "code", 0))

    def _fail(self, code: int, value: Any = 0) -> Any:
        self._errors.code = code
        return value

    def _record(self, call: str, /, **args: Any) -> None:
        with self._lock:
            self.calls.append((call, args))

    def called(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [args for call, args in self.calls if call == name]

    def _new(self, entry: _Handle) -> int:
        with self._lock:
            self._next += 4
            self._handles[self._next] = entry
            return self._next

    def _entry(self, handle: int) -> _Handle | None:
        with self._lock:
            return self._handles.get(int(handle))

    # ------------------------------------------------------------------ advapi32
    def ConvertStringSecurityDescriptorToSecurityDescriptorW(
        self, text: int, revision: int, out: Any, size: Any
    ) -> int:
        sddl = read_wide(text)
        self._record("ConvertStringSecurityDescriptorToSecurityDescriptorW", sddl=sddl)
        if revision != f.SDDL_REVISION_1 or not sddl.startswith("O:"):
            return int(self._fail(1338))  # ERROR_INVALID_SECURITY_DESCR
        with self._lock:
            descriptor = 0x7F0000 + len(self.descriptors) * 0x100
            self.descriptors[descriptor] = sddl
        out._obj.value = descriptor
        size._obj.value = len(sddl) * 2
        return 1

    def SetKernelObjectSecurity(self, handle: int, info: int, descriptor: int) -> int:
        entry = self._entry(handle)
        sddl = self.descriptors[int(descriptor)]
        self._record("SetKernelObjectSecurity", info=info, sddl=sddl)
        if entry is None:
            return int(self._fail(6))  # ERROR_INVALID_HANDLE
        self.pipes[entry.pipe] = sddl
        return 1

    # ------------------------------------------------------------------ kernel32
    def LocalFree(self, pointer: int) -> None:
        self.freed.append(int(pointer))

    def CreateNamedPipeW(
        self,
        name: int,
        open_mode: int,
        pipe_mode: int,
        instances: int,
        out_size: int,
        in_size: int,
        timeout: int,
        attributes: Any,
    ) -> int:
        pipe = read_wide(name)
        sa: f.SECURITY_ATTRIBUTES = attributes._obj
        sddl = self.descriptors.get(int(sa.lpSecurityDescriptor or 0), "")
        self._record(
            "CreateNamedPipeW",
            name=pipe,
            open_mode=open_mode,
            pipe_mode=pipe_mode,
            instances=instances,
            sa_length=sa.nLength,
            sddl=sddl,
        )
        if pipe in self.pipes and open_mode & f.FILE_FLAG_FIRST_PIPE_INSTANCE:
            return int(self._fail(f.ERROR_ACCESS_DENIED, f.INVALID_HANDLE_VALUE))
        self.pipes.setdefault(pipe, sddl)  # later instances share the first one's security
        return self._new(_Handle("server", pipe))

    def ConnectNamedPipe(self, handle: int, overlapped: Any) -> int:
        entry = self._entry(handle)
        self._record("ConnectNamedPipe", handle=int(handle))
        if entry is None or entry.kind != "server" or overlapped is not None:
            return int(self._fail(6))  # ERROR_INVALID_HANDLE: closed under the caller
        if not self._block_until(entry, lambda: entry.connected.is_set()):
            return int(self._fail(f.ERROR_OPERATION_ABORTED))
        return 1

    def _block_until(self, entry: _Handle, ready: Any, sock: socket.socket | None = None) -> bool:
        """Wait for ``ready`` (or ``sock`` readable); False when CancelIoEx came first."""
        with self._lock:
            entry.pending = True
        try:
            while not ready():
                watched: list[Any] = [entry.wake_r] + ([sock] if sock is not None else [])
                readable, _, _ = select.select(watched, [], [])
                if sock is not None and sock in readable:
                    return True
                if entry.drain_wake() and not ready():
                    return False
            return True
        finally:
            with self._lock:
                entry.pending = False

    def CreateFileW(
        self, name: int, access: int, share: int, sa: Any, disposition: int, flags: int, tmpl: Any
    ) -> int:
        pipe = read_wide(name)
        self._record("CreateFileW", name=pipe, access=access, disposition=disposition, flags=flags)
        if pipe not in self.pipes:
            return int(self._fail(f.ERROR_FILE_NOT_FOUND, f.INVALID_HANDLE_VALUE))
        allowed = set(_ALLOWED.findall(self.pipes[pipe]))
        if self.client_account not in allowed:
            return int(self._fail(f.ERROR_ACCESS_DENIED, f.INVALID_HANDLE_VALUE))
        with self._lock:
            waiting = [
                e for e in self._handles.values()
                if e.kind == "server" and e.pipe == pipe and not e.connected.is_set()
            ]  # fmt: skip
        if not waiting:
            return int(self._fail(f.ERROR_PIPE_BUSY, f.INVALID_HANDLE_VALUE))
        server = waiting[0]
        mine, theirs = socket.socketpair()
        server.sock, server.client_pid = theirs, self.client_pid
        server.connected.set()
        os.write(server.wake_w, b"c")
        return self._new(_Handle("client", pipe, mine))

    def GetNamedPipeClientProcessId(self, handle: int, pid: Any) -> int:
        entry = self._entry(handle)
        self._record("GetNamedPipeClientProcessId", handle=int(handle))
        if entry is None or entry.kind != "server" or not entry.connected.is_set():
            return int(self._fail(f.ERROR_PIPE_NOT_CONNECTED))
        pid._obj.value = entry.client_pid
        return 1

    def OpenProcess(self, access: int, inherit: int, pid: int) -> int | None:
        self._record("OpenProcess", access=access, inherit=inherit, pid=pid)
        if pid not in self.processes:
            return self._fail(87, None)  # type: ignore[no-any-return]
        return self._new(_Handle("process", pid=pid))

    def QueryFullProcessImageNameW(self, process: int, flags: int, buf: Any, size: Any) -> int:
        entry = self._entry(process)
        assert entry is not None and entry.kind == "process"
        image = self.processes[entry.pid]
        self._record("QueryFullProcessImageNameW", flags=flags, capacity=size._obj.value)
        raw = (image + "\0").encode("utf-16-le")
        ctypes.memmove(buf, raw, len(raw))
        size._obj.value = len(image)
        return 1

    def ReadFile(self, handle: int, buf: Any, n: int, got: Any, overlapped: Any) -> int:
        entry = self._entry(handle)
        if entry is None:
            return int(self._fail(6))
        if entry.disconnected or entry.sock is None:
            return int(self._fail(f.ERROR_PIPE_NOT_CONNECTED))
        if not self._block_until(entry, lambda: False, entry.sock):
            return int(self._fail(f.ERROR_OPERATION_ABORTED))
        try:
            data = entry.sock.recv(n)
        except OSError:
            data = b""
        if not data:
            return int(self._fail(f.ERROR_BROKEN_PIPE))
        ctypes.memmove(buf, data, len(data))
        got._obj.value = len(data)
        return 1

    def WriteFile(self, handle: int, data: bytes, n: int, sent: Any, overlapped: Any) -> int:
        entry = self._entry(handle)
        if entry is None or entry.sock is None or entry.disconnected:
            return int(self._fail(f.ERROR_PIPE_NOT_CONNECTED))
        try:
            entry.sock.sendall(bytes(data[:n]))
        except OSError:
            return int(self._fail(f.ERROR_NO_DATA))
        sent._obj.value = n
        return 1

    def CancelIoEx(self, handle: int, overlapped: Any) -> int:
        entry = self._entry(handle)
        self._record("CancelIoEx", handle=int(handle))
        if entry is None:
            return int(self._fail(6))
        with self._lock:
            if not entry.pending:
                return int(self._fail(1168))  # ERROR_NOT_FOUND: nothing to cancel
            os.write(entry.wake_w, b"x")
        return 1

    def DisconnectNamedPipe(self, handle: int) -> int:
        entry = self._entry(handle)
        if entry is None:
            return int(self._fail(6))
        entry.disconnected = True
        if entry.sock is not None:
            with contextlib.suppress(OSError):
                entry.sock.shutdown(socket.SHUT_RDWR)
        return 1

    def CloseHandle(self, handle: int) -> int:
        with self._lock:
            entry = self._handles.pop(int(handle), None)
        if entry is None:
            return int(self._fail(6))
        if entry.sock is not None:
            entry.sock.close()
        for fd in (entry.wake_r, entry.wake_w):
            if fd >= 0:
                os.close(fd)
        if entry.kind == "server":
            with self._lock:
                left = any(
                    e.pipe == entry.pipe and e.kind == "server" for e in self._handles.values()
                )
            if not left:
                self.pipes.pop(entry.pipe, None)  # the last instance gone: the name is free
        return 1


class Declared:
    """The fake seen through the ctypes declarations: each call's arguments are converted by
    the declared argtypes (``from_param``, as ctypes does before a real call), so an argument
    of the wrong type or count fails here as it would on Windows."""

    def __init__(self, fake: FakeWindows) -> None:
        self.fake = fake

    def __getattr__(self, name: str) -> Any:
        prototypes = {**f.kernel32.prototypes, **f.advapi32.prototypes}
        if name not in prototypes:
            raise AttributeError(name)
        _, argtypes = prototypes[name]
        target = getattr(self.fake, name)

        def call(*args: Any) -> Any:
            assert len(args) == len(argtypes), f"{name}: {len(args)} args, declared {len(argtypes)}"
            for argtype, arg in zip(argtypes, args, strict=True):
                argtype.from_param(arg)  # raises ctypes.ArgumentError-like TypeError
            return target(*args)

        return call
