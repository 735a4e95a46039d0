"""The sensor's Update handler on its own state directory: what it refuses before downloading,
and how it answers a command it already settled (the collector re-sends unanswered ones)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from aurora.sensor.update import LAUNCHER_ENV, Updater
from aurora.sensor.update.layout import Outcome, Pending, Releases
from aurora.v1 import stream_pb2


def command(cid: str = "c1") -> stream_pb2.Command:
    return stream_pb2.Command(
        command_id=cid,
        update=stream_pb2.Update(version="9.9.9", package_sha256=b"\1" * 32, package_size=10),
    )


def updater(state: Path, sent: list[stream_pb2.SensorMessage]) -> Updater:
    return Updater(state, sent.append, lambda: None, lambda: True, lambda: True)


def answer(u: Updater, cid: str = "c1") -> stream_pb2.CommandResult:
    got = u.run(command(cid), lambda _f, _s: None)
    assert got is not None
    return got


def test_refusals_before_any_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[stream_pb2.SensorMessage] = []
    u = updater(tmp_path, sent)
    monkeypatch.delenv(LAUNCHER_ENV, raising=False)
    assert answer(u).error_code == "no_launcher"
    monkeypatch.setenv(LAUNCHER_ENV, str(tmp_path / "releases"))
    got = answer(u)
    assert (got.error_code, got.status) == ("no_release_key", stream_pb2.COMMAND_STATUS_FAILED)
    assert "re-enrol" in got.message
    Releases(tmp_path).write(Pending("other", "1.2.3", "1.0.0", "base", 0.0, 120.0))
    got = answer(u, "c2")
    assert got.error_code == "update_in_progress" and "1.2.3" in got.message
    assert sent == []  # nothing was asked of the collector


def test_a_settled_command_is_answered_from_the_launchers_verdict(tmp_path: Path) -> None:
    u = updater(tmp_path, [])
    Releases(tmp_path).write(Outcome("c1", "rolled_back", "1.0.0", "1.1.0", "it crashed", 3.5))
    got = answer(u)
    assert (got.status, got.error_code, got.message) == (
        stream_pb2.COMMAND_STATUS_FAILED,
        "rolled_back",
        "it crashed",
    )
    assert orjson.loads(got.result_json) == {"version": "1.0.0", "target": "1.1.0", "took_s": 3.5}
    Releases(tmp_path).write(Outcome("c1", "installed", "1.1.0", "1.1.0", "", 2.0))
    assert answer(u).status == stream_pb2.COMMAND_STATUS_SUCCEEDED
    # The command on trial is answered later, by the version that confirms itself.
    Releases(tmp_path).write(Pending("c3", "1.2.0", "1.1.0", "1.1.0", 0.0, 120.0))
    assert u.run(command("c3"), lambda _f, _s: None) is None
