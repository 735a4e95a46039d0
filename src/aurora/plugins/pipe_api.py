"""The named-pipe calls the plugin pipe makes, each turning a failed call into a
:class:`PipeError` carrying the Win32 error code.

Tests hand :class:`PipeApi` fakes of ``kernel32`` and ``advapi32`` (and ``last_error``) that
behave as the DLLs do at the ctypes boundary: same functions, same out-parameters, same codes.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from aurora.plugins import pipe_ffi as f
from aurora.sensor.windows.ffi.types import DWORD, PVOID, ULONG, read_wide, wide

_BUFFER = 64 * 1024  # pipe buffer sizes: a quarter of the largest frame, as the kernel advises


class PipeError(OSError):
    """A pipe call failed; ``winerror`` is the Win32 error code."""

    def __init__(self, call: str, code: int) -> None:
        super().__init__(f"{call} failed with Windows error {code}")
        self.call = call
        self.winerror = code


class PipeApi:
    def __init__(
        self,
        kernel32: Any = None,
        advapi32: Any = None,
        last_error: Callable[[], int] | None = None,
    ) -> None:
        self.k32 = kernel32 if kernel32 is not None else f.kernel32
        self.adv = advapi32 if advapi32 is not None else f.advapi32
        getter: Callable[[], int] = getattr(ctypes, "get_last_error", lambda: 0)
        self.last_error = last_error or getter

    def _fail(self, call: str) -> PipeError:
        return PipeError(call, int(self.last_error()))

    # ------------------------------------------------------------------ security
    def security_descriptor(self, sddl: str) -> int:
        """A self-relative security descriptor from SDDL; free it with :meth:`free`."""
        out, size = PVOID(), ULONG(0)
        text = wide(sddl)
        if not self.adv.ConvertStringSecurityDescriptorToSecurityDescriptorW(
            ctypes.addressof(text), f.SDDL_REVISION_1, ctypes.byref(out), ctypes.byref(size)
        ):
            raise self._fail("ConvertStringSecurityDescriptorToSecurityDescriptorW")
        return int(out.value or 0)

    def set_dacl(self, handle: int, descriptor: int) -> None:
        if not self.adv.SetKernelObjectSecurity(handle, f.DACL_SECURITY_INFORMATION, descriptor):
            raise self._fail("SetKernelObjectSecurity")

    def free(self, descriptor: int) -> None:
        self.k32.LocalFree(descriptor)

    # --------------------------------------------------------------- the server
    def create_instance(self, name: str, descriptor: int, *, first: bool) -> int:
        attributes = f.SECURITY_ATTRIBUTES(ctypes.sizeof(f.SECURITY_ATTRIBUTES), descriptor, 0)
        open_mode = f.PIPE_ACCESS_DUPLEX | (f.FILE_FLAG_FIRST_PIPE_INSTANCE if first else 0)
        pipe_mode = (
            f.PIPE_TYPE_BYTE | f.PIPE_READMODE_BYTE | f.PIPE_WAIT | f.PIPE_REJECT_REMOTE_CLIENTS
        )
        text = wide(name)
        handle = self.k32.CreateNamedPipeW(
            ctypes.addressof(text),
            open_mode,
            pipe_mode,
            f.PIPE_UNLIMITED_INSTANCES,
            _BUFFER,
            _BUFFER,
            0,
            ctypes.byref(attributes),
        )
        if not handle or int(handle) == f.INVALID_HANDLE_VALUE:
            raise self._fail("CreateNamedPipeW")
        return int(handle)

    def wait_for_client(self, handle: int) -> None:
        if not self.k32.ConnectNamedPipe(handle, None):
            code = int(self.last_error())
            if code != f.ERROR_PIPE_CONNECTED:  # connected between create and this call
                raise PipeError("ConnectNamedPipe", code)

    def client_pid(self, handle: int) -> int:
        pid = ULONG(0)
        if not self.k32.GetNamedPipeClientProcessId(handle, ctypes.byref(pid)):
            raise self._fail("GetNamedPipeClientProcessId")
        return int(pid.value)

    def image_of(self, pid: int) -> str:
        """The full path of the image process ``pid`` runs (QueryFullProcessImageNameW)."""
        process = self.k32.OpenProcess(f.PROCESS_QUERY_LIMITED_INFORMATION, 0, pid)
        if not process:
            raise self._fail("OpenProcess")
        try:
            buf = ctypes.create_string_buffer(f.MAX_PATH_CHARS * 2)
            size = DWORD(f.MAX_PATH_CHARS)
            if not self.k32.QueryFullProcessImageNameW(process, 0, buf, ctypes.byref(size)):
                raise self._fail("QueryFullProcessImageNameW")
            return read_wide(ctypes.addressof(buf), size.value + 1)[: size.value]
        finally:
            self.k32.CloseHandle(process)

    def disconnect(self, handle: int) -> None:
        self.k32.DisconnectNamedPipe(handle)

    # --------------------------------------------------------------- the client
    def open_client(self, name: str) -> int:
        text = wide(name)
        handle = self.k32.CreateFileW(
            ctypes.addressof(text),
            f.GENERIC_READ | f.GENERIC_WRITE,
            0,
            None,
            f.OPEN_EXISTING,
            f.SECURITY_SQOS_PRESENT | f.SECURITY_IDENTIFICATION,
            None,
        )
        if not handle or int(handle) == f.INVALID_HANDLE_VALUE:
            raise self._fail("CreateFileW")
        return int(handle)

    # --------------------------------------------------------------------- I/O
    def read(self, handle: int, n: int) -> bytes:
        """Up to ``n`` bytes; b"" when the other end closed."""
        buf = ctypes.create_string_buffer(n)
        got = DWORD(0)
        if not self.k32.ReadFile(handle, buf, n, ctypes.byref(got), None):
            code = int(self.last_error())
            if code in (f.ERROR_BROKEN_PIPE, f.ERROR_PIPE_NOT_CONNECTED, f.ERROR_NO_DATA):
                return b""
            raise PipeError("ReadFile", code)
        return buf.raw[: got.value]

    def write(self, handle: int, data: bytes) -> int:
        sent = DWORD(0)
        if not self.k32.WriteFile(handle, data, len(data), ctypes.byref(sent), None):
            code = int(self.last_error())
            if code in (f.ERROR_BROKEN_PIPE, f.ERROR_PIPE_NOT_CONNECTED, f.ERROR_NO_DATA):
                raise BrokenPipeError(f"WriteFile: the other end closed (Windows error {code})")
            raise PipeError("WriteFile", code)
        return int(sent.value)

    def cancel(self, handle: int) -> None:
        """Abort I/O blocked on ``handle`` in any thread (it fails with OPERATION_ABORTED)."""
        self.k32.CancelIoEx(handle, None)

    def close(self, handle: int) -> None:
        self.k32.CloseHandle(handle)
