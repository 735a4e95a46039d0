"""REST API and web console: FastAPI over the collector's store, with accounts and audit.

``create_app`` builds the application, :class:`~aurora.api.server.ApiServer` serves it over
HTTPS, :func:`~aurora.api.bootstrap.ensure_first_admin` creates the first admin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aurora.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Imported on first use: importing any aurora.api submodule (the CLI does, for its argument
    # helpers) would otherwise load FastAPI and every route, about a second per `aurora` call.
    if name == "create_app":
        from aurora.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
