"""Helpers shared by subcommands: configuration loading, JSON-lines output, stubs."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import orjson

from aurora.config import AuroraConfig, load_config
from aurora.errors import NotYetAvailable


def config_from_args(args: argparse.Namespace) -> AuroraConfig:
    """Load the configuration named by --config (or the default), applying --log-level."""
    path = Path(args.config) if getattr(args, "config", None) else None
    config = load_config(path)
    level = getattr(args, "log_level", None) or config.logging.level
    logging.getLogger().setLevel(level.upper())
    return config


def print_json_line(obj: Any) -> None:
    """One JSON object per line on stdout, the format every `--json` flag promises."""
    sys.stdout.buffer.write(orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE))
    sys.stdout.flush()


def not_yet(command: str, issue: int, what: str) -> int:
    """Exit 2 for a subcommand whose issue has not landed yet."""
    raise NotYetAvailable(
        f"`aurora {command}` is not available yet: {what} lands with issue {issue}"
    )
