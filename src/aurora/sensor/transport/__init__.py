"""The sensor's side of the wire: one mTLS gRPC stream to the collector, fed from the spool.

``Transport`` (link.py) owns reconnection and certificate renewal, ``Session`` (session.py) one
stream, ``CommandRunner`` (commands.py) the response commands that arrive on it.
"""

from aurora.sensor.transport.commands import CommandRunner
from aurora.sensor.transport.errors import CertificateExpired, SensorRevoked, TransportConnectError
from aurora.sensor.transport.link import Counters, Transport, TransportSettings

__all__ = [
    "CertificateExpired",
    "CommandRunner",
    "Counters",
    "SensorRevoked",
    "Transport",
    "TransportConnectError",
    "TransportSettings",
]
