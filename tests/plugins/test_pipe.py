"""The Windows named pipe for plugins, with kernel32/advapi32 faked at the ctypes boundary
(:mod:`.fake_win32`): what each call is given (flags, SDDL, process query), the client named by
the kernel and its image hashed against the manifest, and the same framing, handshake and
session as the Unix socket running over the pipe's byte stream, SDK Runner to plugin host."""

from __future__ import annotations

import ctypes
import logging
import ntpath
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.agent.helpers import CountingSource, wait_until

from aurora.config import AuroraConfig
from aurora.errors import AuroraError
from aurora.plugins import pipe_ffi as f
from aurora.plugins.attach import with_plugins
from aurora.plugins.host import PluginHost, PluginSocketError
from aurora.plugins.manifest import Manifest, ManifestDir, file_sha256
from aurora.plugins.peer_windows import (
    PLUGIN_RIGHTS,
    PipeListener,
    WindowsPeer,
    pipe_sddl,
)
from aurora.plugins.pipe_api import PipeApi
from aurora.plugins.sdk import Runner
from aurora.plugins.session import Limits
from aurora.sensor.windows.ffi.types import HANDLE

from .fake_win32 import Declared, FakeWindows
from .helpers import auth_event, drain, list_plugin, manifest_for, running_plugin

PIPE = r"\\.\pipe\aurora-plugins-test"
IMAGE = r"C:\Program Files\Aurora\plugins\lister.exe"
ACCOUNT = "S-1-5-21-1004336348-1177238915-682003330-1001"
PID = 4242


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "lister.exe"
    path.write_bytes(b"MZ\x90\x00 a plugin image " * 64)
    return path


def windows_manifest(image: Path, name: str = "lister", **over: Any) -> Manifest:
    fields: dict[str, Any] = {
        "name": name,
        "version": "1.0",
        "executable": IMAGE,
        "sha256": file_sha256(image),
        "classes": (3002,),
        "uid": None,
        "account": ACCOUNT,
        **over,
    }
    return Manifest(**fields)


def hasher(images: dict[str, Path]) -> Any:
    """The image files the fake processes run, by their Windows path (real bytes, real hash)."""
    return lambda path: file_sha256(images[ntpath.normcase(path)])


@contextmanager
def pipe_host(
    tmp_path: Path, win: FakeWindows, image: Path, *manifests: Manifest, **kw: Any
) -> Iterator[PluginHost]:
    store = ManifestDir(tmp_path / "manifests")
    for m in manifests:
        store.enable(m)
    api = PipeApi(Declared(win), Declared(win), win.last_error)
    images = hasher({ntpath.normcase(IMAGE): image})
    host = PluginHost(
        tmp_path / "unused.sock",
        store,
        listener=lambda: PipeListener(PIPE, store, api, hash_image=images),
        **kw,
    )
    host.start()
    try:
        yield host
    finally:
        host.stop()


def pipe_runner(win: FakeWindows, name: str, events: list[dict[str, Any]]) -> Runner:
    plugin = list_plugin(name, events)
    return Runner(
        plugin, pipe_name=PIPE, pipe_api=PipeApi(Declared(win), Declared(win), win.last_error)
    )


def fake(account: str = ACCOUNT) -> FakeWindows:
    win = FakeWindows({PID: IMAGE})
    win.client_pid, win.client_account = PID, account
    return win


def test_declarations_have_the_windows_x64_layout() -> None:
    assert ctypes.sizeof(f.SECURITY_ATTRIBUTES) == 24
    assert f.SECURITY_ATTRIBUTES.lpSecurityDescriptor.offset == 8
    assert f.SECURITY_ATTRIBUTES.bInheritHandle.offset == 16
    restype, argtypes = f.kernel32.prototypes["CreateNamedPipeW"]
    assert restype is HANDLE
    assert len(argtypes) == 8 and [ctypes.sizeof(t) for t in argtypes[1:7]] == [4] * 6
    _, read_args = f.kernel32.prototypes["ReadFile"]
    assert ctypes.sizeof(read_args[2]) == 4  # DWORD nNumberOfBytesToRead, whatever the host C
    assert ctypes.sizeof(f.kernel32.prototypes["OpenProcess"][1][0]) == 4
    with pytest.raises(OSError, match=r"kernel32\.dll exists only on Windows"):
        f.kernel32.CreateNamedPipeW  # noqa: B018 - the lazy binding is what is tested


