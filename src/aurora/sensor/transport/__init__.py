"""The sensor's side of the wire: one mTLS gRPC stream to the collector, fed from the spool.

``Transport`` (client.py) owns reconnection and certificate renewal, ``Session`` (session.py) one
stream, ``CommandRunner`` (commands.py) the response commands that arrive on it; contract.py
holds what the two share (settings, counters, the ``SessionOwner`` protocol).
"""

from aurora.sensor.transport.client import Transport
from aurora.sensor.transport.commands import CommandRunner
from aurora.sensor.transport.contract import Counters, TransportSettings
from aurora.sensor.transport.errors import CertificateExpired, SensorRevoked, TransportConnectError

__all__ = [
    "CertificateExpired",
    "CommandRunner",
    "Counters",
    "SensorRevoked",
    "Transport",
    "TransportConnectError",
    "TransportSettings",
]
