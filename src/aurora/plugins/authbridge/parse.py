"""sshd, sudo and su log messages -> authentication records. One pattern per message kind; a
message that is none of them (most of what these programs log) is ignored."""

from __future__ import annotations

import re
from dataclasses import dataclass

# sshd re-executes as sshd-session for each connection from OpenSSH 9.8 on.
SSHD_PROGRAMS = frozenset({"sshd", "sshd-session"})
PROGRAMS = SSHD_PROGRAMS | {"sudo", "su"}


@dataclass(frozen=True)
class AuthRecord:
    service: str  # sshd, sudo, su
    success: bool
    user: str  # the account logged into (sudo/su: the target account)
    logoff: bool = False
    actor: str = ""  # sudo/su: who asked
    src_ip: str = ""
    src_port: int = 0
    method: str = ""  # sshd: password, publickey, keyboard-interactive...
    detail: str = ""  # why it failed, or "invalid user"
    command: str = ""  # sudo: the command run
    tty: str = ""


_SSH_ACCEPTED = re.compile(
    r"^Accepted (?P<method>[\w/-]+) for (?P<user>\S+) from (?P<ip>\S+) port (?P<port>\d+)"
)
_SSH_FAILED = re.compile(
    r"^Failed (?P<method>[\w/-]+) for (?P<invalid>invalid user )?(?P<user>\S+) "
    r"from (?P<ip>\S+) port (?P<port>\d+)"
)
_SSH_DISCONNECTED = re.compile(
    r"^Disconnected from user (?P<user>\S+) (?P<ip>\S+) port (?P<port>\d+)"
)
_SUDO = re.compile(r"^\s*(?P<actor>\S+) : (?P<rest>.*)$")
_SU = re.compile(r"^(?P<failed>FAILED SU )?\(to (?P<user>\S+)\) (?P<actor>\S+) on (?P<tty>\S+)")


def _ssh(message: str) -> AuthRecord | None:
    if m := _SSH_ACCEPTED.match(message):
        return AuthRecord(
            "sshd", True, m["user"], src_ip=m["ip"], src_port=int(m["port"]), method=m["method"]
        )
    if m := _SSH_FAILED.match(message):
        return AuthRecord(
            "sshd",
            False,
            m["user"],
            src_ip=m["ip"],
            src_port=int(m["port"]),
            method=m["method"],
            detail="invalid user" if m["invalid"] else f"wrong {m['method']}",
        )
    if m := _SSH_DISCONNECTED.match(message):
        return AuthRecord(
            "sshd", True, m["user"], logoff=True, src_ip=m["ip"], src_port=int(m["port"])
        )
    return None


def _sudo(message: str) -> AuthRecord | None:
    m = _SUDO.match(message)
    if m is None or "COMMAND=" not in m["rest"]:
        return None
    parts = [p.strip() for p in m["rest"].split(" ; ")]
    fields = dict(p.split("=", 1) for p in parts if "=" in p and p.split("=", 1)[0].isupper())
    # "alice : 3 incorrect password attempts ; TTY=..." and "alice : user NOT in sudoers ; ..."
    problem = parts[0] if "=" not in parts[0] else ""
    # COMMAND is last and may itself contain " ; ": take everything after its key.
    command = m["rest"].split("COMMAND=", 1)[1]
    return AuthRecord(
        "sudo",
        not problem,
        fields.get("USER", "root"),
        actor=m["actor"],
        detail=problem,
        command=command,
        tty=fields.get("TTY", ""),
    )


def _su(message: str) -> AuthRecord | None:
    m = _SU.match(message)
    if m is None:
        return None
    failed = bool(m["failed"])
    return AuthRecord(
        "su",
        not failed,
        m["user"],
        actor=m["actor"],
        tty=m["tty"],
        detail="authentication failure" if failed else "",
    )


def parse(program: str, message: str) -> AuthRecord | None:
    """The record a ``program``'s log ``message`` describes; None when it describes none."""
    if program in SSHD_PROGRAMS:
        return _ssh(message)
    if program == "sudo":
        return _sudo(message)
    if program == "su":
        return _su(message)
    return None
