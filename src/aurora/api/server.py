"""Serve the API and console over HTTPS with uvicorn in a background thread.

The collector owns the process; the API is one more thread in it. The listening socket is bound
before the thread starts, so a busy port fails :meth:`ApiServer.start` with a clear error and an
ephemeral port (``:0``, used by tests) is known at once. Unless ``[api] tls_cert``/``tls_key``
are set, the certificate is issued by the collector's CA (see :func:`tls_files`).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from aurora.api.slow_clients import head_bounded_h11
from aurora.collector.bus import Bus
from aurora.collector.pki import CertificateAuthority
from aurora.collector.store.base import Store
from aurora.config import AuroraConfig
from aurora.config.api import ApiConfig
from aurora.errors import AuroraError

log = logging.getLogger(__name__)


class ApiServerError(AuroraError):
    """The API cannot listen (bad address, port in use, unreadable certificate)."""


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    try:
        number = int(port)
    except ValueError:
        raise ApiServerError(f"api listen address {listen!r} is not HOST:PORT") from None
    if not 0 <= number <= 65535:
        raise ApiServerError(f"api listen port {number} is out of range")
    return host, number


def tls_files(config: ApiConfig, state_dir: Path) -> tuple[Path, Path]:
    """(certfile, keyfile): the configured pair, else the collector CA's server certificate."""
    if config.tls_cert:
        cert, key = Path(config.tls_cert), Path(config.tls_key)
        for p in (cert, key):
            if not p.is_file():
                raise ApiServerError(f"api TLS file {p} does not exist")
        return cert, key
    pki = Path(state_dir) / "pki"
    ca = CertificateAuthority.load_or_create(pki)
    ca.ensure_server_cert()
    return pki / "server.crt", pki / "server.key"


class ApiServer:
    """uvicorn serving ``app`` on ``listen`` with TLS; :meth:`start` returns once it accepts."""

    def __init__(
        self,
        app: FastAPI,
        listen: str,
        certfile: Path | str,
        keyfile: Path | str,
        *,
        trusted_proxies: Sequence[str] = (),
        request_head_timeout_s: float = 10.0,
    ) -> None:
        self.app = app
        self.trusted_proxies = list(trusted_proxies)
        self.request_head_timeout_s = request_head_timeout_s
        self.host, self._port = split_listen(listen)
        self.certfile, self.keyfile = str(certfile), str(keyfile)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"https://{host}:{self._port}"

    def start(self, timeout_s: float = 10.0) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self._port))
        except OSError as exc:
            sock.close()
            raise ApiServerError(
                f"api cannot listen on {self.host}:{self._port}: {exc.strerror}"
            ) from None
        self._port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(
            self.app,
            ssl_certfile=self.certfile,
            ssl_keyfile=self.keyfile,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http=head_bounded_h11(self.request_head_timeout_s),
            # Live-update streams never end by themselves; do not wait long for them at stop.
            timeout_graceful_shutdown=1,
            # The client address throttles logins and goes to the audit log, so it is taken from
            # X-Forwarded-For only when a configured proxy sent the request (uvicorn would
            # otherwise believe any local process).
            proxy_headers=bool(self.trusted_proxies),
            forwarded_allow_ips=self.trusted_proxies or None,
        )
        try:
            config.load()
        except (OSError, ValueError) as exc:
            sock.close()
            raise ApiServerError(f"api TLS setup failed: {exc}") from None
        assert config.ssl is not None
        # Explicit, not left to the system's OpenSSL policy, which may still allow TLS 1.0/1.1.
        config.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="aurora-api", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ApiServerError(f"api server did not start on {self.url}")
            time.sleep(0.02)
        log.info("api listening on %s", self.url)

    def stop(self) -> None:
        ctx = getattr(self.app.state, "aurora", None)
        if ctx is not None:
            ctx.stopping.set()  # ends live-update streams, so uvicorn need not wait for them
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        if ctx is not None:
            ctx.close()
        self._server = self._thread = self._sock = None


def start_api(
    store: Store,
    config: AuroraConfig,
    state_dir: Path,
    *,
    bus: Bus,
    engine: Any | None = None,
) -> tuple[ApiServer, str | None]:
    """What `aurora collector` and `aurora run` call: ensure the first admin, build the app over
    the collector's ``store`` and ``bus`` (its live updates come from that bus), serve it on
    ``[api] listen``. Returns the server and, on the very first start only,
    the first admin's password (the caller prints it once)."""
    from aurora.api.app import create_app
    from aurora.api.bootstrap import ensure_first_admin
    from aurora.collector.store import open_accounts

    accounts = open_accounts(Path(state_dir), config.collector.store)
    password = ensure_first_admin(accounts)
    app = create_app(store, config, state_dir, engine=engine, accounts=accounts, bus=bus)
    app.state.aurora.owns_accounts = True
    server = ApiServer(
        app,
        config.api.listen,
        *tls_files(config.api, state_dir),
        trusted_proxies=config.api.trusted_proxies,
        request_head_timeout_s=config.api.request_head_timeout_s,
    )
    try:
        server.start()
    except BaseException:
        accounts.close()
        raise
    return server, password
