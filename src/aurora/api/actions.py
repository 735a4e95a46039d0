"""How the API and the CLI show a response action.

Requesting one is :mod:`aurora.collector.actions`; this is only the JSON view of a queued command.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aurora.collector.store.base import FINAL_COMMAND_STATES, CommandRecord


def command_view(cmd: CommandRecord) -> dict[str, Any]:
    """The command as JSON, with ``final`` saying whether its state can still change."""
    view = asdict(cmd)
    view["final"] = cmd.state in FINAL_COMMAND_STATES
    return view
