"""The sensor's plugin host against well-behaved and hostile peers, over a real Unix socket.

Every refusal or drop must be logged with its reason and counted, and leave other plugins and
the host working.
"""

from __future__ import annotations

import os
import struct
import subprocess
import time
from dataclasses import replace
from typing import Any

import pytest
from tests.agent.helpers import wait_until

from aurora.plugins.host import PluginHost
from aurora.plugins.manifest import file_sha256
from aurora.plugins.sdk import Runner
from aurora.plugins.session import Limits

from .helpers import (
    PYTHON_EXE,
    auth_event,
    drain,
    handshake,
    list_plugin,
    manifest_for,
    raw_client,
    read_answer,
    running_host,
    running_plugin,
    send_frame,
)


def _still_serves(host: PluginHost, name: str = "witness") -> None:
    """A well-behaved plugin still gets its events through (the host is unaffected)."""
    host.manifests.enable(manifest_for(name))
    events = [auth_event(i) for i in range(5)]
    with running_plugin(Runner(list_plugin(name, events), host.socket_path)):
        got = drain(host, 5)
    assert [e["user"]["name"] for e in got] == [f"user{i}" for i in range(5)]


def test_events_arrive_with_the_plugins_provenance() -> None:
    with running_host(manifest_for("demo", version="2.1")) as host:
        events = [auth_event(i) for i in range(20)]
        plugin = list_plugin("demo", events)
        type(plugin).version = "2.1"
        with running_plugin(Runner(plugin, host.socket_path)) as runner:
            got = drain(host, 20)
            assert runner.connected.is_set()
            assert host.connected() == ["demo"]
        assert len(got) == 20
        product = got[0]["metadata"]["product"]
        assert product == {"name": "demo", "version": "2.1", "vendor_name": "Aurora plugin"}
        assert got[0]["type_uid"] == 300201 and got[0]["category_uid"] == 3
        assert got[0]["device"]["hostname"]
        assert host.stats.accepted["demo"] == 20 and not host.stats.lost


def test_a_plugin_cannot_claim_another_product() -> None:
    with running_host(manifest_for("demo")) as host:
        forged = auth_event(metadata={"product": {"name": "Aurora EDR", "vendor_name": "Aurora"}})
        with running_plugin(Runner(list_plugin("demo", [forged]), host.socket_path)):
            (got,) = drain(host, 1)
        assert got["metadata"]["product"]["name"] == "demo"


def test_executable_hash_mismatch_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    with running_host(manifest_for("demo", sha256="0" * 64)) as host:
        with raw_client(host) as sock:
            answer = handshake(sock, "demo")
        assert answer["type"] == "refused"
        assert f"SHA-256 of {PYTHON_EXE}" in answer["reason"]
        assert host.stats.refused["peer"] == 1
        assert "SHA-256" in caplog.text and "[peer]" in caplog.text
        _still_serves(host)


def test_a_plugin_not_enabled_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    with running_host() as host:
        runner = Runner(list_plugin("stranger", [auth_event()]), host.socket_path)
        with running_plugin(runner):
            wait_until(lambda: bool(runner.last_refusal), 5, "the refusal")
        assert runner.last_refusal == "plugin 'stranger' is not enabled on this sensor"
        assert host.stats.refused["not_enabled"] >= 1
        assert "not enabled" in caplog.text
        assert host.poll(0) == []
        _still_serves(host)


def test_a_version_other_than_the_manifests_is_refused() -> None:
    with running_host(manifest_for("demo", version="1.0")) as host:
        with raw_client(host) as sock:
            answer = handshake(sock, "demo", version="9.9")
        assert answer == {
            "type": "refused",
            "reason": "plugin demo is version 9.9, manifest says 1.0",
        }


