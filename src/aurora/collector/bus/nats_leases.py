"""Which worker owns which partition of the batch stream: leases in a JetStream key-value bucket.

Each partition has one key; a worker holds it by creating it (only one create succeeds) and
keeps it by updating it against its revision before the bucket's TTL removes it. Every worker
also keeps a presence key, so each knows how many share the work and claims only its fair share;
a worker that dies stops renewing, its keys expire, and the others take its partitions.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass, field

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError
from nats.js.kv import KeyValue

log = logging.getLogger("aurora.collector.bus")

BUCKET = "aurora_partitions"


@dataclass
class LeaseBook:
    """What this worker holds: partition -> revision of its key."""

    worker_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    held: dict[int, int] = field(default_factory=dict)


class PartitionLeases:
    """Claim, renew and release partition keys; the caller starts and stops the consumers."""

    def __init__(self, kv: KeyValue, partitions: int, book: LeaseBook | None = None) -> None:
        self.kv = kv
        self.partitions = partitions
        self.book = book or LeaseBook()
        self._presence_rev: int | None = None

    @staticmethod
    def key(partition: int) -> str:
        return f"p{partition}"

    async def renew(self) -> list[int]:
        """Renew every held lease; the partitions whose lease was lost (expired while this
        worker stalled, and taken by another) are returned and no longer held."""
        await self._announce()
        lost = []
        for p, rev in list(self.book.held.items()):
            try:
                self.book.held[p] = await self.kv.update(self.key(p), self._me(), last=rev)
            except (KeyWrongLastSequenceError, KeyNotFoundError):
                lost.append(p)
                del self.book.held[p]
        return lost

    async def fair_share(self) -> int:
        workers = await self._live_workers()
        return math.ceil(self.partitions / max(1, workers))

    async def claim(self, limit: int) -> list[int]:
        """Take free partitions until ``limit`` are held; returns the new ones."""
        taken = []
        for p in range(self.partitions):
            if len(self.book.held) >= limit:
                break
            if p in self.book.held:
                continue
            try:
                self.book.held[p] = await self.kv.create(self.key(p), self._me())
            except KeyWrongLastSequenceError:
                continue  # another worker holds it
            taken.append(p)
        return taken

    def surplus(self, limit: int) -> list[int]:
        """Partitions over ``limit``: released so that a newly arrived worker gets its share."""
        return sorted(self.book.held)[limit:]

    async def release(self, partition: int) -> None:
        rev = self.book.held.pop(partition, None)
        if rev is None:
            return
        try:
            await self.kv.delete(self.key(partition), last=rev)
        except (KeyWrongLastSequenceError, KeyNotFoundError) as exc:
            log.debug("releasing partition %d: %s", partition, exc)

    async def release_all(self) -> None:
        for p in list(self.book.held):
            await self.release(p)
        try:
            await self.kv.delete(f"w-{self.book.worker_id}")
        except Exception as exc:  # shutting down: the presence key expires on its own anyway
            log.debug("removing presence key: %s", exc)

    def _me(self) -> bytes:
        return self.book.worker_id.encode()

    async def _announce(self) -> None:
        self._presence_rev = await self.kv.put(f"w-{self.book.worker_id}", b"1")

    async def _live_workers(self) -> int:
        try:
            keys = await self.kv.keys()
        except NoKeysError:
            return 1
        return sum(1 for k in keys if k.startswith("w-")) or 1
