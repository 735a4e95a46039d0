"""Staging rollouts on the collector: host choice, package serving, the CLI (local mode), the API
and the console page, with the one-line refusals a user can cause."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from api.apienv import SENSOR, Env, make_env, seed
from aurora.cli.main import main
from aurora.collector.commands import apply_result
from aurora.collector.rollouts import MAX_CHUNK, Rollouts, choose_hosts
from aurora.collector.store.accounts import SQLiteAccounts
from aurora.collector.store.base import HostRecord
from aurora.collector.store.sqlite import SQLiteStore
from aurora.errors import UsageError
from aurora.v1 import stream_pb2

from .packages import later, signed_package


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory, good_wheel: Path, release_key: Path) -> Path:
    return signed_package(good_wheel, release_key, tmp_path_factory.mktemp("pkg") / "good.pkg")


def hosts(store: SQLiteStore, n: int) -> list[str]:
    ids = [f"sensor-{i:03d}" for i in range(n)]
    for i, sid in enumerate(ids):
        store.register_host(HostRecord(sensor_id=sid, hostname=f"host-{i}", enrolled_ms=1))
    return ids


def test_percent_picks_a_stable_growing_share() -> None:
    ids = [f"s{i}" for i in range(40)]
    ten, fifty = choose_hosts(ids, 10), choose_hosts(ids, 50)
    assert len(ten) == 4 and len(fifty) == 20 and set(ten) <= set(fifty)
    assert choose_hosts(list(reversed(ids)), 10) == ten
    assert choose_hosts(ids[:3], 1) == choose_hosts(ids[:3], 1)[:1]  # at least one host
    for bad in (0, 101):
        with pytest.raises(UsageError, match="between 1 and 100"):
            choose_hosts(ids, bad)


def test_a_sensor_gets_its_package_in_bounded_chunks_and_nothing_else(
    tmp_path: Path, package: Path
) -> None:
    store = SQLiteStore(tmp_path / "aurora.db")
    a, b = hosts(store, 2)
    rollouts = Rollouts.over(store, tmp_path, 3600)
    rollout = rollouts.stage(package, [a])
    cid = rollout.targets[0].command_id
    cmd = store.get_command(cid)
    assert cmd is not None and cmd.action == "update"
    assert cmd.params["package_sha256"] == hashlib.sha256(package.read_bytes()).hexdigest()
    got, offset = b"", 0
    while True:
        chunk = rollouts.serve(a, stream_pb2.PackageRequest(command_id=cid, offset=offset))
        assert not chunk.error and len(chunk.data) <= MAX_CHUNK
        got += chunk.data
        offset += len(chunk.data)
        if not chunk.data:
            break
    assert got == package.read_bytes() and chunk.total_size == len(got)
    other = rollouts.serve(b, stream_pb2.PackageRequest(command_id=cid))
    assert other.error and not other.data
    past = rollouts.serve(a, stream_pb2.PackageRequest(command_id=cid, offset=len(got) + 1))
    assert "past the package" in past.error
    store.close()


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    store = SQLiteStore(tmp_path / "aurora.db")
    SQLiteAccounts(tmp_path / "aurora.db").close()
    hosts(store, 3)
    store.close()
    yield tmp_path


def test_cli_stages_and_reports_a_rollout(
    state: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["update", "host-1", "--package", str(package), "--state-dir", str(state)]) == 0
    out = capsys.readouterr().out
    assert f": {later(1)} to 1 hosts (1 queued)" in out and "host-1: queued" in out
    assert main(["update", "--all", "--package", str(package), "--state-dir", str(state)]) == 0
    capsys.readouterr()
    assert main(["update", "status", "--json", "--state-dir", str(state)]) == 0
    views = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [len(v["hosts"]) for v in views] == [3, 1]  # newest first
    assert views[1]["hosts"][0]["hostname"] == "host-1"
    rid = views[1]["rollout_id"]
    assert main(["update", "status", rid, "--state-dir", str(state)]) == 0
    assert "host-1: queued" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["update", "host-1"], "--package FILE is required"),
        (["update", "host-1", "--all", "--package", "PKG"], "not both"),
        (["update", "--package", "PKG"], "or pass --all"),
        (["update", "nosuchhost", "--package", "PKG"], "nosuchhost"),
        (["update", "host-1", "--package", "PKG", "--percent", "0"], "between 1 and 100"),
        (["update", "host-1", "--package", "JUNK"], "junk.pkg: "),
        (["update", "host-1", "--package", "/nonexistent.pkg"], "no package at"),
        (["update", "status", "no-such-rollout"], "no rollout no-such-rollout"),
    ],
)
def test_cli_refusals_are_one_line(
    state: Path,
    package: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    junk = state / "junk.pkg"
    junk.write_bytes(b"certainly not a tar file" * 100)
    argv = [{"PKG": str(package), "JUNK": str(junk)}.get(a, a) for a in argv]
    assert main([*argv, "--state-dir", str(state)]) != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    store = SQLiteStore(state / "aurora.db")
    assert store.list_rollouts() == []  # nothing half-staged
    store.close()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(tmp_path)
    seed(e)
    yield e
    e.close()


def test_api_stages_a_rollout_and_the_console_shows_each_outcome(env: Env, package: Path) -> None:
    admin, viewer = env.client("admin"), env.client("viewer")
    body = package.read_bytes()
    assert viewer.post("/api/v1/rollouts", params={"host": SENSOR}, content=body).status_code == 403
    for params, status in (({}, 422), ({"host": "nope"}, 404), ({"host": SENSOR, "all": 1}, 422)):
        r = admin.post("/api/v1/rollouts", params=params, content=body)
        assert r.status_code == status, r.text
    r = admin.post("/api/v1/rollouts", params={"host": SENSOR}, content=b"garbage" * 50)
    assert r.status_code == 422 and "\n" not in r.json()["detail"]
    r = admin.post("/api/v1/rollouts", params={"host": SENSOR, "percent": 50}, content=body)
    assert r.status_code == 202, r.text
    view = r.json()
    assert view["version"] == later(1) and view["hosts"][0]["outcome"] == "queued"
    cid = view["hosts"][0]["command_id"]

    # The sensor's refusal, recorded the way the stream service records every result.
    refused = stream_pb2.CommandResult(
        command_id=cid,
        status=stream_pb2.COMMAND_STATUS_FAILED,
        error_code="hash_mismatch",
        message="payload/x.whl does not match the SHA-256 in the signed manifest",
    )
    assert apply_result(env.store, SENSOR, refused) == "failed"
    got = viewer.get(f"/api/v1/rollouts/{view['rollout_id']}").json()
    assert (got["hosts"][0]["outcome"], got["hosts"][0]["error_code"]) == (
        "refused",
        "hash_mismatch",
    )
    assert viewer.get("/api/v1/rollouts").json()["items"][0]["rollout_id"] == view["rollout_id"]
    assert viewer.get("/api/v1/rollouts/nope").status_code == 404

    browser, _ = env.browser("viewer")
    page = browser.get("/updates")
    assert page.status_code == 200
    assert "hash_mismatch" in page.text and "refused" in page.text and later(1) in page.text


def test_cli_remote_mode_streams_the_package_to_the_api(
    env: Env, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = ["--server", env.server.url, "--ca-cert", str(env.state_dir / "pki" / "ca.crt")]
    args = ["update", "web-1", "--package", str(package), *remote]
    assert main([*args, "--token", env.tokens["analyst"]]) == 1
    err = capsys.readouterr().err
    assert "403" in err and "sensors:update" in err and err.count("\n") == 1
    assert main([*args, "--token", env.tokens["admin"], "--percent", "100"]) == 0
    assert "web-1: queued" in capsys.readouterr().out
    [rollout] = env.store.list_rollouts()
    assert rollout.requested_by == "admin" and rollout.version == later(1)
    stored = env.store.get_package(rollout.package_sha256)
    assert stored is not None and Path(stored.path).read_bytes() == package.read_bytes()
    assert main(["update", "status", *remote, "--token", env.tokens["viewer"]]) == 0
    assert f"{later(1)} to 1 hosts (1 queued)" in capsys.readouterr().out
