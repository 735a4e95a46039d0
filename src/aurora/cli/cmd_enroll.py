"""`aurora enroll`: enrol this host's sensor with a collector."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aurora.cli.common import config_from_args, print_json_line


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "enroll",
        help="enrol this host's sensor with a collector",
        description=(
            "Enrol this host's sensor: generate a key here, send a certificate request with an "
            "enrolment token, pin the collector's CA by its SHA-256 fingerprint, and store the "
            "identity (0700 directory, 0600 files)."
        ),
    )
    parser.add_argument("--collector", required=True, metavar="HOST:PORT", help="collector address")
    parser.add_argument("--token", required=True, help="enrolment token from `aurora token create`")
    parser.add_argument(
        "--ca-fingerprint",
        required=True,
        metavar="SHA256",
        help="SHA-256 of the collector CA certificate (hex, as `aurora token create` prints it)",
    )
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help="sensor state directory (default: [sensor] state_dir, /var/lib/aurora-sensor)",
    )
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait (15)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aurora.sensor.enrollment import enroll

    config = config_from_args(args)
    state_dir = Path(args.state_dir) if args.state_dir else config.sensor.state_dir
    ident = enroll(args.collector, args.token, args.ca_fingerprint, state_dir, timeout=args.timeout)
    if args.json:
        print_json_line(
            {
                "sensor_id": ident.sensor_id,
                "endpoint": ident.endpoint,
                "endpoints": list(ident.endpoints),
                "state_dir": str(state_dir),
                "cert_not_after": ident.cert_not_after.isoformat(),
            }
        )
    else:
        print(
            f"enrolled as sensor {ident.sensor_id}; collector {', '.join(ident.endpoints)}; "
            f"state {state_dir}"
        )
    return 0