@pytest.mark.root
def test_a_peer_of_another_uid_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    # The manifest allows uid 0 only; the system interpreter (pyenv's is root's alone) run as
    # nobody must not get in, even when it is the manifest's executable.
    system_python = os.path.realpath("/usr/bin/python3")
    manifest = manifest_for("demo", uid=0)
    manifest = replace(manifest, executable=system_python, sha256=file_sha256(system_python))
    with running_host(manifest) as host:
        os.chmod(host.socket_path.parent, 0o755)
        script = (
            "import socket,struct,json,sys\n"
            "s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1])\n"
            "b=json.dumps({'type':'hello','protocol':1,'name':'demo','version':'1.0',"
            "'classes':[3002]}).encode()\n"
            "s.sendall(struct.pack('>I',len(b))+b)\n"
            "n=struct.unpack('>I',s.recv(4,socket.MSG_WAITALL))[0]\n"
            "print(s.recv(n,socket.MSG_WAITALL).decode())\n"
        )
        out = subprocess.run(
            [system_python, "-c", script, str(host.socket_path)],
            user=65534,
            group=65534,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert '"refused"' in out.stdout
        assert "peer uid 65534 is not the manifest's uid 0" in out.stdout
        assert host.stats.refused["peer"] == 1
        assert "uid 65534" in caplog.text
        _still_serves(host)


def test_a_handshake_with_an_undeclared_class_is_refused() -> None:
    with running_host(manifest_for("demo", classes=(3002,))) as host:
        with raw_client(host) as sock:
            answer = handshake(sock, "demo", classes=(3002, 1007))
        assert answer["type"] == "refused"
        assert answer["reason"] == (
            "plugin demo: class 1007 is not allowed by its manifest (allowed: 3002)"
        )
        assert host.stats.refused["class"] == 1
        _still_serves(host)


def test_an_event_of_an_undeclared_class_or_bad_shape_is_refused_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with running_host(manifest_for("demo", classes=(3002, 1007))) as host:
        with raw_client(host) as sock:
            assert handshake(sock, "demo", classes=(3002,))["type"] == "welcome"
            bad = [
                {**auth_event(), "class_uid": 1007},  # allowed by the manifest, not declared
                {**auth_event(), "time": "yesterday"},
                "not an object",
            ]
            send_frame(sock, {"type": "events", "events": [*bad, auth_event(7)]})
            (good,) = drain(host, 1)
            assert good["user"]["name"] == "user7"
            assert host.stats.lost["demo"] == 3
            assert host.connected() == ["demo"]  # a bad event costs the event, not the plugin
        assert "class_uid 1007 was not declared in the handshake" in caplog.text


def test_an_oversized_frame_drops_the_plugin(caplog: pytest.LogCaptureFixture) -> None:
    limits = Limits(max_frame=4096)
    with running_host(manifest_for("demo"), limits=limits) as host:
        with raw_client(host) as sock:
            assert handshake(sock, "demo")["type"] == "welcome"
            sock.sendall(struct.pack(">I", 10_000_000) + b"{" * 1000)
            answer = read_answer(sock)
        assert answer["type"] == "refused"
        assert "10,000,000 bytes announced, over the 4,096 byte limit" in answer["reason"]
        assert host.stats.refused["oversized"] == 1
        assert host.stats.lost["demo"] == 1
        assert "dropped [oversized]" in caplog.text
        wait_until(lambda: host.connected() == [], 5, "the plugin to be gone")
        _still_serves(host)


@pytest.mark.parametrize(
    "garbage",
    [b"GET / HTTP/1.1\r\n\r\n", b"\x00\x00\x00\x05hello", b"\x00\x00\x00\x02[]"],
    ids=["http", "not-json", "not-an-object"],
)
def test_garbage_bytes_are_refused(garbage: bytes, caplog: pytest.LogCaptureFixture) -> None:
    with running_host(manifest_for("demo")) as host:
        with raw_client(host) as sock:
            sock.sendall(garbage)
            answer = read_answer(sock)
        assert answer["type"] == "refused"
        kinds = host.stats.refused
        assert kinds["garbage"] + kinds["oversized"] == 1, kinds
        assert "bad handshake" in caplog.text
        _still_serves(host)


def test_garbage_after_the_handshake_drops_only_that_plugin() -> None:
    with running_host(manifest_for("demo")) as host:
        with raw_client(host) as sock:
            assert handshake(sock, "demo")["type"] == "welcome"
            sock.sendall(b"\x00\x00\x00\x04\xff\xfe\xfd\xfc")
            assert read_answer(sock)["type"] == "refused"
        assert host.stats.refused["garbage"] == 1
        _still_serves(host)


def test_a_flood_beyond_the_queue_is_held_back_then_counted() -> None:
    limits = Limits(queue_wait_s=0.05)
    with running_host(manifest_for("flood"), queue_events=100, limits=limits) as host:
        sent = 3000
        events = [auth_event(i) for i in range(sent)]
        runner = Runner(list_plugin("flood", events), host.socket_path, batch_max=100)
        with running_plugin(runner):
            # Nobody drains the queue: the plugin is held back, then its surplus is counted.
            wait_until(lambda: runner.sent == sent, 60, "the plugin to send everything")
            wait_until(
                lambda: host.stats.accepted["flood"] + host.stats.lost["flood"] == sent,
                30,
                "the host to account for every event",
            )
            assert host.stats.accepted["flood"] == 100
            assert host.stats.lost["flood"] == sent - 100
            assert host.connected() == ["flood"]  # pressure is not a reason to drop a plugin
            assert len(drain(host, 100)) == 100
            _still_serves(host)


def test_a_silent_plugin_is_dropped_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    with running_host(manifest_for("mute"), limits=Limits(heartbeat_s=0.2, silence_s=0.6)) as host:
        with raw_client(host) as sock:
            assert handshake(sock, "mute")["type"] == "welcome"
            assert host.connected() == ["mute"]
            wait_until(lambda: host.stats.refused["silent"] == 1, 5, "the silent plugin's drop")
            # The host heartbeated before giving up, then said why it hung up.
            frames = [read_answer(sock)["type"] for _ in range(2)]
            assert frames[0] == "heartbeat"
        # The reading thread forgets the session once it has hung up.
        wait_until(lambda: host.connected() == [], 5, "the session to be gone")
        assert "dropped [silent]: nothing received for" in caplog.text


def test_a_heartbeating_plugin_stays_and_a_removed_manifest_ends_it() -> None:
    with running_host(manifest_for("beat"), limits=Limits(heartbeat_s=0.2, silence_s=1.5)) as host:
        runner = Runner(list_plugin("beat", []), host.socket_path)
        with running_plugin(runner):
            wait_until(lambda: host.connected() == ["beat"], 5, "the plugin to connect")
            time.sleep(3.5)  # over two silence windows: heartbeats keep it connected
            assert host.connected() == ["beat"] and not host.stats.refused
            host.manifests.remove("beat")
            wait_until(lambda: host.connected() == [], 5, "the plugin to be dropped")
            assert host.stats.refused["manifest_removed"] == 1
            wait_until(lambda: "not enabled" in runner.last_refusal, 10, "the reconnect refusal")


def test_a_second_connection_under_the_same_name_is_refused() -> None:
    with running_host(manifest_for("demo")) as host:
        with raw_client(host) as first, raw_client(host) as second:
            assert handshake(first, "demo")["type"] == "welcome"
            answer = handshake(second, "demo")
        assert answer == {"type": "refused", "reason": "plugin demo is already connected"}


def test_a_flooding_plugin_does_not_crowd_out_another() -> None:
    limits = Limits(queue_wait_s=0.01)
    flood, calm = manifest_for("flood"), manifest_for("calm")
    with running_host(flood, calm, queue_events=200, limits=limits) as host:
        torrent = [auth_event(i) for i in range(20_000)]
        trickle = [auth_event(i, service={"name": "calm"}) for i in range(50)]
        with (
            running_plugin(Runner(list_plugin("flood", torrent), host.socket_path, batch_max=500)),
            running_plugin(Runner(list_plugin("calm", trickle), host.socket_path)),
        ):
            got: list[dict[str, Any]] = []
            # A slow consumer: the flood overflows its queue while the calm plugin's all arrive.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                got += host.poll(50)
                time.sleep(0.02)
                calm_got = [e for e in got if e.get("service", {}).get("name") == "calm"]
                if len(calm_got) == 50 and host.stats.lost["flood"] > 0:
                    break
        assert len(calm_got) == 50 and host.stats.lost["calm"] == 0
        assert host.stats.lost["flood"] > 0


def test_a_peer_reconnecting_in_a_loop_is_counted_but_does_not_flood_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with running_host() as host:
        for _ in range(30):
            with raw_client(host) as sock:
                assert handshake(sock, "stranger")["type"] == "refused"
        assert host.stats.refused["not_enabled"] == 30
        lines = [r for r in caplog.records if "not enabled" in r.getMessage()]
        assert 1 <= len(lines) < 30
