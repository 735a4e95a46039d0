"""The named-pipe seam for Windows plugins: the same framing as the Unix socket, with the peer
checked by the pipe's ACL (the manifest's account) and the client image path hashed
(``GetNamedPipeClientProcessId`` + ``QueryFullProcessImageNameW``).

Not built yet: it lands with the Windows sensor. The host asks :func:`listen_pipe` on Windows,
which says so in one line instead of falling back to anything less checked.
"""

from __future__ import annotations

from typing import NoReturn

from aurora.errors import AuroraError

PIPE_NAME = r"\\.\pipe\aurora-plugins"


class NamedPipeUnavailable(AuroraError):
    """The Windows named-pipe transport for plugins is not part of this build."""


def listen_pipe(name: str = PIPE_NAME) -> NoReturn:
    raise NamedPipeUnavailable(
        f"plugin named pipe {name} is not implemented in this sensor build; "
        "plugins are served over a Unix socket on Linux only"
    )
