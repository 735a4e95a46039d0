"""`aurora rules`: check, list and update Sigma rules"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from aurora.cli.common import config_from_args, print_json_line
from aurora.errors import UsageError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rules",
        help="check, list and update Sigma rules",
        description="check, list and update Sigma rules",
    )
    sub = parser.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check", help="compile every rule under DIR and list those that fail, with the reason"
    )
    check.add_argument("dirs", nargs="+", type=Path, metavar="DIR")
    check.set_defaults(func=run_check)
    lst = sub.add_parser("list", help="list the rules the collector would load")
    lst.add_argument(
        "--rules",
        action="append",
        type=Path,
        default=None,
        metavar="DIR",
        help="rule directory (repeatable; default: [detection] rule_dirs)",
    )
    lst.add_argument("--no-builtin", action="store_true", help="leave out Aurora's own pack")
    lst.add_argument("--json", action="store_true", help="one JSON object per rule")
    lst.set_defaults(func=run_list)
    upd = sub.add_parser("update", help="install a SigmaHQ release archive")
    upd.add_argument(
        "--from",
        dest="source",
        metavar="URL-or-zip",
        help="archive to install (default: [detection] rules_update_url)",
    )
    upd.add_argument(
        "--dest",
        type=Path,
        metavar="DIR",
        help="install directory (default: [detection] rules_install_dir)",
    )
    upd.set_defaults(func=run_update)
    parser.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    from aurora.detection.rules import load_rules
    from aurora.detection.slow_rules import fallback_warning

    for d in args.dirs:
        if not d.exists():
            raise UsageError(f"rules check: {d}: no such file or directory")
    result = load_rules(args.dirs)
    for failure in result.failures:
        print(str(failure))
    # Warnings do not fail the check: these rules load, on a slower, time-bounded engine.
    warnings = [w for r in result.rules if (w := fallback_warning(r)) is not None]
    for warning in warnings:
        print(warning)
    total = len(result.rules) + len(result.failures)
    print(
        f"{len(result.rules)} of {total} rules compiled, {len(result.failures)} failed"
        + (f", {len(warnings)} with regexes RE2 cannot run" if warnings else ""),
        file=sys.stderr,
    )
    return 1 if result.failures else 0


def run_list(args: argparse.Namespace) -> int:
    from aurora.detection import DetectionEngine
    from aurora.ocsf.field_mapping import default_mapping

    config = config_from_args(args).detection
    dirs = args.rules if args.rules is not None else list(config.rule_dirs)
    eng = DetectionEngine.load(dirs, include_builtin=not args.no_builtin, config=config)
    mapping = default_mapping()
    routed_ids = {r.id for r in eng.rules if mapping.known_logsource(r.logsource)}
    for r in eng.rules:
        ls = "/".join(
            v for v in (r.logsource.get(k) for k in ("product", "category", "service")) if v
        )
        routed = mapping.known_logsource(r.logsource)
        if args.json:
            print_json_line(
                {
                    "id": r.id,
                    "title": r.title,
                    "level": r.level,
                    "tags": r.tags,
                    "logsource": r.logsource,
                    "enabled": r.enabled,
                    "routed": routed,
                    "path": str(r.path) if r.path else None,
                }
            )
        else:
            state = "enabled" if r.enabled else "disabled"
            note = "" if routed else "  (no mapped log source)"
            print(f"{r.id}  {r.level:<13} {state:<8} {ls:<32} {r.title}{note}")
    for info in eng.correlation.infos:
        if args.json:
            print_json_line(
                {
                    "id": info.id,
                    "title": info.title,
                    "level": info.level,
                    "tags": info.tags,
                    "correlation": info.type,
                    "rules": info.refs,
                    # A correlation sees events when every rule it counts does.
                    "routed": all(rid in routed_ids for rid in info.refs),
                }
            )
        else:
            print(
                f"{info.id}  {info.level:<13} {'enabled':<8} {'correlation/' + info.type:<32} "
                f"{info.title}"
            )
    if eng.errors:
        print(
            f"aurora: {len(eng.errors)} rules could not be compiled; run `aurora rules check`",
            file=sys.stderr,
        )
    return 0


def run_update(args: argparse.Namespace) -> int:
    from aurora.detection.update import install_rules

    config = config_from_args(args).detection
    source = args.source or config.rules_update_url
    dest = args.dest or config.rules_install_dir
    result = install_rules(source, dest)
    print(
        f"installed {result.rules} rules from {result.files} files into {result.dest}"
        f" ({result.failed} could not be compiled; see `aurora rules check {result.dest}`)"
    )
    if dest not in config.rule_dirs:
        print(
            f"note: add {dest} to [detection] rule_dirs for the collector to load it",
            file=sys.stderr,
        )
    return 0
