"""What the response-action commands (`aurora isolate/unisolate/kill/quarantine/triage`) share.

Each command either works on a local collector state directory (the command is queued straight
into the store and audited as ``cli:<unix user>``) or talks to a remote collector's API with
``--server URL --token T``. Then it waits for the sensor's answer, showing progress on stderr,
unless ``--no-wait``. Exit status: 0 when the action succeeded (or was queued with --no-wait),
1 when it failed, expired or was refused, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import getpass
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aurora.api.client import ApiClient
from aurora.api.views import command_view
from aurora.cli.common import config_from_args, print_json_line
from aurora.cli.target_args import add_remote_args, add_target_args
from aurora.collector.actions import request_action
from aurora.collector.store.base import Store
from aurora.errors import AuroraError, UsageError

__all__ = [
    "ActionFailed",
    "Target",
    "add_remote_args",
    "add_target_args",
    "open_target",
    "remote_client",
    "run_action",
]


class ActionFailed(AuroraError):
    """The sensor answered, but not with success (or never answered in time)."""


def remote_client(args: argparse.Namespace) -> ApiClient | None:
    if not getattr(args, "server", None):
        return None
    return ApiClient(args.server, args.token or "", ca_cert=args.ca_cert)


@dataclass
class Target:
    """Where commands go: a local store, or a remote API."""

    store: Store | None = None
    accounts: Any = None
    client: ApiClient | None = None
    ttl_s: int = 3600
    state_dir: Path | None = None

    def request(self, host: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.client is not None:
            return self.client.request_action(host, action, params)
        assert self.store is not None
        cmd, created = request_action(
            self.store,
            self.accounts,
            actor=f"cli:{getpass.getuser()}",
            host=host,
            action=action,
            params=params,
            ttl_s=self.ttl_s,
        )
        return {**command_view(cmd), "created": created}

    def status(self, command_id: str) -> dict[str, Any]:
        if self.client is not None:
            return self.client.action(command_id)
        assert self.store is not None
        cmd = self.store.get_command(command_id)
        if cmd is None:
            raise ActionFailed(f"action {command_id} vanished from the store")
        return command_view(cmd)

    def fetch_upload(self, command_id: str, out: Path) -> int:
        if self.client is not None:
            return self.client.download(command_id, out)
        assert self.store is not None
        upload = self.store.get_upload(command_id)
        if upload is None or not upload.complete:
            raise ActionFailed(f"action {command_id} has no complete upload")
        shutil.copyfile(upload.path, out)
        return upload.size


@contextmanager
def open_target(args: argparse.Namespace) -> Iterator[Target]:
    config = config_from_args(args)
    ttl = config.response.command_ttl_s
    client = remote_client(args)
    if client is not None:
        with client:
            yield Target(client=client, ttl_s=ttl)
        return
    from aurora.collector.store import open_accounts, open_store

    state_dir = Path(args.state_dir or config.collector.state_dir)
    if config.collector.store == "sqlite" and not (state_dir / "aurora.db").is_file():
        raise UsageError(
            f"no collector state in {state_dir}: pass --state-dir DIR, or --server URL --token T"
        )
    store = open_store(state_dir, config.collector.store)
    accounts = open_accounts(state_dir, config.collector.store)
    try:
        yield Target(store=store, accounts=accounts, ttl_s=ttl, state_dir=state_dir)
    finally:
        accounts.close()
        store.close()


def _progress_line(view: dict[str, Any]) -> str:
    pct = f" {round(view.get('progress', 0) * 100)}%" if view.get("progress") else ""
    stage = f" ({view['stage']})" if view.get("stage") else ""
    return f"{view['action']} on {view['sensor_id']}: {view['state']}{pct}{stage}"


def wait_for(
    target: Target,
    view: dict[str, Any],
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll until the action is final, echoing each change on stderr."""
    deadline = time.monotonic() + timeout_s
    tty = sys.stderr.isatty()
    last = ""
    while True:
        line = _progress_line(view)
        if line != last:
            print(("\r\x1b[K" if tty else "") + line, end="" if tty else "\n", file=sys.stderr)
            sys.stderr.flush()
            last = line
        if view.get("final"):
            break
        if time.monotonic() > deadline:
            if tty:
                print(file=sys.stderr)
            raise ActionFailed(
                f"{view['action']} {view['command_id']} is still {view['state']} after "
                f"{timeout_s:g} s; it stays queued until it expires (use --timeout to wait longer)"
            )
        sleep(0.5)
        view = target.status(view["command_id"])
    if tty:
        print(file=sys.stderr)
    return view


def run_action(
    args: argparse.Namespace,
    action: str,
    params: dict[str, Any],
    after: Callable[[Target, dict[str, Any]], None] | None = None,
) -> int:
    """Request ``action`` on ``args.host``, wait unless --no-wait, print the outcome."""
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    with open_target(args) as target:
        view = target.request(args.host, action, params)
        if not view.get("created", True):
            print(
                f"{action} already pending on {view['sensor_id']}: {view['command_id']}",
                file=sys.stderr,
            )
        if args.no_wait:
            _report(args, view)
            return 0
        view = wait_for(target, view, args.timeout)
        _report(args, view)
        if view["state"] != "succeeded":
            code = f" [{view['error_code']}]" if view.get("error_code") else ""
            raise ActionFailed(
                f"{action} {view['state']}{code}: {view.get('message') or 'no message'}"
            )
        if after is not None:
            after(target, view)
    return 0


def _report(args: argparse.Namespace, view: dict[str, Any]) -> None:
    if args.json:
        print_json_line(view)
        return
    msg = f" - {view['message']}" if view.get("message") else ""
    print(f"{view['command_id']} {view['action']} {view['sensor_id']} {view['state']}{msg}")
