"""Enrollment.Enroll: trade a token and a CSR for a short-lived client certificate and a sensor id.

The CSR is checked before the token is counted, so a malformed request does not burn a use of a
single-use token. The sensor id is chosen here (a random UUID), never by the sensor.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from typing import Any

import grpc

from aurora.collector.pki import CertificateAuthority, PKIError
from aurora.collector.store.base import HostRecord, Store, TokenRejected
from aurora.collector.tokens import hash_token
from aurora.v1 import enrollment_pb2, enrollment_pb2_grpc

log = logging.getLogger("aurora.collector.enroll")


class EnrollmentService(enrollment_pb2_grpc.EnrollmentServicer):  # type: ignore[misc]
    def __init__(
        self,
        store: Store,
        ca: CertificateAuthority,
        cert_lifetime: dt.timedelta,
        advertised_endpoints: tuple[str, ...] = (),
        release_public_key: bytes = b"",
    ) -> None:
        self.store = store
        self.ca = ca
        self.cert_lifetime = cert_lifetime
        self.advertised_endpoints = advertised_endpoints
        # Pinned by every sensor enrolled from now on; only packages it signed will install.
        self.release_public_key = release_public_key

    async def Enroll(
        self, request: enrollment_pb2.EnrollRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> enrollment_pb2.EnrollResponse:
        try:
            return await asyncio.to_thread(self._enroll, request, context.peer())
        except _Abort as exc:
            await context.abort(exc.code, exc.details)
            raise  # abort() raises; this keeps the type checker informed

    def _enroll(
        self, request: enrollment_pb2.EnrollRequest, peer: str
    ) -> enrollment_pb2.EnrollResponse:
        sensor_id = str(uuid.uuid4())
        try:
            issued = self.ca.issue_sensor_cert(request.csr_pem, sensor_id, self.cert_lifetime)
        except PKIError as exc:
            log.warning("enrolment refused (%s): %s", peer, exc.message)
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, exc.message) from None
        now = int(time.time() * 1000)
        try:
            self.store.consume_token(hash_token(request.token), now)
        except TokenRejected as exc:
            log.warning("enrolment refused (%s): %s", peer, exc.reason)
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, exc.message) from None
        h = request.host
        self.store.register_host(
            HostRecord(
                sensor_id=sensor_id,
                hostname=h.hostname,
                os_name=h.os_name,
                os_version=h.os_version,
                kernel_version=h.kernel_version,
                arch=h.arch,
                sensor_version=h.sensor_version,
                machine_id=h.machine_id,
                ip_addresses=tuple(h.ip_addresses),
                enrolled_ms=now,
                last_seen_ms=now,
                cert_not_after_ms=issued.not_after_ms,
            )
        )
        log.info("enrolled sensor %s (host %s)", sensor_id, h.hostname or "?")
        return enrollment_pb2.EnrollResponse(
            sensor_id=sensor_id,
            client_cert_pem=issued.pem,
            ca_chain_pem=[self.ca.cert_pem],
            collector_endpoint=next(iter(self.advertised_endpoints), ""),
            collector_endpoints=self.advertised_endpoints,
            cert_not_after_unix_ms=issued.not_after_ms,
            release_public_key=self.release_public_key,
        )


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
