"""Plugin administration: `aurora plugin` on a collector's state directory (audited, every bad
input one line and a non-zero exit), the `plugin` command on the wire, and the sensor's side of
it (PluginAdmin)."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from aurora.cli.main import main as aurora_main
from aurora.collector.commands import to_message
from aurora.collector.store import HostRecord, open_store
from aurora.collector.store.accounts import AuditQuery, SQLiteAccounts
from aurora.plugins.attach import PluginAdmin
from aurora.plugins.manifest import ManifestDir
from aurora.plugins.peer_windows import NamedPipeUnavailable, listen_pipe
from aurora.sensor.response.result import ActionResult
from aurora.sensor.transport.commands import Progress, command_params

from .helpers import manifest_for

MANIFEST = manifest_for("authbridge", version="0.1.0")


class RecordingExecutor:
    """A real executor of one trivial action, to see what PluginAdmin hands on."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def execute(
        self, action: str, params: dict[str, Any], progress: Progress | None = None
    ) -> ActionResult:
        self.calls.append((action, params))
        return ActionResult.success("done")

    def isolation_state(self) -> str:
        return "none"


@pytest.fixture
def collector_dir(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "collector"
    state.mkdir()
    store = open_store(state)
    for sid, name in (("s-1", "web-01"), ("s-2", "db-01")):
        store.register_host(HostRecord(sensor_id=sid, hostname=name))
    store.close()
    yield state


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
    lines = [f"{k} = {orjson.dumps(v).decode()}" for k, v in fields.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(state: Path, *args: str) -> int:
    return aurora_main(["plugin", *args, "--state-dir", str(state)])


def _audit(state: Path) -> list[Any]:
    accounts = SQLiteAccounts(state / "aurora.db")
    try:
        return accounts.query(AuditQuery(actor=f"cli:{getpass.getuser()}"))
    finally:
        accounts.close()


def test_add_to_all_hosts_queues_one_audited_command_each_that_a_sensor_runs(
    collector_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(collector_dir, "add", str(_toml(tmp_path / "m.toml")), "--all") == 0
    assert capsys.readouterr().out.count("plugin add authbridge") == 2
    store = open_store(collector_dir)
    try:
        commands = [c for c in store.list_commands() if c.action == "plugin"]
    finally:
        store.close()
    assert sorted(c.sensor_id for c in commands) == ["s-1", "s-2"]
    audit = _audit(collector_dir)
    assert sorted((e.action, e.host, e.result) for e in audit) == [
        ("plugin.add", "s-1", "queued"),
        ("plugin.add", "s-2", "queued"),
    ]
    # On the wire and back: the sensor's PluginAdmin enables exactly this manifest.
    action, params = command_params(to_message(commands[0]))
    assert action == "plugin"
    manifests = ManifestDir(tmp_path / "sensor-plugins")
    outcome = PluginAdmin(manifests, lambda: None).execute(action, params)
    assert outcome.ok and outcome.message == "plugin authbridge 0.1.0 enabled"
    assert manifests.get("authbridge") == MANIFEST

    assert _run(collector_dir, "list", "--json") == 0
    rows = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["sensor_id"], r["op"], r["state"], r["version"]) for r in rows] == [
        ("s-1", "add", "queued", "0.1.0"),
        ("s-2", "add", "queued", "0.1.0"),
    ]
    assert _run(collector_dir, "remove", "authbridge", "--host", "db-01") == 0
    capsys.readouterr()
    assert _run(collector_dir, "list") == 0
    table = [line.split()[:5] for line in capsys.readouterr().out.splitlines()]
    assert table[1:] == [
        ["s-1", "authbridge", "0.1.0", "add", "queued"],
        ["s-2", "authbridge", "-", "remove", "queued"],
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "{manifest}", "--host", "nosuch"), "nosuch"),
        (("add", "{bad}", "--all"), "sha256: must be 64 hexadecimal digits"),
        (("add", "{missing}", "--all"), "cannot read: No such file"),
    ],
)
def test_bad_requests_are_one_line_errors(
    collector_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    message: str,
) -> None:
    paths = {
        "manifest": str(_toml(tmp_path / "good.toml")),
        "bad": str(_toml(tmp_path / "bad.toml", sha256="nope")),
        "missing": str(tmp_path / "absent.toml"),
    }
    code = _run(collector_dir, *(a.format(**paths) for a in args))
    err = capsys.readouterr().err.strip()
    assert code != 0 and message in err and len(err.splitlines()) == 1, err


def test_a_refused_target_is_audited(collector_dir: Path, tmp_path: Path) -> None:
    assert _run(collector_dir, "add", str(_toml(tmp_path / "m.toml")), "--host", "nosuch") != 0
    (entry,) = _audit(collector_dir)
    assert (entry.action, entry.host, entry.result) == ("plugin.add", "nosuch", "refused")


def test_host_and_all_are_exclusive_and_one_is_required(collector_dir: Path) -> None:
    for args in (("remove", "x"), ("remove", "x", "--all", "--host", "s-1")):
        with pytest.raises(SystemExit) as info:
            _run(collector_dir, *args)
        assert info.value.code == 2


def test_no_collector_state_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path / "nothing", "list") == 2
    assert "no collector state in" in capsys.readouterr().err


def test_the_sensor_refuses_a_bad_plugin_command(tmp_path: Path) -> None:
    manifests = ManifestDir(tmp_path / "plugins")
    admin = PluginAdmin(manifests, lambda: None)
    bad_json = admin.execute("plugin", {"op": "add", "name": "x", "manifest": "{"})
    assert not bad_json.ok and bad_json.error_code == "bad_manifest"
    other = admin.execute("plugin", {"op": "add", "name": "x", "manifest": MANIFEST.to_json()})
    assert not other.ok and "manifest names 'authbridge', not 'x'" in other.message
    assert not admin.execute("plugin", {"op": "reboot", "name": "x"}).ok
    gone = admin.execute("plugin", {"op": "remove", "name": "x"})
    assert gone.ok and gone.message == "plugin x was not enabled"
    assert manifests.names() == []
    # Other actions go to the response executor, or are unsupported without one.
    assert admin.execute("kill", {"pid": 5}).error_code == "unsupported"
    inner = RecordingExecutor()
    with_inner = PluginAdmin(manifests, lambda: inner)
    assert with_inner.execute("kill", {"pid": 5}).ok and inner.calls == [("kill", {"pid": 5})]
    assert with_inner.isolation_state() == "none"  # what the agent's heartbeat asks for


def test_the_windows_named_pipe_seam_says_it_is_not_built() -> None:
    with pytest.raises(NamedPipeUnavailable, match=r"aurora-plugins is not implemented"):
        listen_pipe()
