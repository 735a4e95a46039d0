"""The `aurora` entry point: help, version, and the not-yet-landed contract (exit 2, one line)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aurora import __version__
from aurora.cli.main import SUBCOMMANDS, build_parser, main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aurora", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_every_subcommand() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in SUBCOMMANDS:
        assert f"    {name} " in proc.stdout or f"    {name}\n" in proc.stdout


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"aurora {__version__}"


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help(name: str) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([name, "--help"])
    assert info.value.code == 0


def test_unknown_subcommand_is_usage_error() -> None:
    proc = run_cli("frobnicate")
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_not_yet_available_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    from aurora.cli import common

    with pytest.raises(Exception) as info:
        common.not_yet("demo", 99, "the demo")
    assert getattr(info.value, "exit_code", None) == 2
    assert "issue 99" in str(info.value)
    assert main is not None
