"""What the spool finds at start: the newest segment's torn tail cut off, and what that cost.

Only the newest segment can hold a torn write (older ones were complete before the next one was
started), so recovery reads just that one and reports the last good sequence number there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aurora.sensor.spool.files import Segment, SegmentFiles
from aurora.sensor.spool.segment import SEGMENT_HEADER, Record, header_ok, scan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TailRecovery:
    last_seq: int  # the last good sequence number in the segment (first_seq - 1 when none)
    lost: int  # events to count as corrupt
    torn: bool  # a torn tail was cut off (rather than the whole segment dropped)


def recover_tail(files: SegmentFiles, seg: Segment) -> TailRecovery:
    """Cut a torn tail off ``seg`` (the newest segment), or drop it when its header is bad."""
    data = seg.path.read_bytes()
    if not header_ok(data):
        log.warning("spool: segment %s has no valid header, discarding it", seg.path.name)
        files.drop_last()
        return TailRecovery(seg.first_seq - 1, 1 if data else 0, False)
    last_seq = seg.first_seq - 1
    good_end = SEGMENT_HEADER.size
    torn = False
    for item in scan(data[SEGMENT_HEADER.size :], SEGMENT_HEADER.size):
        if isinstance(item, Record):
            last_seq, good_end, torn = item.seq, item.end, False
        else:
            torn = True
    if not torn:
        return TailRecovery(last_seq, 0, False)
    # Only unsynced writes can be torn; how many events they held is unknowable, so at least
    # one is counted.
    log.warning("spool: torn tail in %s cut at byte %d", seg.path.name, good_end)
    files.truncate(seg, good_end)
    return TailRecovery(last_seq, 1, True)
