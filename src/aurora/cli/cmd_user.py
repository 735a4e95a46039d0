"""`aurora user`: manage console users (add, list, remove, set-role, token) in a state directory.

`add` reads the password from stdin when it is piped, or generates one and prints it once when
stdin is a terminal (so no password ever appears on a command line or in shell history).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aurora.cli.common import config_from_args, print_json_line
from aurora.collector.store import open_accounts
from aurora.collector.store.accounts import (
    ROLES,
    AuditEntry,
    UnknownUser,
    UserExists,
)
from aurora.errors import UsageError

if TYPE_CHECKING:
    from aurora.collector.store.factory import Accounts


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "user",
        help="manage console users",
        description="Manage console users and their API tokens in a collector state directory.",
    )
    parser.add_argument("--state-dir", type=Path, help="collector state directory")
    sub = parser.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="add a user (password from stdin, or generated)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    lst = sub.add_parser("list", help="list users and roles")
    lst.add_argument("--json", action="store_true", help="one JSON object per line")
    lst.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    rm = sub.add_parser("remove", help="remove a user (ends their sessions and API tokens)")
    rm.add_argument("name")
    rm.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    role = sub.add_parser("set-role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    role.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    tok = sub.add_parser("token", help="create an API token for a user (printed once)")
    tok.add_argument("name")
    tok.add_argument("--label", default="cli", help="what the token is for")
    tok.add_argument("--ttl-days", type=int, default=90, help="0 = never expires (default 90)")
    tok.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


@contextmanager
def _accounts(args: argparse.Namespace) -> Iterator[Accounts]:
    config = config_from_args(args)
    state_dir = Path(args.state_dir or config.collector.state_dir)
    if not state_dir.is_dir():
        raise UsageError(f"state directory {state_dir} does not exist; pass --state-dir DIR")
    accounts = open_accounts(state_dir, config.collector.store)
    try:
        yield accounts
    finally:
        accounts.close()


def _read_password() -> tuple[str, bool]:
    """(password, generated). A terminal gets a generated one; a pipe supplies its own."""
    if sys.stdin is None or sys.stdin.isatty():
        from aurora.api.auth import generate_password

        return generate_password(), True
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise UsageError("no password on stdin (pipe one line, or run from a terminal)")
    return line, False


def _audit(accounts: Accounts, action: str, target: str, detail: dict[str, Any]) -> None:
    from aurora.api.auth import now_ms

    actor = f"cli:{getpass.getuser()}"
    accounts.append(AuditEntry(now_ms(), actor, action, target, "", "ok", detail))


def _admins(accounts: Accounts) -> int:
    return sum(1 for u in accounts.list_users() if u.role == "admin")


def run(args: argparse.Namespace) -> int:
    # Imported here: aurora.api.auth computes an argon2 hash when loaded, which every `aurora`
    # call would otherwise pay for while building its parsers.
    from aurora.api.auth import hash_password, hash_secret, new_api_token, now_ms

    with _accounts(args) as accounts:
        cmd = args.user_command
        if cmd == "add":
            password, generated = _read_password()
            try:
                accounts.add_user(args.name, args.role, hash_password(password), now_ms())
            except UserExists as exc:
                raise UsageError(exc.message) from None
            _audit(accounts, "user.add", args.name, {"role": args.role})
            if generated:
                print(f"created {args.role} {args.name!r}; password (shown once): {password}")
            else:
                print(f"created {args.role} {args.name!r}")
        elif cmd == "list":
            for u in accounts.list_users():
                if args.json:
                    print_json_line({"name": u.name, "role": u.role, "created_ms": u.created_ms})
                else:
                    print(f"{u.name}\t{u.role}")
        elif cmd == "remove":
            user = accounts.get_user(args.name)
            if user is None:
                raise UnknownUser(args.name)
            if user.role == "admin" and _admins(accounts) <= 1:
                raise UsageError("refusing to remove the last admin")
            accounts.remove_user(user.name)
            _audit(accounts, "user.remove", user.name, {})
            print(f"removed {user.name!r}")
        elif cmd == "set-role":
            user = accounts.get_user(args.name)
            if user is None:
                raise UnknownUser(args.name)
            if user.role == "admin" and args.role != "admin" and _admins(accounts) <= 1:
                raise UsageError("refusing to demote the last admin")
            accounts.set_role(user.name, args.role)
            _audit(accounts, "user.role", user.name, {"to": args.role})
            print(f"{user.name!r} is now {args.role}")
        elif cmd == "token":
            user = accounts.get_user(args.name)
            if user is None:
                raise UnknownUser(args.name)
            if not 0 <= args.ttl_days <= 3650:
                raise UsageError("--ttl-days must be between 0 and 3650")
            token = new_api_token()
            now = now_ms()
            expires = now + args.ttl_days * 86_400_000 if args.ttl_days else 0
            accounts.add_api_token(hash_secret(token), user.user_id, args.label, now, expires)
            _audit(accounts, "token.create", user.name, {"label": args.label})
            print(token)
    return 0
