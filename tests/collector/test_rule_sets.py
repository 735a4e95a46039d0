"""SigmaHQ by default: `aurora rules update` installs a release (a SigmaHQ checkout, a zip, or a
URL) into the collector's state directory with a manifest; the collector loads it, lists it, and
fetches it by itself on first start; the console warns while only the built-in pack runs."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from api.test_cli import aurora
from aurora.collector.detect import DetectionStage
from aurora.config.detection import DetectionConfig
from aurora.detection.rule_sets import MANIFEST, only_builtin, rule_directories, rule_sets

SIGMA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sigma"
pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def small_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A slice of the SigmaHQ checkout (Linux rules and their regression data, SOURCE): big
    enough to be real, small enough to compile in a second."""
    root = tmp_path_factory.mktemp("sigma-checkout")
    shutil.copytree(SIGMA / "rules" / "linux" / "process_creation", root / "rules" / "linux" / "pc")
    shutil.copytree(SIGMA / "regression_data", root / "regression_data")
    shutil.copy(SIGMA / "SOURCE", root / "SOURCE")
    return root


def test_update_from_a_checkout_installs_rules_only_with_a_manifest(
    tmp_path: Path, small_checkout: Path
) -> None:
    state = tmp_path / "state"
    done = aurora("rules", "update", "--from", str(small_checkout), "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    installed = state / "sigma"
    manifest = json.loads((installed / MANIFEST).read_text())
    expected = len(list((small_checkout / "rules").rglob("*.yml")))
    assert manifest["rules"] + manifest["failed"] == expected
    assert manifest["version"].startswith("SigmaHQ/sigma commit ")
    assert not (installed / "regression_data").exists(), "test data was installed as rules"
    assert f"installed {manifest['rules']} rules" in done.stdout
    config = DetectionConfig()
    assert rule_directories(config, state) == [installed]
    assert not only_builtin(config, state)
    stage = DetectionStage.from_config(config, state_dir=state)
    assert any(r.path and installed in r.path.parents for r in stage.engine.rules)
    listed = aurora("rules", "list", "--sets", "--json", "--state-dir", str(state))
    sets = {row["name"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert sets["SigmaHQ"]["rules"] == manifest["rules"]
    assert sets["built-in"]["rules"] > 10 and listed.stderr == ""


def test_update_from_a_zip_and_bad_sources(tmp_path: Path, small_checkout: Path) -> None:
    archive = tmp_path / "sigma_all_rules.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in (small_checkout / "rules").rglob("*.yml"):
            z.write(path, str(path.relative_to(small_checkout)))
    state = tmp_path / "state"
    done = aurora("rules", "update", "--from", str(archive), "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    assert json.loads((state / "sigma" / MANIFEST).read_text())["version"].startswith("sha256:")
    for bad, needle in (
        (tmp_path / "missing.zip", "no such file or directory"),
        (tmp_path / "empty", "contains no .yml rule files"),
    ):
        if needle.startswith("contains"):
            bad.mkdir()
        failed = aurora("rules", "update", "--from", str(bad), "--state-dir", str(state))
        assert failed.returncode != 0 and needle in failed.stderr
        assert failed.stderr.count("\n") == 1
    # A failed update leaves the installed set as it was.
    assert json.loads((state / "sigma" / MANIFEST).read_text())["version"].startswith("sha256:")


def test_only_builtin_until_a_set_is_installed(tmp_path: Path) -> None:
    config = DetectionConfig()
    assert only_builtin(config, tmp_path)
    assert [s.name for s in rule_sets(config, tmp_path)] == ["built-in"]
    listed = aurora("rules", "list", "--sets", "--state-dir", str(tmp_path))
    assert "only the built-in pack is active" in listed.stderr


@pytest.fixture
def release_server(small_checkout: Path, tmp_path: Path) -> Iterator[str]:
    """SigmaHQ's release download, served over real HTTP on loopback."""
    root = tmp_path / "www" / "releases" / "download" / "r2026-11-01"
    root.mkdir(parents=True)
    with zipfile.ZipFile(root / "sigma_all_rules.zip", "w") as z:
        for path in (small_checkout / "rules").rglob("*.yml"):
            z.write(path, str(path.relative_to(small_checkout)))
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/releases/download/r2026-11-01/sigma_all_rules.zip"
    server.shutdown()
    server.server_close()


def test_collector_fetches_sigmahq_on_first_start(tmp_path: Path, release_server: str) -> None:
    state = tmp_path / "collector"
    env = dict(
        os.environ,
        AURORA__DETECTION__SIGMA_AUTO_INSTALL="true",
        AURORA__DETECTION__RULES_UPDATE_URL=release_server,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "aurora", "collector", "--state-dir", str(state),
         "--listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if "reloading the detection rules (SigmaHQ rules installed)" in line:
                break
            assert "Traceback" not in line, "".join(seen)
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stderr.close()
    assert any("installed" in s and "r2026-11-01" in s for s in seen), "".join(seen)
    assert json.loads((state / "sigma" / MANIFEST).read_text())["version"] == "r2026-11-01"
