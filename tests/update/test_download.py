"""The sensor's package download against a hostile or broken collector: every bad answer ends in
a typed ``download_failed`` with a one-line reason, and no partial file is left to install."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from aurora.sensor.update.download import Downloader, DownloadFailed
from aurora.v1 import stream_pb2

DATA = bytes(range(256)) * 4096  # 1 MiB, four chunks


def serving(answer: Callable[[stream_pb2.PackageRequest], stream_pb2.PackageChunk]) -> Downloader:
    """A downloader whose requests are answered, on another thread as the stream would, by
    ``answer``."""
    box: list[Downloader] = []

    def send(msg: stream_pb2.SensorMessage) -> None:
        chunk = answer(msg.package_request)
        threading.Thread(target=box[0].on_chunk, args=(chunk,)).start()

    box.append(Downloader(send))
    return box[0]


def honest(req: stream_pb2.PackageRequest) -> stream_pb2.PackageChunk:
    data = DATA[req.offset : req.offset + req.max_bytes]
    return stream_pb2.PackageChunk(
        command_id=req.command_id, offset=req.offset, data=data, total_size=len(DATA)
    )


def fetch(d: Downloader, dest: Path, sha: bytes = hashlib.sha256(DATA).digest()) -> None:
    d.fetch("c1", dest, sha, 10 * len(DATA), lambda _f, _s: None)


def test_an_honest_collector_delivers_the_package(tmp_path: Path) -> None:
    fetch(serving(honest), tmp_path / "p")
    assert (tmp_path / "p").read_bytes() == DATA


def test_a_download_resumes_from_the_bytes_on_disk(tmp_path: Path) -> None:
    asked: list[int] = []

    def answer(req: stream_pb2.PackageRequest) -> stream_pb2.PackageChunk:
        asked.append(req.offset)
        return honest(req)

    (tmp_path / "p").write_bytes(DATA[:300_000])
    fetch(serving(answer), tmp_path / "p")
    assert asked[0] == 300_000 and (tmp_path / "p").read_bytes() == DATA


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            lambda r: stream_pb2.PackageChunk(command_id=r.command_id, error="no such command"),
            "cannot serve the package: no such command",
        ),
        (
            lambda r: stream_pb2.PackageChunk(
                command_id=r.command_id, offset=r.offset, data=b"x", total_size=2**40
            ),
            "above the",
        ),
        (
            lambda r: stream_pb2.PackageChunk(
                command_id=r.command_id, offset=r.offset, data=b"", total_size=len(DATA)
            ),
            "no data at offset 0",
        ),
        (
            lambda r: stream_pb2.PackageChunk(
                command_id=r.command_id,
                offset=r.offset,
                data=b"\0" * min(r.max_bytes, len(DATA) - r.offset),
                total_size=len(DATA),
            ),
            "does not match its SHA-256",
        ),
    ],
)
def test_bad_answers_fail_typed_and_leave_nothing(
    tmp_path: Path,
    answer: Callable[[stream_pb2.PackageRequest], stream_pb2.PackageChunk],
    reason: str,
) -> None:
    with pytest.raises(DownloadFailed, match=reason) as err:
        fetch(serving(answer), tmp_path / "p")
    assert err.value.code == "download_failed" and "\n" not in err.value.message
    assert not (tmp_path / "p").exists()
