"""A real OpenSSH server for tests, alone in a network namespace and a mount namespace the test
creates, logging through a real rsyslogd into an auth.log of the test's own.

The mount namespace gives sshd its own /run, /dev (with /dev/log pointing at the test's rsyslog
socket) and passwd/shadow/group/sudoers copies holding a test user (who may sudo) and a root
password, so nothing on the host changes. The
ssh client enters the same network namespace with nsenter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "apltest"
PASSWORD = "Corr3ct-horse-battery"
PORT = 2222
TOOLS = (
    "/usr/sbin/sshd",
    "/usr/sbin/rsyslogd",
    "/usr/bin/sshpass",
    "/usr/bin/nsenter",
    "/usr/bin/sudo",
)

_NAMESPACE_SCRIPT = """set -e
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -m 755 /run/sshd
mount -t tmpfs -o mode=755 tmpfs /dev
for n in "null 1 3" "zero 1 5" "random 1 8" "urandom 1 9" "tty 5 0"; do
  set -- $n; mknod -m 666 /dev/$1 c $2 $3
done
ln -s {log_socket} /dev/log
for f in passwd shadow group sudoers; do mount --bind {root}/$f /etc/$f; done
ip link set lo up
exec /usr/sbin/sshd -D -f {root}/sshd_config
"""


@dataclass
class SshLab:
    root: Path
    auth_log: Path
    sshd_pid: int

    def login(self, password: str, command: str = "true", user: str = USER) -> int:
        """One real ssh login from inside the namespace; the client's exit status."""
        ssh = [
            "ssh", "-p", str(PORT),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1",
            "-o", "LogLevel=ERROR", f"{user}@127.0.0.1", command,
        ]  # fmt: skip
        cmd = ["nsenter", "-t", str(self.sshd_pid), "-n", "sshpass", "-p", password, *ssh]
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode


def _wait_for(path: Path, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not appear ({path})")
        time.sleep(0.05)


def _write_files(root: Path) -> None:
    (root / "rsyslog.conf").write_text(
        'module(load="imuxsock" SysSock.Use="off")\n'
        f'input(type="imuxsock" Socket="{root}/log.sock")\n'
        f'global(workDirectory="{root}")\n'
        f'auth,authpriv.* action(type="omfile" file="{root}/auth.log" '
        'template="RSYSLOG_FileFormat")\n'
    )
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "hostkey")], check=True
    )
    digest = subprocess.run(
        ["openssl", "passwd", "-6", PASSWORD], capture_output=True, text=True, check=True
    ).stdout.strip()
    home = root / "home"
    home.mkdir(mode=0o755)
    for name, line in (
        ("passwd", f"{USER}:x:54321:54321::{home}:/bin/sh"),
        ("group", f"{USER}:x:54321:"),
        ("shadow", f"{USER}:{digest}:20000:0:99999:7:::"),
    ):
        lines = Path(f"/etc/{name}").read_text().splitlines()
        if name == "shadow":  # root gets the same password, in this copy only
            lines = [f"root:{digest}:" + ln.split(":", 2)[2] if ln.startswith("root:") else ln
                     for ln in lines]  # fmt: skip
        (root / name).write_text("\n".join([*lines, line]) + "\n")
    os.chmod(root / "shadow", 0o600)
    (root / "sudoers").write_text(
        f"root ALL=(ALL:ALL) ALL\n{USER} ALL=(root) NOPASSWD: /bin/bash, /usr/bin/id\n"
    )
    os.chmod(root / "sudoers", 0o440)
    (root / "sshd_config").write_text(
        f"Port {PORT}\nListenAddress 127.0.0.1\nHostKey {root}/hostkey\n"
        f"PidFile {root}/sshd.pid\nUsePAM no\nPasswordAuthentication yes\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication no\nPermitRootLogin yes\n"
        "StrictModes no\nSyslogFacility AUTH\nLogLevel INFO\nMaxAuthTries 10\n"
        "MaxStartups 100\n"
    )


@contextmanager
def ssh_lab(root: Path, log_socket: Path | None = None) -> Iterator[SshLab]:
    """sshd logging through its own rsyslogd into ``auth.log``, or, given ``log_socket`` (a
    syslog socket such as journald's ``dev-log``), through that socket."""
    if os.geteuid() != 0:
        pytest.skip("namespaces and sshd need root")
    missing = [t for t in TOOLS if not Path(t).exists()]
    if missing:
        pytest.skip(f"missing {', '.join(missing)} (make apt installs them)")
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    _write_files(root)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        if log_socket is None:
            log_socket = root / "log.sock"
            procs.append(
                subprocess.Popen(
                    [
                        "rsyslogd",
                        "-n",
                        "-f",
                        str(root / "rsyslog.conf"),
                        "-i",
                        str(root / "rs.pid"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            ready, what = root / "auth.log", f"sshd's first log line ({(root / 'sshd.err')})"
        else:
            ready, what = root / "sshd.pid", f"sshd's pid file ({(root / 'sshd.err')})"
        _wait_for(log_socket, "the syslog socket")
        (root / "ns.sh").write_text(_NAMESPACE_SCRIPT.format(root=root, log_socket=log_socket))
        with open(root / "sshd.err", "wb") as err:  # the child keeps its own descriptor
            sshd = subprocess.Popen(
                ["unshare", "--net", "--mount", "sh", str(root / "ns.sh")],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        procs.append(sshd)
        _wait_for(ready, what)
        yield SshLab(root, root / "auth.log", sshd.pid)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root / "home", ignore_errors=True)
