"""Helpers shared by the collector-side subcommands (token, hosts, events, alerts, collector).

They open the collector's state directory directly, so they work whether or not a collector is
running (SQLite in WAL mode lets them read while it writes).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aurora.collector.store import DB_NAME, Store, UnknownHost, open_store
from aurora.config import AuroraConfig
from aurora.errors import UsageError


def add_state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help="collector state directory (default: [collector] state_dir, /var/lib/aurora)",
    )


def state_dir_of(args: argparse.Namespace, config: AuroraConfig) -> Path:
    value = getattr(args, "state_dir", None)
    return Path(value) if value else config.collector.state_dir


def open_existing_store(args: argparse.Namespace, config: AuroraConfig) -> Store:
    """The store of an existing collector; a clear error rather than creating an empty one."""
    state = state_dir_of(args, config)
    if config.collector.store == "sqlite" and not (state / DB_NAME).is_file():
        raise UsageError(
            f"no collector state in {state} (no {DB_NAME}); start `aurora collector` there or "
            "pass --state-dir"
        )
    return open_store(state, config.collector.store)


def resolve_one(store: Store, host: str) -> str:
    """One sensor id from an id or a hostname; ambiguity is an error naming the candidates."""
    ids = store.resolve_host(host)
    if not ids:
        raise UnknownHost(host)
    if len(ids) > 1:
        raise UsageError(f"{host!r} matches {len(ids)} sensors ({', '.join(ids)}); use the id")
    return ids[0]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
