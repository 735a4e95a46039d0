"""Live triage: every artifact is in the archive, the manifest's hashes verify, the cap holds."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aurora.config.response import ResponseConfig
from aurora.sensor.response import ActionResult, ResponseExecutor
from aurora.sensor.response.archive import open_archive
from aurora.sensor.response.artifacts import load_artifacts, parse_artifact
from aurora.sensor.response.errors import ArtifactError
from aurora.sensor.response.sources.system import parse_utmp
from aurora.sensor.response.triage import KEEP_ARCHIVES_S, prune_old_archives

from .conftest import need_root

pytestmark = [pytest.mark.root]

EXTRA_ARTIFACT = """
name: Test.Planted
description: Files the test planted, collected by content.
source: files
params:
  contents: true
  paths: ["{dir}/planted/*.conf"]
"""


class Triage:
    def __init__(self, result: ActionResult, progress: list[tuple[float, str]], work: Path):
        self.result = result
        self.progress = progress
        self.work = work
        assert result.artifact_path is not None
        tar = open_archive(result.artifact_path)
        self.members = {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }
        self.manifest: dict[str, Any] = json.loads(self.members["manifest.json"])

    def rows(self, artifact: str) -> list[dict[str, Any]]:
        body = json.loads(self.members[f"artifacts/{artifact}.json"])
        assert body["status"] in ("ok", "partial"), body
        rows: list[dict[str, Any]] = body["rows"]
        return rows


@pytest.fixture(scope="module")
def triage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Triage]:
    need_root()
    # Under /tmp (a RecentTempFiles and SuidSgid root) so planted files show up there too.
    work = tmp_path_factory.mktemp("triage")
    (work / "planted").mkdir()
    (work / "planted" / "a.conf").write_text("evil=1\n")
    (work / "planted" / "b.conf").write_bytes(os.urandom(5000))
    suid = work / "suid-helper"
    suid.write_bytes(b"\x7fELF fake")
    os.chmod(suid, 0o4755)
    defs = work / "defs"
    defs.mkdir()
    (defs / "planted.yaml").write_text(EXTRA_ARTIFACT.replace("{dir}", str(work)))
    config = ResponseConfig(triage_artifact_dirs=[str(defs)])
    executor = ResponseExecutor(work / "state", config, None)
    progress: list[tuple[float, str]] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        result = executor.execute("triage", {}, lambda f, m: progress.append((f, m)))
        out = Triage(result, progress, work)
        out.manifest["_listen_port"] = listener.getsockname()[1]
    yield out
    suid.unlink()  # no set-uid file lingers in /tmp after the run


def test_archive_holds_every_artifact(triage: Triage) -> None:
    assert triage.result.ok, triage.result.message
    names = {a["name"] for a in triage.manifest["artifacts"]}
    assert names == set(load_artifacts()) | {"Test.Planted"}
    for art in triage.manifest["artifacts"]:
        assert art["status"] in ("ok", "partial"), art
        assert f"artifacts/{art['name']}.json" in triage.members
    assert triage.manifest["skipped"] == []


def test_every_hash_in_the_manifest_verifies(triage: Triage) -> None:
    files = triage.manifest["files"]
    assert set(files) == set(triage.members) - {"manifest.json"}
    for name, meta in files.items():
        data = triage.members[name]
        assert hashlib.sha256(data).hexdigest() == meta["sha256"], name
        assert len(data) == meta["size"]


def test_collected_file_contents(triage: Triage) -> None:
    planted = triage.work / "planted"
    for f in ("a.conf", "b.conf"):
        member = "files/" + str(planted / f).lstrip("/")
        assert triage.members[member] == (planted / f).read_bytes()
    rows = triage.rows("Test.Planted")
    assert {r["path"] for r in rows} == {str(planted / "a.conf"), str(planted / "b.conf")}


def test_processes_have_tree_cmdline_and_exe_hash(triage: Triage) -> None:
    rows = {r["pid"]: r for r in triage.rows("Linux.Sys.Processes")}
    me = rows[os.getpid()]
    assert me["cmdline"] and me["ppid"] == os.getppid()
    assert os.getpid() in rows[os.getppid()]["children"]
    exe = Path(sys.executable).resolve().read_bytes()
    assert me["exe_sha256"] == hashlib.sha256(exe).hexdigest()


def test_sockets_have_owning_process(triage: Triage) -> None:
    port = triage.manifest["_listen_port"]
    ours = [r for r in triage.rows("Linux.Network.Sockets") if r["laddr"] == f"127.0.0.1:{port}"]
    assert ours and ours[0]["pid"] == os.getpid() and ours[0]["status"] == "LISTEN"


def test_suid_and_recent_temp_files(triage: Triage) -> None:
    helper = str(triage.work / "suid-helper")
    suid = {r["path"]: r for r in triage.rows("Linux.Sys.SuidSgid")}
    assert suid[helper]["setuid"] and suid[helper]["mode"] == "4755"
    assert suid[helper]["sha256"] == hashlib.sha256(b"\x7fELF fake").hexdigest()
    recent = {r["path"] for r in triage.rows("Linux.Forensics.RecentTempFiles")}
    assert str(triage.work / "planted" / "a.conf") in recent


def test_progress_reported_and_archive_private(triage: Triage) -> None:
    fractions = [f for f, _ in triage.progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(fractions) >= len(triage.manifest["artifacts"])
    path = triage.result.artifact_path
    assert path is not None and path.name.endswith(".tar.zst")
    assert path.stat().st_mode & 0o777 == 0o600


def test_size_cap_skips_and_lists(tmp_path: Path) -> None:
    need_root()
    (tmp_path / "planted").mkdir()
    (tmp_path / "planted" / "big.conf").write_bytes(os.urandom(2 * 1024**2))
    (tmp_path / "planted" / "small.conf").write_text("ok\n")
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "p.yaml").write_text(EXTRA_ARTIFACT.replace("{dir}", str(tmp_path)))
    config = ResponseConfig(
        triage_artifact_dirs=[str(defs)],
        triage_max_file_bytes=4 * 1024**2,
        triage_compression="gzip",
    )
    ex = ResponseExecutor(tmp_path / "state", config, None)
    # The command lowers the configured cap (256 MiB) to 1 MiB.
    res = ex.execute("triage", {"artifacts": ["Test.Planted"], "max_bytes": 1024**2})
    assert res.ok and res.artifact_path is not None
    assert res.artifact_path.name.endswith(".tar.gz")
    assert res.artifact_path.stat().st_size <= 1024**2
    with tarfile.open(res.artifact_path) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        names = tar.getnames()
    big = "files/" + str(tmp_path / "planted" / "big.conf").lstrip("/")
    assert big not in names and [s["name"] for s in manifest["skipped"]] == [big]
    assert "files/" + str(tmp_path / "planted" / "small.conf").lstrip("/") in names


def test_unknown_artifact_and_bad_definitions(tmp_path: Path) -> None:
    ex = ResponseExecutor(tmp_path, ResponseConfig(), None)
    res = ex.execute("triage", {"artifacts": ["No.Such"]})
    assert res.error_code == "bad_artifact" and "No.Such" in res.message
    assert ex.execute("triage", {"artifacts": "all"}).error_code == "bad_params"
    small = ex.execute("triage", {"max_bytes": 1000})
    assert small.error_code == "bad_params" and "at least" in small.message
    bad = {
        "name: A.B\ndescription: x\nsource: shell\n": "source must be one of",
        "name: A.B\ndescription: x\nsource: files\n": "params.paths is required",
        "name: A.B\ndescription: x\nsource: files\nparams: {paths: [1]}\n": "list of strings",
        "name: A.B\ndescription: x\nsource: processes\nparams: {x: 1}\n": "not a parameter",
        "name: A.B\ndescription: x\nsource: users\nparams: {max_records: true}\n": "must be a int",
        "name: A.B\nsource: processes\n": "description is required",
        "name: A.B\ndescription: x\nsource: processes\nquery: x\n": "unknown key",
        "- a\n": "must be a mapping",
        "name: [\n": "invalid YAML",
    }
    for text, why in bad.items():
        with pytest.raises(ArtifactError, match=why):
            parse_artifact(text, "t.yaml")
    defs = tmp_path / "dup"
    defs.mkdir()
    (defs / "d.yaml").write_text("name: Linux.Sys.Processes\ndescription: x\nsource: processes\n")
    with pytest.raises(ArtifactError, match="already defined"):
        load_artifacts([defs])


def test_login_records_parse() -> None:
    fmt = struct.Struct("<h2xi32s4s32s256shhiii16s20s")
    rec = fmt.pack(
        7,
        4242,
        b"pts/3",
        b"ts/3",
        b"alice",
        b"203.0.113.9",
        0,
        0,
        0,
        1_700_000_000,
        500_000,
        bytes([203, 0, 113, 9]) + b"\0" * 12,
        b"",
    )
    rows = parse_utmp(rec + rec[:100])
    assert rows == [
        {
            "type": "user",
            "pid": 4242,
            "line": "pts/3",
            "user": "alice",
            "host": "203.0.113.9",
            "ip": "203.0.113.9",
            "session": 0,
            "time": 1_700_000_000.5,
        }
    ]


def test_old_archives_are_pruned_recent_kept(tmp_path: Path) -> None:
    old = tmp_path / "triage-20200101T000000Z-aaaa.tar.zst"
    recent = tmp_path / "triage-20200102T000000Z-bbbb.tar.zst"
    other = tmp_path / "notes.txt"
    for p in (old, recent, other):
        p.write_bytes(b"x")
    os.utime(old, (0, time.time() - KEEP_ARCHIVES_S - 60))
    os.utime(other, (0, 0))
    assert prune_old_archives(tmp_path) == [old.name]
    assert recent.exists() and other.exists() and not old.exists()