def test_the_dacl_admits_each_windows_plugin_account_and_never_instance_creation(
    image: Path,
) -> None:
    linux = manifest_for("authbridge")
    system = windows_manifest(image, "defender-bridge", account="SY")
    sddl = pipe_sddl([windows_manifest(image), system, linux, windows_manifest(image, "again")])
    assert sddl == f"O:SYG:SYD:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;0x0012008b;;;{ACCOUNT})"
    assert PLUGIN_RIGHTS & 0x4 == 0  # FILE_CREATE_PIPE_INSTANCE (FILE_APPEND_DATA)
    assert PLUGIN_RIGHTS & 0x3 == 0x3  # read and write data
    assert pipe_sddl([]) == "O:SYG:SYD:P(D;;GA;;;NU)(A;;GA;;;SY)"  # the name held, nobody in


def test_a_plugin_over_the_pipe_is_named_by_the_kernel_hashed_and_served(
    tmp_path: Path, image: Path
) -> None:
    win = fake()
    with pipe_host(tmp_path, win, image, windows_manifest(image)) as host:
        runner = pipe_runner(win, "lister", [auth_event(i) for i in range(3)])
        with running_plugin(runner):
            got = drain(host, 3)
            assert host.connected() == ["lister"]
    assert [e["user"]["name"] for e in got] == ["user0", "user1", "user2"]
    assert got[0]["metadata"]["product"]["name"] == "lister"

    first, second = win.called("CreateNamedPipeW")[:2]
    assert first["name"] == PIPE and first["sa_length"] == 24
    assert first["open_mode"] == f.PIPE_ACCESS_DUPLEX | f.FILE_FLAG_FIRST_PIPE_INSTANCE
    assert first["pipe_mode"] & f.PIPE_REJECT_REMOTE_CLIENTS
    assert first["sddl"] == pipe_sddl([windows_manifest(image)])
    assert second["open_mode"] == f.PIPE_ACCESS_DUPLEX  # later instances: not "first"
    assert len(win.freed) >= 2 and set(win.freed) <= set(win.descriptors)
    (query,) = win.called("OpenProcess")
    assert query == {"access": f.PROCESS_QUERY_LIMITED_INFORMATION, "inherit": 0, "pid": PID}
    assert win.called("QueryFullProcessImageNameW")[0]["capacity"] == f.MAX_PATH_CHARS
    opened = win.called("CreateFileW")[0]  # the plugin (the last: the host waking its accept)
    assert opened["access"] == f.GENERIC_READ | f.GENERIC_WRITE
    assert opened["flags"] == f.SECURITY_SQOS_PRESENT | f.SECURITY_IDENTIFICATION


def test_a_client_whose_image_hash_differs_is_refused_with_a_logged_reason(
    tmp_path: Path, image: Path, caplog: pytest.LogCaptureFixture
) -> None:
    win = fake()
    pinned = windows_manifest(image, sha256="0" * 64)
    with pipe_host(tmp_path, win, image, pinned) as host:
        runner = pipe_runner(win, "lister", [auth_event()])
        with caplog.at_level(logging.WARNING), running_plugin(runner):
            wait_until(lambda: bool(runner.last_refusal), 10, "the refusal")
            assert host.connected() == []
        assert host.stats.refused["peer"] >= 1
    assert runner.last_refusal.startswith(f"plugin lister: SHA-256 of {IMAGE} is ")
    assert f"plugin connection refused [peer] (pid {PID}, image {IMAGE})" in caplog.text


