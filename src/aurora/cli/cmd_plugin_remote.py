"""`aurora plugin ... --server URL --token T`: the same changes and listing through a remote
collector's ``/api/v1/plugins`` (adding and removing needs an admin's token; the API audits them
as that user). The manifest travels as its TOML text and is checked by the collector."""

from __future__ import annotations

import argparse
import logging
from urllib.parse import quote

from aurora.api.client import ApiClient
from aurora.cli.cmd_plugin_print import print_queued, print_states
from aurora.plugins.manifest import ManifestError, read_text, valid_name

LIST_MAX = 100_000


def run_remote(args: argparse.Namespace) -> int:
    # httpx logs every request at INFO: an operator wants the answer, not the transcript.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    action = args.plugin_action
    text = read_text(args.manifest) if action == "add" else ""
    if action == "remove" and not valid_name(args.name):
        raise ManifestError(f"{args.name!r:.80} is not a plugin name (1-64 of a-z 0-9 _ . -)")
    with ApiClient(args.server, args.token or "", ca_cert=args.ca_cert) as client:
        if action == "list":
            return print_states(args, client.paged("/api/v1/plugins", LIST_MAX))
        if action == "add":
            body = {"manifest_toml": text, "host": args.host, "all": args.all}
            answer = client.request("POST", "/api/v1/plugins", json=body)
        else:
            where = {"all": "true"} if args.all else {"host": args.host}
            answer = client.request(
                "DELETE", f"/api/v1/plugins/{quote(args.name, safe='')}", params=where
            )
    print_queued(args, answer["items"])
    return 0
