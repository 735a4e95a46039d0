"""`aurora plugin add|list|remove --server URL --token T` through a real API server (HTTPS on
loopback, real users and API tokens): an admin changes, an analyst reads but may not change, a
bad manifest is one line and a non-zero exit, and every change (and refusal) is audited as the
token's user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.api.apienv import SENSOR, Env, make_env, seed

from aurora.cli.main import main as aurora_main
from aurora.collector.store.accounts import AuditQuery

from .helpers import manifest_for

MANIFEST = manifest_for("authbridge", version="0.3.0")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(tmp_path)
    seed(e)
    yield e
    e.close()


def _toml(path: Path, **override: Any) -> Path:
    fields = {
        "name": MANIFEST.name,
        "version": MANIFEST.version,
        "executable": MANIFEST.executable,
        "sha256": MANIFEST.sha256,
        "classes": list(MANIFEST.classes),
        "uid": MANIFEST.uid,
        **override,
    }
    path.write_text("".join(f"{k} = {orjson.dumps(v).decode()}\n" for k, v in fields.items()))
    return path


def _run(
    env: Env, role: str, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    capsys.readouterr()
    remote = ["--server", env.server.url, "--token", env.tokens[role]]
    code = aurora_main(["plugin", *args, *remote, "--ca-cert", str(env.state_dir / "pki/ca.crt")])
    out, err = capsys.readouterr()
    return code, out, err


def _plugin_commands(env: Env) -> list[Any]:
    return [c for c in env.store.list_commands(None, limit=100) if c.action == "plugin"]


def _audit(env: Env, actor: str) -> list[Any]:
    return [e for e in env.accounts.query(AuditQuery(actor=actor)) if e.action.startswith("plugin")]


def test_an_admin_adds_lists_and_removes_through_the_api(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _toml(tmp_path / "authbridge.toml")
    code, out, err = _run(env, "admin", capsys, "add", str(manifest), "--host", "web-1")
    assert code == 0, err
    (cmd,) = _plugin_commands(env)
    assert out.split() == [cmd.command_id, "plugin", "add", "authbridge", SENSOR, "queued"]
    assert cmd.requested_by == "admin" and cmd.params["op"] == "add"
    assert orjson.loads(cmd.params["manifest"])["sha256"] == MANIFEST.sha256

    # An analyst reads what stands where.
    code, out, err = _run(env, "analyst", capsys, "list", "--json")
    assert code == 0, err
    (row,) = [orjson.loads(line) for line in out.splitlines()]
    assert row["sensor_id"] == SENSOR and row["name"] == "authbridge"
    assert row["version"] == "0.3.0" and row["op"] == "add" and not row["enabled"]

    code, out, err = _run(env, "admin", capsys, "remove", "authbridge", "--all", "--json")
    assert code == 0, err
    (line,) = [orjson.loads(x) for x in out.splitlines()]
    assert line["op"] == "remove" and line["sensor_id"] == SENSOR
    audited = {(e.action, e.host, e.result) for e in _audit(env, "admin")}
    assert audited == {("plugin.add", SENSOR, "queued"), ("plugin.remove", SENSOR, "queued")}


def test_an_analyst_may_read_but_not_change(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _toml(tmp_path / "authbridge.toml")
    for args in (("add", str(manifest), "--all"), ("remove", "authbridge", "--all")):
        code, out, err = _run(env, "analyst", capsys, *args)
        assert code != 0 and out == ""
        assert err.strip().splitlines() == [
            "aurora: server said 403: role 'analyst' may not do this (plugins:manage)"
        ]
    code, _, err = _run(env, "viewer", capsys, "add", str(manifest), "--all")
    assert code != 0 and "403" in err
    assert _plugin_commands(env) == []
    code, out, _ = _run(env, "analyst", capsys, "list")
    assert code == 0 and out.split()[:6] == [
        "SENSOR",
        "PLUGIN",
        "VERSION",
        "LAST",
        "CHANGE",
        "STATE",
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"sha256": "abc"}, "sha256: must be 64 hexadecimal digits"),
        ({"classes": []}, "classes: must be a non-empty list of OCSF class ids"),
        ({"uid": "root"}, "uid: must be a numeric user id"),
    ],
)
def test_a_bad_manifest_is_one_line_a_failure_and_audited(
    env: Env,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    override: dict[str, Any],
    message: str,
) -> None:
    manifest = _toml(tmp_path / "bad.toml", **override)
    code, out, err = _run(env, "admin", capsys, "add", str(manifest), "--host", "web-1")
    assert code != 0 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("aurora: server said 422: ") and message in line
    assert _plugin_commands(env) == []
    (entry,) = _audit(env, "admin")
    assert entry.action == "plugin.add" and entry.result == "refused"
    assert message in entry.detail["error"]


def test_refusals_the_collector_decides_are_one_line_each(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _toml(tmp_path / "authbridge.toml")
    code, _, err = _run(env, "admin", capsys, "add", str(manifest), "--host", "nowhere")
    assert code != 0 and err.count("\n") == 1 and "404" in err and "nowhere" in err
    code, _, err = _run(env, "admin", capsys, "remove", "Bad/Name", "--all")
    assert code != 0 and err.count("\n") == 1 and "is not a plugin name" in err
    code, _, err = _run(env, "admin", capsys, "add", str(tmp_path / "missing.toml"), "--all")
    assert code != 0 and err.count("\n") == 1 and "cannot read" in err
    assert _plugin_commands(env) == []
    refused = [e for e in _audit(env, "admin") if e.result == "refused"]
    assert [e.action for e in refused] == ["plugin.add"]  # the unknown host; the rest never left


def test_the_route_refuses_a_bad_name_it_is_sent(env: Env) -> None:
    client = env.client("admin")
    resp = client.delete("/api/v1/plugins/BAD..name", params={"all": "true"})
    assert resp.status_code == 422 and "is not a plugin name" in resp.json()["detail"]
    resp = client.post("/api/v1/plugins", json={"manifest_toml": "x" * 20_000, "all": True})
    assert resp.status_code == 422
    assert env.client(None).get("/api/v1/plugins").status_code == 401
