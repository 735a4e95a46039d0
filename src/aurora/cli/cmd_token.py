"""`aurora token create`: mint an enrolment token and print it with the CA fingerprint.

Works on the collector's state directory directly (creating the CA on first use), so tokens can be
made before the collector first starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from aurora.cli.common import config_from_args, print_json_line
from aurora.cli.local_store import add_state_dir, positive_int, state_dir_of


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "token", help="create enrolment tokens", description="create enrolment tokens"
    )
    sub = parser.add_subparsers(dest="token_action", metavar="ACTION", required=True)
    create = sub.add_parser(
        "create",
        help="create a token; prints it and the CA fingerprint sensors must pin",
        description="Create an enrolment token. Give it to `aurora enroll --token` together "
        "with the printed CA fingerprint (`--ca-fingerprint`).",
    )
    create.add_argument("--ttl", default="24h", help="lifetime: 30m, 24h, 7d... (default 24h)")
    create.add_argument(
        "--uses",
        type=positive_int,
        default=1,
        help="how many sensors may enrol with it (default 1)",
    )
    create.add_argument("--note", default="", help="free text kept with the token")
    create.add_argument("--json", action="store_true", help="print one JSON object")
    add_state_dir(create)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aurora.collector.pki import CertificateAuthority, ensure_private_dir
    from aurora.collector.store import open_store
    from aurora.collector.tokens import create_token, parse_duration

    config = config_from_args(args)
    ttl_s = parse_duration(args.ttl)
    state = state_dir_of(args, config)
    ensure_private_dir(state)
    ca = CertificateAuthority.load_or_create(state / "pki")
    store = open_store(state, config.collector.store)
    try:
        tok = create_token(store, ttl_s, args.uses, args.note)
    finally:
        store.close()
    expires = dt.datetime.fromtimestamp(tok.expires_ms / 1000, dt.UTC).isoformat()
    if args.json:
        print_json_line(
            {
                "token": tok.token,
                "ca_fingerprint": ca.fingerprint,
                "expires_at": expires,
                "uses": tok.uses_allowed,
            }
        )
    else:
        print(f"token:          {tok.token}")
        print(f"ca_fingerprint: {ca.fingerprint}")
        print(f"expires:        {expires} ({tok.uses_allowed} use(s))")
    return 0
