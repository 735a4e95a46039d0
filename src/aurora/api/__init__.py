"""REST API and web console: FastAPI over the collector's store, with accounts and audit.

``create_app`` builds the application, :class:`~aurora.api.server.ApiServer` serves it over
HTTPS, :func:`~aurora.api.bootstrap.ensure_first_admin` creates the first admin.
"""

from aurora.api.app import create_app

__all__ = ["create_app"]
