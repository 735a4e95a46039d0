"""Refuse a damaged SQLite database or write-ahead log before SQLite itself touches it.

SQLite silently ignores (and then resets) a WAL whose header is invalid, which would throw away
every transaction in it; and a truncated database may open fine and fail much later. Both are
checked from their headers at open, cheaply, so the collector stops with a message that names
the file and says what to do instead of losing data quietly.
"""

from __future__ import annotations

import struct
from pathlib import Path

_DB_MAGIC = b"SQLite format 3\x00"
_DB_HEADER = 100
_WAL_MAGICS = (0x377F0682, 0x377F0683)  # little- and big-endian checksums
_WAL_VERSION = 3007000
_WAL_HEADER = 32


class DamagedDatabase(Exception):
    """One of the database's files fails its header check; ``path`` names it."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"{path} {detail}")
        self.path = path
        self.detail = detail


def advice(db: Path) -> str:
    """What an operator does about a damaged database: the same words wherever it is reported."""
    return (
        f"restore {db.name} from a backup, or move {db.name} and its -wal/-shm files out of "
        f"{db.parent} to start with an empty database"
    )


def check_database_files(db: Path) -> None:
    """Raise DamagedDatabase when ``db`` or its ``-wal`` is not what SQLite wrote."""
    wal = db.with_name(db.name + "-wal")
    wal_in_use = wal.exists() and wal.stat().st_size >= _WAL_HEADER
    if db.exists() and db.stat().st_size > 0:
        _check_db(db, wal_in_use)
    if wal_in_use:
        _check_wal(wal)


def _read_head(path: Path, size: int) -> bytes:
    with path.open("rb") as fh:
        return fh.read(size)


def _page_size(raw: int) -> int:
    return 65536 if raw == 1 else raw


def _check_db(db: Path, wal_in_use: bool) -> None:
    head = _read_head(db, _DB_HEADER)
    if len(head) < _DB_HEADER or not head.startswith(_DB_MAGIC):
        raise DamagedDatabase(db, "is not an SQLite database file")
    page_size = _page_size(struct.unpack_from(">H", head, 16)[0])
    change_counter, pages = struct.unpack_from(">II", head, 24)
    (valid_for,) = struct.unpack_from(">I", head, 92)
    # The page count in the header is only trustworthy when SQLite says so (valid_for), and
    # with a live WAL a crash mid-checkpoint may leave the file short until the WAL replays.
    size = db.stat().st_size
    if change_counter == valid_for and not wal_in_use and size < pages * page_size:
        raise DamagedDatabase(
            db, f"is truncated ({size} bytes where its header promises {pages * page_size})"
        )


def _wal_checksum(data: bytes, big_endian: bool) -> tuple[int, int]:
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    s0 = s1 = 0
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def _check_wal(wal: Path) -> None:
    head = _read_head(wal, _WAL_HEADER)
    magic, version, page_size = struct.unpack_from(">III", head, 0)
    if magic not in _WAL_MAGICS or version != _WAL_VERSION:
        raise DamagedDatabase(wal, "is not a valid write-ahead log (SQLite would discard it)")
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        raise DamagedDatabase(wal, f"names an impossible page size {page_size} in its header")
    if _wal_checksum(head[:24], magic & 1 == 1) != struct.unpack_from(">II", head, 24):
        raise DamagedDatabase(wal, "has a header checksum that does not match (damaged)")
