"""TCP listeners for the isolation tests, one per ``[echo:]HOST:PORT`` argument.

A plain listener answers ``ok`` and closes; an ``echo:`` listener keeps the connection and echoes
what it receives, so a test can check that a connection opened before isolation is cut.
"""

from __future__ import annotations

import selectors
import socket
import sys


def main() -> None:
    sel = selectors.DefaultSelector()
    for spec in sys.argv[1:]:
        echo = spec.startswith("echo:")
        host, port = spec.removeprefix("echo:").rsplit(":", 1)
        host = host.strip("[]")
        srv = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, int(port)))
        srv.listen(64)
        sel.register(srv, selectors.EVENT_READ, ("listen", echo))
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            kind, echo = key.data
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            if kind == "listen":
                conn, _addr = sock.accept()
                if echo:
                    sel.register(conn, selectors.EVENT_READ, ("conn", True))
                else:
                    with conn:
                        conn.sendall(b"ok")
                continue
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if data:
                sock.sendall(data)
            else:
                sel.unregister(sock)
                sock.close()


if __name__ == "__main__":
    main()
