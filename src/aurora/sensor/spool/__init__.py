"""The sensor's offline spool: segment files on disk with sequence numbers, acks and loss counts."""

from aurora.sensor.spool.ledger import DROP_KINDS, DropLedger
from aurora.sensor.spool.spool import Spool
from aurora.sensor.spool.status import SpoolBatch, SpoolStatus

__all__ = ["DROP_KINDS", "DropLedger", "Spool", "SpoolBatch", "SpoolStatus"]
