"""On-disk framing of spool segments: a file header, then length- and CRC-framed records.

A segment file is ``<first_seq>.seg``: an 16-byte header (magic, first sequence number) followed
by records. Each record carries its own sequence number, length and CRC32, so a reader can tell a
torn write or a flipped bit from good data, and can resynchronise on the next record's magic to
find out exactly how many sequence numbers were lost.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SEGMENT_MAGIC = b"AURSPL01"
SEGMENT_HEADER = struct.Struct("<8sQ")
# magic, payload length, crc32, sequence number
RECORD_HEADER = struct.Struct("<HIIQ")
RECORD_MAGIC = 0xA55A
RECORD_MAGIC_BYTES = struct.pack("<H", RECORD_MAGIC)
MAX_RECORD_BYTES = 16 * 1024 * 1024
SEGMENT_SUFFIX = ".seg"
_READ_CHUNK = 1024 * 1024
_LEN_SEQ = struct.Struct("<IQ")


def segment_name(first_seq: int) -> str:
    # Zero-padded so that a directory listing sorts in sequence order.
    return f"{first_seq:020d}{SEGMENT_SUFFIX}"


def parse_segment_name(path: Path) -> int | None:
    """The first sequence number encoded in a segment's file name, or None for a foreign file."""
    if path.suffix != SEGMENT_SUFFIX or not path.stem.isdigit():
        return None
    return int(path.stem)


def _crc(seq: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(_LEN_SEQ.pack(len(payload), seq)))


def encode_header(first_seq: int) -> bytes:
    return SEGMENT_HEADER.pack(SEGMENT_MAGIC, first_seq)


def encode_record(seq: int, payload: bytes) -> bytes:
    if len(payload) > MAX_RECORD_BYTES:
        raise ValueError(f"spool record of {len(payload)} bytes exceeds {MAX_RECORD_BYTES}")
    return RECORD_HEADER.pack(RECORD_MAGIC, len(payload), _crc(seq, payload), seq) + payload


@dataclass(frozen=True)
class Record:
    seq: int
    payload: bytes
    end: int  # file offset just past this record


@dataclass(frozen=True)
class Damage:
    """Bytes between ``start`` and ``end`` that hold no valid record."""

    start: int
    end: int


def header_ok(data: bytes) -> bool:
    if len(data) < SEGMENT_HEADER.size:
        return False
    magic, _ = SEGMENT_HEADER.unpack_from(data)
    return bool(magic == SEGMENT_MAGIC)


def _record_at(buf: bytes, pos: int) -> tuple[int, bytes, int] | None:
    """(seq, payload, end) of the valid record starting exactly at ``pos`` in ``buf``, if there
    is a complete one. A plain tuple: this runs once per event on the delivery path."""
    if pos + RECORD_HEADER.size > len(buf):
        return None
    magic, length, crc, seq = RECORD_HEADER.unpack_from(buf, pos)
    if magic != RECORD_MAGIC or length > MAX_RECORD_BYTES:
        return None
    start = pos + RECORD_HEADER.size
    end = start + length
    if end > len(buf):
        return None
    payload = buf[start:end]
    if _crc(seq, payload) != crc:
        return None
    return seq, payload, end


def _resync(buf: bytes, pos: int) -> int | None:
    """Offset of the next valid record after ``pos``, scanning for the record magic."""
    at = pos + 1
    while True:
        at = buf.find(RECORD_MAGIC_BYTES, at)
        if at < 0:
            return None
        if _record_at(buf, at) is not None:
            return at
        at += 1


def scan(buf: bytes, base: int = 0) -> Iterator[Record | Damage]:
    """Every record and every damaged stretch in ``buf`` (which starts at file offset ``base``).

    A complete buffer is assumed: a partial record at the end is reported as damage, so callers
    reading a file still being written must only pass bytes already made durable.
    """
    pos = 0
    while pos < len(buf):
        rec = _record_at(buf, pos)
        if rec is not None:
            yield Record(rec[0], rec[1], rec[2] + base)
            pos = rec[2]
            continue
        nxt = _resync(buf, pos)
        end = len(buf) if nxt is None else nxt
        yield Damage(pos + base, end + base)
        pos = end


class SegmentReader:
    """Sequential reader over one segment file, in chunks, tolerant of damage."""

    def __init__(self, path: Path, first_seq: int) -> None:
        self.path = path
        self.first_seq = first_seq

    def read_from(
        self, offset: int, limit: int, max_records: int
    ) -> tuple[list[Record | Damage], int]:
        """Records and damage from ``offset`` up to ``limit`` bytes into the file.

        Returns the items and the offset the next call should start at. Reads in chunks and stops
        at a record boundary, so no record is split between two calls.
        """
        items: list[Record | Damage] = []
        try:
            # A plain file object rather than os.pread: the agent also runs on Windows.
            fh = self.path.open("rb", buffering=0)
        except FileNotFoundError:
            return [Damage(offset, limit)], limit
        with fh:
            chunk = _READ_CHUNK
            while offset < limit and len(items) < max_records:
                fh.seek(offset)
                buf = fh.read(min(limit - offset, chunk))
                if offset + len(buf) < limit and len(buf) < chunk:
                    # The file is shorter than the caller believed: the rest is gone.
                    items.append(Damage(offset + len(buf), limit))
                    limit = offset + len(buf)
                is_last = offset + len(buf) >= limit
                pos = 0
                while pos < len(buf) and len(items) < max_records:
                    rec = _record_at(buf, pos)
                    if rec is not None:
                        items.append(Record(rec[0], rec[1], rec[2] + offset))
                        pos = rec[2]
                        continue
                    if not is_last:
                        break  # a record straddles the chunk end, or damage: look further
                    nxt = _resync(buf, pos)
                    end = len(buf) if nxt is None else nxt
                    items.append(Damage(pos + offset, end + offset))
                    pos = end
                # Nothing parsed from a partial chunk: a huge record or long damage, read it all.
                chunk = _READ_CHUNK if pos else limit - offset
                offset += pos
            return items, offset
