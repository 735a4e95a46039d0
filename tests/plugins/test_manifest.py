"""Manifests: what an administrator writes, what the sensor keeps, and every bad field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from aurora.plugins.framing import FrameTooLarge, encode
from aurora.plugins.manifest import ManifestDir, ManifestError, from_json, load_file

GOOD = """
name = "authbridge"
version = "0.1.0"
executable = "/usr/bin/python3.11"
sha256 = "%s"
classes = [3002]
uid = 0
""" % ("ab" * 32)


def test_a_toml_manifest_round_trips_through_json(tmp_path: Path) -> None:
    path = tmp_path / "authbridge.toml"
    path.write_text(GOOD)
    manifest = load_file(path)
    assert manifest.name == "authbridge" and manifest.classes == (3002,) and manifest.uid == 0
    assert from_json(manifest.to_json()) == manifest


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('name = "authbridge"', 'name = "../etc"'), "name: must be 1-64 of"),
        (('version = "0.1.0"', 'version = ""'), "version: must be a non-empty string"),
        (('"/usr/bin/python3.11"', '"python3"'), "executable: must be an absolute path"),
        (("ab" * 32, "xyz"), "sha256: must be 64 hexadecimal digits"),
        (("classes = [3002]", "classes = []"), "classes: must be a non-empty list"),
        (("classes = [3002]", "classes = [42]"), "classes: must be a non-empty list"),
        (("uid = 0", 'uid = "root"'), "uid: must be a numeric user id"),
        (("uid = 0", "uid = 0\nacl = 1"), "acl: unknown field"),
        (("uid = 0", ""), "uid: missing"),
        (("classes = [3002]", "classes = [3002"), "not valid TOML"),
    ],
)
def test_every_bad_field_is_named(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(ManifestError, match=message) as info:
        load_file(path)
    assert str(path) in info.value.message and "\n" not in info.value.message


def test_a_missing_or_huge_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read: No such file"):
        load_file(tmp_path / "absent.toml")
    huge = tmp_path / "huge.toml"
    huge.write_text("#" * 100_000)
    with pytest.raises(ManifestError, match="not a manifest"):
        load_file(huge)


def test_the_sensors_manifest_directory(tmp_path: Path) -> None:
    store = ManifestDir(tmp_path / "plugins")
    manifest = from_json(load_file_text(tmp_path))
    store.enable(manifest)
    assert store.names() == ["authbridge"] and store.get("authbridge") == manifest
    assert (tmp_path / "plugins").stat().st_mode & 0o777 == 0o700
    (tmp_path / "plugins" / "broken.json").write_text("{")
    assert store.get("broken") is None  # unreadable: not enabled, never a crash
    assert store.get("../plugins/authbridge") is None
    assert store.remove("authbridge") and not store.remove("authbridge")
    assert store.get("authbridge") is None


def load_file_text(tmp_path: Path) -> str:
    path = tmp_path / "m.toml"
    path.write_text(GOOD)
    return load_file(path).to_json()


def test_frames_over_the_cap_are_refused_at_encoding() -> None:
    with pytest.raises(FrameTooLarge, match="over the 100 byte limit"):
        encode({"type": "events", "events": ["x" * 200]}, limit=100)
