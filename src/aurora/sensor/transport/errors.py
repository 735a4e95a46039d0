"""Typed transport errors (seed: ``transport::TransportError``)."""

from __future__ import annotations

from aurora.errors import AuroraError


class TransportConnectError(AuroraError):
    """The collector is unreachable or refuses mTLS (seed: ``TransportError::Connect``).

    Not fatal: the sensor keeps spooling and retries with backoff. It is logged once per outage.
    """


class SensorRevoked(AuroraError):
    """The collector revoked this sensor (or refuses its identity for good): stop, re-enrol."""

    exit_code = 3


class CertificateExpired(AuroraError):
    """The client certificate expired before it could be renewed: the sensor must re-enrol."""

    exit_code = 3
