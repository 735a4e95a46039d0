"""`aurora rules`: check, list and update Sigma rules"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from aurora.cli.common import config_from_args, print_json_line
from aurora.cli.local_store import add_state_dir, state_dir_of
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
        help="rule directory (repeatable; default: what the collector loads: [detection] "
        "rule_dirs, the installed SigmaHQ set and uploaded rules)",
    )
    lst.add_argument("--no-builtin", action="store_true", help="leave out Aurora's own pack")
    lst.add_argument("--json", action="store_true", help="one JSON object per rule")
    lst.add_argument(
        "--sets", action="store_true", help="list the rule sets (source, version, count) instead"
    )
    add_state_dir(lst)
    lst.set_defaults(func=run_list)
    upd = sub.add_parser(
        "update",
        help="install a SigmaHQ release (URL, zip or checkout directory)",
        description="Install SigmaHQ's rules where the collector loads them. Offline, give "
        "--from a release zip or a checkout of the SigmaHQ repository. Then send the running "
        "collector SIGHUP (or restart it) to load them.",
    )
    upd.add_argument(
        "--from",
        dest="source",
        metavar="URL|ZIP|DIR",
        help="what to install (default: [detection] rules_update_url)",
    )
    upd.add_argument(
        "--dest",
        type=Path,
        metavar="DIR",
        help="install directory (default: [detection] rules_install_dir, else STATE_DIR/sigma)",
    )
    add_state_dir(upd)
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
    from aurora.detection.rule_sets import rule_directories
    from aurora.ocsf.field_mapping import default_mapping

    full = config_from_args(args)
    config = full.detection
    if args.sets:
        return _list_sets(full, state_dir_of(args, full), args.json)
    state_dir = state_dir_of(args, full)
    dirs = args.rules if args.rules is not None else rule_directories(config, state_dir)
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
    from aurora.detection.rule_sets import installed_dir
    from aurora.detection.update import install_rules

    full = config_from_args(args)
    config = full.detection
    source = args.source or config.rules_update_url
    default_dest = installed_dir(config, state_dir_of(args, full))
    dest = args.dest or default_dest
    result = install_rules(source, dest)
    print(
        f"installed {result.rules} rules (version {result.version}) from {result.files} files "
        f"into {result.dest} ({result.failed} could not be compiled; see "
        f"`aurora rules check {result.dest}`)"
    )
    if dest.resolve() != default_dest.resolve() and dest not in config.rule_dirs:
        print(
            f"note: add {dest} to [detection] rule_dirs for the collector to load it",
            file=sys.stderr,
        )
    else:
        print("send the running collector SIGHUP (or restart it) to load them", file=sys.stderr)
    return 0


def _list_sets(config: Any, state_dir: Path, as_json: bool) -> int:
    from aurora.detection.rule_sets import count_by_set, only_builtin, rule_sets
    from aurora.detection.rules import load_rules

    sets = rule_sets(config.detection, state_dir)
    loaded = load_rules([s.path for s in sets if s.path.exists()])
    counts = count_by_set(sets, [r.path for r in loaded.rules])
    for s in sets:
        row = {
            "name": s.name,
            "path": str(s.path),
            "source": s.source,
            "version": s.version,
            "rules": counts[s.name + ":" + str(s.path)],
        }
        if as_json:
            print_json_line(row)
        else:
            print(f"{s.name:<10} {row['rules']:>6} rules  {s.version or '-':<24} {s.source}")
    if only_builtin(config.detection, state_dir):
        print(
            "aurora: only the built-in pack is active; install SigmaHQ's rules with "
            "`aurora rules update` (offline: --from ZIP|DIR)",
            file=sys.stderr,
        )
    return 0
