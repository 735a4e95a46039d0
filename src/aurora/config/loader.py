"""Load the TOML configuration, apply environment overrides, validate, report one-line errors."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aurora.config.api import ApiConfig
from aurora.config.base import Section
from aurora.config.collector import CollectorConfig
from aurora.config.detection import DetectionConfig
from aurora.config.logging import LoggingConfig
from aurora.config.response import ResponseConfig
from aurora.config.sensor import SensorConfig
from aurora.errors import ConfigError

ENV_PREFIX = "AURORA__"
CONFIG_ENV = "AURORA_CONFIG"
SYSTEM_CONFIG = Path("/etc/aurora/aurora.toml")


class AuroraConfig(Section):
    """The whole configuration file."""

    collector: CollectorConfig = CollectorConfig()
    sensor: SensorConfig = SensorConfig()
    detection: DetectionConfig = DetectionConfig()
    response: ResponseConfig = ResponseConfig()
    api: ApiConfig = ApiConfig()
    logging: LoggingConfig = LoggingConfig()


def default_config_path(env: Mapping[str, str] | None = None) -> Path | None:
    """The file to read when none is given: $AURORA_CONFIG, else /etc/aurora/aurora.toml."""
    env = os.environ if env is None else env
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    return SYSTEM_CONFIG if SYSTEM_CONFIG.is_file() else None


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> AuroraConfig:
    """Read ``path`` (or the default file), overlay ``AURORA__SECTION__KEY`` variables, validate."""
    env = os.environ if env is None else env
    if path is None:
        path = default_config_path(env)
    data: dict[str, Any] = _read_toml(path) if path is not None else {}
    source = str(path) if path is not None else None
    for var, raw in sorted(env.items()):
        if var.startswith(ENV_PREFIX):
            _apply_env(data, var, raw)
            source = source or "environment"
    try:
        return AuroraConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "<root>"
        reason = _reason(err)
        env_var = ENV_PREFIX + "__".join(str(p) for p in err["loc"]).upper()
        where = f"environment variable {env_var}" if env_var in env else source
        raise ConfigError(key, reason, where) from None


def _reason(err: Mapping[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    return msg[0].lower() + msg[1:] if msg else "invalid value"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("<file>", "file not found", str(path)) from None
    except IsADirectoryError:
        raise ConfigError("<file>", "is a directory, not a TOML file", str(path)) from None
    except PermissionError:
        raise ConfigError("<file>", "permission denied", str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError("<file>", "not UTF-8 text", str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("<file>", f"invalid TOML: {exc}", str(path)) from None


def _apply_env(data: dict[str, Any], var: str, raw: str) -> None:
    parts = [p.lower() for p in var[len(ENV_PREFIX) :].split("__")]
    if not all(parts):
        raise ConfigError(var, "malformed variable name; use AURORA__SECTION__KEY", "environment")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(".".join(parts), "is not a table", "environment")
        node = child
    node[parts[-1]] = _parse_env_value(raw)


def _parse_env_value(raw: str) -> Any:
    """Environment values are TOML literals when they parse (42, true, ["a"]), else strings."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
