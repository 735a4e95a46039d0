"""`aurora scan`: hunt offline through EVTX and JSON logs with Sigma rules"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from aurora.cli.common import config_from_args
from aurora.cli.timespec import parse_time_ms
from aurora.errors import UsageError
from aurora.hunt.output import FORMATS

if TYPE_CHECKING:
    from aurora.detection.tuning import Tuning


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "scan",
        help="hunt offline through EVTX and JSON logs with Sigma rules",
        description="hunt offline through EVTX and JSON logs with Sigma rules. Directories are "
        "walked; EVTX files of any channel and OCSF/JSON lines are read.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument(
        "--rules",
        action="append",
        type=Path,
        metavar="DIR",
        help="Sigma rule directory or file (repeatable; default: [detection] rule_dirs)",
    )
    parser.add_argument("--no-builtin", action="store_true", help="leave out Aurora's own pack")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (default), jsonl (OCSF Detection Findings), csv, or timeline (csv sorted "
        "by event time)",
    )
    parser.add_argument(
        "--rule-cache",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="read compiled rules from the on-disk cache, and store them there "
        "(default: on; directory $AURORA_RULE_CACHE or ~/.cache/aurora/rules)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="processes scanning files side by side (default: one per core when the input "
        "is 64 MiB or more, else one)",
    )
    parser.add_argument("--out", type=Path, metavar="FILE", help="write findings here")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    keep = parser.add_argument_group("filters (a finding is kept when all hold)")
    keep.add_argument("--min-level", metavar="LEVEL", help="informational|low|medium|high|critical")
    keep.add_argument("--since", metavar="TIME", help="event time from (ISO-8601 or 15m, 7d ago)")
    keep.add_argument("--until", metavar="TIME", help="event time up to (ISO-8601 or 15m, 7d ago)")
    keep.add_argument(
        "--rule",
        dest="rule_ids",
        action="append",
        default=[],
        metavar="ID",
        help="rule id (repeatable)",
    )
    keep.add_argument(
        "--exclude",
        type=Path,
        metavar="TUNING_FILE",
        help="tuning file (YAML exceptions, as the collector reads); tuned-out matches are "
        "counted in the summary, not reported",
    )
    keep.add_argument(
        "--tag",
        dest="tags",
        action="append",
        default=[],
        metavar="TAG",
        help="Sigma tag, e.g. attack.t1059 (repeatable)",
    )
    parser.add_argument(
        "--top", type=int, default=10, metavar="N", help="rules and hosts listed in the summary"
    )
    parser.set_defaults(func=run)


def _time_arg(flag: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_time_ms(text)
    except UsageError as exc:
        raise UsageError(f"scan: {flag}: {exc}") from None


def _tuning(path: Path | None) -> Tuning | None:
    from aurora.detection.tuning import Tuning, TuningError

    if path is None:
        return None
    try:
        return Tuning.load(path)
    except TuningError as exc:
        raise UsageError(f"scan: --exclude: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from aurora.detection import DetectionEngine
    from aurora.detection.rule_cache import default_cache
    from aurora.hunt.filters import build_filter
    from aurora.hunt.output import FindingWriter, summary_table
    from aurora.hunt.scan import Hunt, finding_rule_ids
    from aurora.hunt.summary import HuntSummary

    config = config_from_args(args).detection
    dirs = args.rules if args.rules is not None else list(config.rule_dirs)
    for p in args.paths:
        if not p.exists():
            raise UsageError(f"scan: {p}: no such file or directory")
    if args.top < 0:
        raise UsageError(f"scan: --top {args.top}: give a count of 0 or more")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"scan: --jobs {args.jobs}: give 1 or more")
    tuning = _tuning(args.exclude)
    since = _time_arg("--since", args.since)
    until = _time_arg("--until", args.until)
    cache = default_cache() if args.rule_cache else None
    eng = DetectionEngine.load(
        dirs, include_builtin=not args.no_builtin, config=config, cache=cache
    )
    keep = build_filter(
        args.min_level, since, until, args.rule_ids, args.tags, finding_rule_ids(eng)
    )
    if eng.errors:
        print(
            f"aurora: {len(eng.errors)} rules could not be compiled and are not used; "
            "run `aurora rules check DIR` for the reasons",
            file=sys.stderr,
        )
    out: IO[str]
    if args.out is not None:
        try:
            out = args.out.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise UsageError(f"scan: cannot write {args.out}: {exc.strerror}") from None
    else:
        out = sys.stdout
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        writer = FindingWriter(args.format, out)
        hunt = Hunt(eng, writer, progress, keep, HuntSummary(args.top), tuning, args.jobs)
        stats = hunt.run(args.paths)
    finally:
        if out is not sys.stdout:
            out.close()
    for path, message in hunt.errors:
        print(f"aurora: {path}: {message}", file=sys.stderr)
    print(summary_table(stats), file=sys.stderr)
    print(hunt.summary.render(), file=sys.stderr)
    if hunt.tuned_out:
        print("tuned out (by --exclude):", file=sys.stderr)
        for rule_id, n in hunt.tuned_out.most_common():
            print(f"  {n:>6}  {rule_id}", file=sys.stderr)
    return 0
