"""The mTLS channel to the collector and the reconnection backoff."""

from __future__ import annotations

import random
from dataclasses import dataclass

import grpc

from aurora.sensor.identity import Identity

# Compression choices: batches are zstd-compressed inside the message (see aurora.wire.codec),
# so gRPC-level gzip would only burn CPU on incompressible bytes; "gzip" sends the batch raw and
# lets gRPC compress the whole message instead, for collectors behind proxies that insist on it.
COMPRESSIONS = ("zstd", "gzip", "none")


def channel_options(keepalive_s: float) -> list[tuple[str, int]]:
    ms = int(keepalive_s * 1000)
    return [
        ("grpc.keepalive_time_ms", ms),
        ("grpc.keepalive_timeout_ms", max(1000, ms // 3)),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        # Batches may be large; the collector enforces its own, smaller limit.
        ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
        # Our own backoff decides when to retry; gRPC's must not stack on top of it.
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
        ("grpc.enable_retries", 0),
    ]


def open_channel(
    identity: Identity, endpoint: str, keepalive_s: float, compression: str
) -> grpc.Channel:
    creds = grpc.ssl_channel_credentials(
        root_certificates=identity.ca_pem,
        private_key=identity.key_pem,
        certificate_chain=identity.cert_pem,
    )
    comp = grpc.Compression.Gzip if compression == "gzip" else grpc.Compression.NoCompression
    return grpc.secure_channel(
        endpoint, creds, options=channel_options(keepalive_s), compression=comp
    )


@dataclass
class Backoff:
    """Exponential backoff with "equal jitter": half the delay fixed, half random, so a fleet
    that lost its collector at the same moment does not come back in lockstep."""

    minimum_s: float
    maximum_s: float
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum_s, self.minimum_s * (2**self.attempt))
        self.attempt = min(self.attempt + 1, 32)
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))

    def reset(self) -> None:
        self.attempt = 0
