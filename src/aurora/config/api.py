"""[api] section: the REST API and web console."""

import ipaddress

from pydantic import Field, field_validator, model_validator

from aurora.config.base import Section


class ApiConfig(Section):
    listen: str = Field(default="127.0.0.1:8443", pattern=r"^\[?[0-9A-Za-z.:_-]*\]?:\d{1,5}$")
    # Both empty: a certificate issued by the collector CA (<state>/pki/server.crt).
    tls_cert: str = ""
    tls_key: str = ""
    session_ttl_s: int = Field(default=8 * 3600, ge=60, le=30 * 86400)
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_window_s: int = Field(default=300, ge=1, le=86400)
    max_rule_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024**2)
    # Seconds a client has to send a complete request head once connected (and after each
    # response), so idle or slow connections cannot pile up.
    request_head_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # Addresses or networks of reverse proxies whose X-Forwarded-For names the real client.
    # Empty: the header is ignored, so a client cannot choose the address it is throttled by.
    trusted_proxies: list[str] = Field(default_factory=list, max_length=100)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> "ApiConfig":
        # One without the other would silently fall back to the CA certificate; refuse instead.
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key must be set together")
        return self
