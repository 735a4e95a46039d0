"""A real PostgreSQL server for the tests: started once per session, a fresh database per test.

The server comes from the Debian ``postgresql`` package (``initdb``/``postgres`` under
/usr/lib/postgresql/*/bin). PostgreSQL refuses to run as root, so as root it runs as ``nobody``
in a temporary directory that user owns, as a child of the test process that dies with it. It
listens on loopback only, on a port from ``free_port()``, and requires a password
(scram-sha-256) even there, so a wrong password is a real refusal. Test modules mark
themselves ``postgresql``: under CI=true a skip fails the run.
"""

from __future__ import annotations

import ctypes
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from agent.helpers import free_port

USER = "aurora"
PASSWORD = "aurora-test-password"
_PR_SET_PDEATHSIG = 1


def server_binaries() -> Path | None:
    """The newest installed server's bin directory, or None when PostgreSQL is not installed."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


def _die_with_parent() -> None:
    """In the server's process, after it became ``nobody`` (a change of user clears the
    setting): SIGTERM when the process that started it exits."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class PgServer:
    """One running server: ``url(db)`` for the unprivileged ``aurora`` role, databases on demand."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self._as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(root, nobody.pw_uid, nobody.pw_gid)
            self._as_user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            cwd=self.root,
            check=False,
            **self._as_user,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def init(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD)
        if self._as_user:
            os.chown(pwfile, self._as_user["user"], self._as_user["group"])
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--locale=C",
        )
        pwfile.unlink()

    def start(self) -> None:
        """Run the postmaster as this process's child, so it dies with it (a test run killed by
        a timeout leaves no server behind), and wait until it accepts connections."""
        log = (self.root / "log").open("a")
        self._proc = subprocess.Popen(
            [
                str(self.bin_dir / "postgres"),
                "-D", str(self.data),
                "-p", str(self.port),
                "-k", str(self.root),
                "-c", "listen_addresses=127.0.0.1",
                "-c", "max_connections=200",
                "-c", "shared_buffers=64MB",
            ],
            stdout=log,
            stderr=log,
            cwd=self.root,
            preexec_fn=_die_with_parent,
            **self._as_user,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                self.admin().close()
                return
            except psycopg.OperationalError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start: {self.log_tail()}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self._proc.send_signal(signal.SIGINT)  # "fast" shutdown: clients cut, data flushed
        self._proc.wait(60)

    def log_tail(self) -> str:
        return (self.root / "log").read_text(errors="replace")[-2000:]

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            password=PASSWORD,
            dbname="postgres",
            autocommit=True,
        )

    def create_role(self) -> None:
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")

    def new_database(self) -> str:
        """A fresh empty database owned by the ``aurora`` role; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {USER}")
        return self.url(name)

    def log_count(self, text: str) -> int:
        """How often the server's log mentions ``text`` (it logs every refused statement)."""
        return (self.root / "log").read_text(errors="replace").count(text)

    def url(self, dbname: str, password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{dbname}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = server_binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (Debian package postgresql; `make apt`)")
    root = Path(tempfile.mkdtemp(prefix="aurora-pg-"))
    server = PgServer(bin_dir, root)
    try:
        server.init()
        server.start()
        server.create_role()
        yield server
        server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A URL for a database of its own, for one test."""
    return pg_server.new_database()
