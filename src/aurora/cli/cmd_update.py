"""`aurora update`: roll a signed sensor package out to hosts, and follow rollouts (`status`)."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from pathlib import Path
from typing import Any

from aurora.cli.target_args import add_remote_args
from aurora.errors import AuroraError, UsageError

_FINAL = {"installed", "refused", "rolled back", "expired", "cancelled"}


class UpdateFailed(AuroraError):
    """At least one host refused the package or rolled it back."""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "update",
        help="roll a signed sensor package out to hosts; `aurora update status` to follow",
        description=(
            "aurora update HOST... --package FILE [--percent N], or --all instead of hosts: stage "
            "a rollout. aurora update status [ROLLOUT]: progress and outcome per host. Each sensor "
            "verifies the package with the key it pinned at enrolment and rolls back a version "
            "that does not report healthy in time."
        ),
    )
    parser.add_argument("hosts", nargs="*", metavar="HOST", help="sensor ids or hostnames")
    parser.add_argument("--all", action="store_true", help="every enrolled, unrevoked sensor")
    parser.add_argument("--package", type=Path, metavar="FILE", help="signed release package")
    parser.add_argument(
        "--percent", type=int, default=100, help="update this share of the hosts (1-100)"
    )
    parser.add_argument(
        "--confirm-within",
        type=int,
        default=120,
        metavar="S",
        help="seconds a new version has to reconnect healthy before rollback (default 120)",
    )
    parser.add_argument("--state-dir", type=Path, help="local collector state directory")
    add_remote_args(parser)
    parser.add_argument("--wait", action="store_true", help="wait until every host is done")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="S")
    parser.add_argument("--json", action="store_true", help="print rollouts as JSON lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.hosts[:1] == ["status"]:
        return _status(args, args.hosts[1:])
    if args.package is None:
        raise UsageError("--package FILE is required (or `aurora update status`)")
    if not args.package.is_file():
        raise UsageError(f"no package at {args.package}")
    if args.all == bool(args.hosts):
        raise UsageError("name the hosts to update, or pass --all (not both)")
    from aurora.cli.actions_support import open_target

    with open_target(args) as target:
        if target.client is not None:
            view = target.client.stage_rollout(
                args.package,
                args.hosts,
                all_hosts=args.all,
                percent=args.percent,
                confirm_within_s=args.confirm_within,
            )
        else:
            from aurora.collector.rollouts import Rollouts, rollout_view

            assert target.store is not None and target.state_dir is not None
            rollout = Rollouts.over(target.store, target.state_dir, target.ttl_s).stage(
                args.package,
                None if args.all else args.hosts,
                percent=args.percent,
                requested_by=f"cli:{getpass.getuser()}",
                confirm_within_s=args.confirm_within,
            )
            view = rollout_view(target.store, rollout)
        if args.wait:
            view = _wait(target, view["rollout_id"], args.timeout)
        _print(args, view)
    return _exit_status(view) if args.wait else 0


def _status(args: argparse.Namespace, ids: list[str]) -> int:
    from aurora.cli.actions_support import open_target

    with open_target(args) as target:
        views = [_one(target, rid) for rid in ids] if ids else _recent(target)
    if not views:
        print("no rollout yet", file=sys.stderr)
    for view in views:
        _print(args, view)
    return 0


def _one(target: Any, rollout_id: str) -> dict[str, Any]:
    if target.client is not None:
        result: dict[str, Any] = target.client.get(f"/api/v1/rollouts/{rollout_id}")
        return result
    from aurora.collector.rollouts import rollout_view

    rollout = target.store.get_rollout(rollout_id)
    if rollout is None:
        raise UsageError(f"no rollout {rollout_id}")
    return rollout_view(target.store, rollout)


def _recent(target: Any) -> list[dict[str, Any]]:
    if target.client is not None:
        items: list[dict[str, Any]] = target.client.paged("/api/v1/rollouts", 10)
        return items
    from aurora.collector.rollouts import rollout_view

    return [rollout_view(target.store, r) for r in target.store.list_rollouts(limit=10)]


def _wait(target: Any, rollout_id: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        view = _one(target, rollout_id)
        if all(h["outcome"] in _FINAL for h in view["hosts"]):
            return view
        if time.monotonic() > deadline:
            raise UpdateFailed(f"rollout {rollout_id} is not done after {timeout_s:g} s")
        time.sleep(0.5)


def _exit_status(view: dict[str, Any]) -> int:
    bad = [h for h in view["hosts"] if h["outcome"] != "installed"]
    if bad:
        first = bad[0]
        raise UpdateFailed(
            f"{len(bad)} of {len(view['hosts'])} hosts did not install {view['version']}; "
            f"{first['hostname'] or first['sensor_id']}: {first['outcome']}"
            + (f" [{first['error_code']}] {first['message']}" if first["error_code"] else "")
        )
    return 0


def _print(args: argparse.Namespace, view: dict[str, Any]) -> None:
    if args.json:
        from aurora.cli.common import print_json_line

        print_json_line(view)
        return
    counts = ", ".join(f"{n} {o}" for o, n in sorted(view["counts"].items()))
    print(
        f"rollout {view['rollout_id']}: {view['version']} to {len(view['hosts'])} hosts ({counts})"
    )
    for h in view["hosts"]:
        pct = f" {round(h['progress'] * 100)}%" if h["outcome"] == "in progress" else ""
        stage = f" ({h['stage']})" if h["stage"] and h["outcome"] == "in progress" else ""
        err = f" [{h['error_code']}] {h['message']}" if h["error_code"] else ""
        print(f"  {h['hostname'] or h['sensor_id']}: {h['outcome']}{pct}{stage}{err}")