def test_the_peer_is_checked_against_the_path_without_case_and_its_hash(image: Path) -> None:
    images = hasher({ntpath.normcase(IMAGE): image})
    manifest = windows_manifest(image)
    assert WindowsPeer(PID, IMAGE.upper(), hash_image=images).refusal(manifest) == ""
    other = WindowsPeer(PID, r"C:\Temp\lister.exe", hash_image=images)
    assert "not the manifest's executable" in other.refusal(manifest)
    unnamed = WindowsPeer(PID, "", "OpenProcess failed with Windows error 5", images)
    assert unnamed.refusal(manifest) == (
        f"cannot name the image of pid {PID}: OpenProcess failed with Windows error 5"
    )
    assert "for a Linux executable" in WindowsPeer(PID, IMAGE).refusal(manifest_for("x"))


def test_a_squatted_pipe_name_stops_the_host_rather_than_sharing_it(
    tmp_path: Path, image: Path
) -> None:
    win = fake()
    win.pipes[PIPE] = "O:S-1-5-21-6666G:S-1-5-21-6666D:(A;;GA;;;WD)"  # someone else's pipe
    with (
        pytest.raises(PluginSocketError, match="already exists: another process holds"),
        pipe_host(tmp_path, win, image, windows_manifest(image)),
    ):
        pass


def test_an_account_outside_the_dacl_cannot_open_the_pipe_until_enabled(
    tmp_path: Path, image: Path
) -> None:
    win = fake(account="S-1-5-21-1-2-3-999")
    with pipe_host(tmp_path, win, image, windows_manifest(image)) as host:
        with pytest.raises(OSError, match="CreateFileW failed with Windows error 5"):
            PipeApi(Declared(win), Declared(win), win.last_error).open_client(PIPE)
        # Enabling a manifest for that account: the keeper sets the pipe's DACL to follow.
        host.manifests.enable(windows_manifest(image, "second", account="S-1-5-21-1-2-3-999"))
        wait_until(lambda: "S-1-5-21-1-2-3-999" in win.pipes[PIPE], 10, "the DACL update")
        (change,) = win.called("SetKernelObjectSecurity")
        assert change["info"] == f.DACL_SECURITY_INFORMATION
        handle = PipeApi(Declared(win), Declared(win), win.last_error).open_client(PIPE)
        win.CloseHandle(handle)


def test_a_silent_client_is_timed_out_by_cancelling_its_read(
    tmp_path: Path, image: Path, caplog: pytest.LogCaptureFixture
) -> None:
    win = fake()
    limits = Limits(handshake_s=0.3)
    with (
        caplog.at_level(logging.WARNING),
        pipe_host(tmp_path, win, image, windows_manifest(image), limits=limits) as host,
    ):
        handle = PipeApi(Declared(win), Declared(win), win.last_error).open_client(
            PIPE
        )  # and says nothing
        wait_until(lambda: host.stats.refused["handshake_timeout"] == 1, 10, "the timeout")
        win.CloseHandle(handle)
    assert win.called("CancelIoEx")
    assert "[handshake_timeout]" in caplog.text


def test_garbage_over_the_pipe_is_refused_like_on_the_socket(tmp_path: Path, image: Path) -> None:
    win = fake()
    with pipe_host(tmp_path, win, image, windows_manifest(image)) as host:
        api = PipeApi(Declared(win), Declared(win), win.last_error)
        handle = api.open_client(PIPE)
        api.write(handle, b"\x00\x00\x00\x05hello")
        wait_until(lambda: host.stats.refused["garbage"] == 1, 10, "the refusal")
        answer = api.read(handle, 4096)
        assert b'"refused"' in answer and b"not JSON" in answer
        api.close(handle)
        runner = pipe_runner(win, "lister", [auth_event()])
        with running_plugin(runner):  # the host serves the next plugin as before
            assert len(drain(host, 1)) == 1


def test_the_pipe_name_comes_from_the_sensor_config(tmp_path: Path) -> None:
    config = AuroraConfig.model_validate({"sensor": {"plugin_pipe": PIPE}})
    source = with_plugins(CountingSource(0), tmp_path, pipe_name=config.sensor.plugin_pipe)
    assert source.host.pipe_name == PIPE
    assert AuroraConfig().sensor.plugin_pipe == r"\\.\pipe\aurora-plugins"
    with pytest.raises((AuroraError, ValueError), match="plugin_pipe"):
        AuroraConfig.model_validate({"sensor": {"plugin_pipe": r"\\server\pipe\x"}})
