"""Configuration: defaults, file and environment overrides, every error path (one line, exit 2)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aurora.config import AuroraConfig, load_config
from aurora.config.base import Section
from aurora.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aurora.toml"
    path.write_text(text)
    return path


def test_defaults_without_file() -> None:
    cfg = load_config(None, env={})
    assert cfg.collector.listen == "0.0.0.0:9443"
    assert cfg.sensor.spool_max_bytes == 500 * 1024**2
    assert cfg.api.listen == "127.0.0.1:8443"


def test_file_values_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[collector]\nlisten = "127.0.0.1:19443"\n[sensor]\nspool_max_bytes = 2097152\n'
    )
    cfg = load_config(path, env={})
    assert cfg.collector.listen == "127.0.0.1:19443"
    assert cfg.sensor.spool_max_bytes == 2 * 1024**2


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[sensor]\nspool_max_bytes = 2097152\n")
    env = {
        "AURORA__SENSOR__SPOOL_MAX_BYTES": "3145728",
        "AURORA__DETECTION__RULE_DIRS": '["/a", "/b"]',
        "AURORA__API__LISTEN": "127.0.0.1:9000",
    }
    cfg = load_config(path, env=env)
    assert cfg.sensor.spool_max_bytes == 3 * 1024**2
    assert [str(p) for p in cfg.detection.rule_dirs] == ["/a", "/b"]
    assert cfg.api.listen == "127.0.0.1:9000"


def test_aurora_config_variable_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[logging]\nlevel = "debug"\n')
    assert load_config(None, env={"AURORA_CONFIG": str(path)}).logging.level == "debug"


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("[sensor]\nspool_max_bytes = 'big'\n", "sensor.spool_max_bytes", "valid integer"),
        ("[sensor]\nspool_max_bytes = 10\n", "sensor.spool_max_bytes", "greater than or equal"),
        ("[sensor]\nspool_max_byte = 10\n", "sensor.spool_max_byte", "unknown key"),
        ("[nosuch]\nx = 1\n", "nosuch", "unknown key"),
        ("sensor = 3\n", "sensor", "valid dictionary"),
        ('[collector]\nlisten = "nowhere"\n', "collector.listen", "should match pattern"),
        ('[logging]\nlevel = "loud"\n', "logging.level", "should be 'debug'"),
        ("[sensor\n", "<file>", "invalid TOML"),
        (
            '[collector]\nadvertised_endpoint = ["a:1", "b"]\n',
            "collector.advertised_endpoint",
            "'b' is not HOST:PORT",
        ),
        (
            '[collector]\nadvertised_endpoint = ["a:1", "a:1"]\n',
            "collector.advertised_endpoint",
            "lists an endpoint twice",
        ),
    ],
)
def test_bad_file_names_key_and_problem(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key == key
    assert reason in info.value.reason
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_advertised_endpoint_is_one_or_several(tmp_path: Path) -> None:
    one_text = '[collector]\nadvertised_endpoint = "a.example:9443"\n'
    one = load_config(write(tmp_path, one_text), env={})
    assert one.collector.advertised_endpoint == ["a.example:9443"]
    many = '[collector]\nadvertised_endpoint = ["a.example:9443", "[::1]:9443"]\n'
    assert load_config(write(tmp_path, many), env={}).collector.advertised_endpoint == [
        "a.example:9443",
        "[::1]:9443",
    ]
    assert load_config(None, env={}).collector.advertised_endpoint == []


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.toml", env={})


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, env={})


def test_binary_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="<file>"):
        load_config(path, env={})


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, env={"AURORA__SENSOR__BATCH_MAX_EVENTS": "0"})
    assert info.value.key == "sensor.batch_max_events"
    assert "AURORA__SENSOR__BATCH_MAX_EVENTS" in str(info.value)


def test_malformed_environment_name() -> None:
    with pytest.raises(ConfigError, match="malformed variable name"):
        load_config(None, env={"AURORA__SENSOR____X": "1"})


def test_environment_into_non_table() -> None:
    with pytest.raises(ConfigError, match="is not a table"):
        load_config(None, env={"AURORA__SENSOR": "1", "AURORA__SENSOR__STATE_DIR": "/x"})


def _keys(model: type[Section], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, Section):
            out += _keys(ann, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


def test_every_key_is_documented() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text()
    sections = {m.group(1): m.start() for m in re.finditer(r"^## \[([a-z_.]+)\]", doc, re.M)}
    missing = []
    for key in _keys(AuroraConfig):
        section, _, name = key.rpartition(".")
        start = sections.get(section)
        if start is None:
            missing.append(key)
            continue
        end = min([s for s in sections.values() if s > start], default=len(doc))
        if f"`{name}`" not in doc[start:end]:
            missing.append(key)
    assert not missing, f"undocumented keys in docs/configuration.md: {missing}"


def test_cli_bad_config_one_line_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "[sensor]\nspool_max_bytes = -1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURORA")}
    proc = subprocess.run(
        [sys.executable, "-m", "aurora", "--config", str(path), "alerts"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        f"aurora: config error: sensor.spool_max_bytes: input should be greater than or equal "
        f"to 1048576 (in {path})"
    ]
