"""[api] section: the REST API and web console."""

from pydantic import Field

from aurora.config.base import Section


class ApiConfig(Section):
    listen: str = Field(default="127.0.0.1:8443", pattern=r"^\[?[0-9A-Za-z.:_-]*\]?:\d{1,5}$")
