"""`aurora hunt RULE --since 7d`: retro-hunt one rule over the events the collector has stored."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aurora.cli.common import config_from_args
from aurora.cli.local_store import add_state_dir, open_existing_store, resolve_one, state_dir_of
from aurora.cli.timespec import format_ms, parse_time_ms
from aurora.errors import UsageError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "hunt",
        help="retro-hunt a rule over stored events",
        description="Run one Sigma rule over the events the collector has stored; matches become "
        "alerts marked as retro-hunt results (no automatic response runs on them).",
    )
    parser.add_argument("rule", metavar="RULE", help="a loaded rule's id, or a Sigma rule file")
    parser.add_argument("--since", required=True, metavar="T", help="ISO-8601 or 15m, 2h, 7d ago")
    parser.add_argument("--until", metavar="T", help="ISO-8601 or 15m, 2h, 7d ago (default: now)")
    parser.add_argument(
        "--host", dest="hosts", action="append", default=[], metavar="HOST", help="repeatable"
    )
    add_state_dir(parser)
    parser.set_defaults(func=run)


def _rule(arg: str, args: argparse.Namespace) -> Any:
    from aurora.detection import DetectionEngine
    from aurora.detection.rules import load_rules

    config = config_from_args(args)
    path = Path(arg)
    if path.is_file():
        result = load_rules([path], dict(config.detection.placeholders))
        if result.failures:
            raise UsageError(f"hunt: {arg}: {result.failures[0].reason}")
        if len(result.rules) != 1:
            raise UsageError(f"hunt: {arg}: give a file with exactly one Sigma detection rule")
        return result.rules[0]
    dirs = [d for d in config.detection.rule_dirs if d.exists()]
    uploaded = state_dir_of(args, config) / "rules"
    if uploaded.is_dir():
        dirs.append(uploaded)
    engine = DetectionEngine.load(dirs, config=config.detection)
    for rule in engine.rules:
        if rule.id == arg:
            return rule
    raise UsageError(f"hunt: {arg!r} is neither a rule file nor a loaded rule's id")


def run(args: argparse.Namespace) -> int:
    from aurora.collector.retrohunt import HuntJob, run_hunt, single_rule_engine

    config = config_from_args(args)
    since = parse_time_ms(args.since)
    until = parse_time_ms(args.until) if args.until else int(time.time() * 1000)
    if since > until:
        raise UsageError("hunt: --since is after --until: nothing to hunt through")
    rule = _rule(args.rule, args)
    store = open_existing_store(args, config)
    try:
        sensors = [resolve_one(store, h) for h in args.hosts] or None
        job = HuntJob("cli", rule.id, rule.title, since, until, sensors, "cli")
        engine = single_rule_engine(rule, config.detection)
        worker = threading.Thread(target=run_hunt, args=(job, store, engine), daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.5)
            if sys.stderr.isatty():
                print(
                    f"\r{job.progress:6.1%}  {job.scanned} events  {job.matches} matches",
                    end="",
                    file=sys.stderr,
                )
    finally:
        store.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if job.state != "done":
        print(f"aurora: hunt failed: {job.error}", file=sys.stderr)
        return 1
    print(
        f"{rule.title} ({rule.id}): {job.scanned} events from {format_ms(since)} to "
        f"{format_ms(until)}: {job.matches} matches, {job.stored} new retro-hunt alerts"
    )
    return 0
