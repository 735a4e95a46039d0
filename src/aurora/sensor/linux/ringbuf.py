"""Read BPF ring buffers straight from their shared memory, without libbpf's callback per record.

libbpf's ring_buffer__poll calls back into Python once per record through ctypes, which costs
more than decoding the record. The ring layout is kernel ABI (see kernel/bpf/ringbuf.c): a
consumer page we write, then a producer page and the data area mapped twice in a row so a record
never wraps. Each record starts with an 8-byte header (length with BUSY/DISCARD bits, page
offset) and is padded to 8 bytes. x86-64's ordering of plain loads and stores is strong enough
for this single-consumer protocol, which is the only architecture bpf/Makefile targets.
"""

from __future__ import annotations

import mmap
import select
import struct

_BUSY = 1 << 31
_DISCARD = 1 << 30
_LEN = _DISCARD - 1
_HDR = 8
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
PAGE = mmap.PAGESIZE
# Records taken from one ring per poll. A full 4 MiB process ring holds ~9,000 exec records of a
# few hundred bytes; normalised all at once they cost ~25 MB of Python objects.
POLL_BATCH = 512


class Ring:
    """One ring buffer map, consumed from Python."""

    def __init__(self, map_fd: int, size: int) -> None:
        self.fd = map_fd
        self.mask = size - 1
        self._cons = mmap.mmap(map_fd, PAGE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self._prod = mmap.mmap(
            map_fd, PAGE + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=PAGE
        )
        self._data = memoryview(self._prod)[PAGE:]

    def drain(self, out: list[bytes], limit: int = 1 << 62) -> int:
        """Append complete records to ``out``, at most ``limit`` of them; returns how many."""
        cons = _U64.unpack_from(self._cons, 0)[0]
        prod = _U64.unpack_from(self._prod, 0)[0]
        data, mask, n = self._data, self.mask, 0
        header, append = _U32.unpack_from, out.append
        while cons < prod and n < limit:
            off = cons & mask
            length = header(data, off)[0]
            if length & _BUSY:  # the producer has not committed this one yet
                break
            size = length & _LEN
            if not length & _DISCARD:
                # Copied out before the consumer position moves past it: from then on the
                # producer may reuse the space.
                off += _HDR
                append(data[off : off + size].tobytes())
                n += 1
            cons += (size + _HDR + 7) & ~7
        _U64.pack_into(self._cons, 0, cons)
        return n

    def produced(self) -> int:
        """The producer position: how many bytes the kernel has ever written into this ring."""
        return int(_U64.unpack_from(self._prod, 0)[0])

    def close(self) -> None:
        self._data.release()
        self._prod.close()
        self._cons.close()


class Rings:
    """Several rings behind one epoll: wait once, drain them all."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._rings: list[Ring] = []

    def add(self, map_fd: int, size: int) -> None:
        ring = Ring(map_fd, size)
        self._epoll.register(map_fd, select.EPOLLIN)
        self._rings.append(ring)

    def produced(self) -> list[int]:
        """Each ring's producer position, in the order the rings were added."""
        return [ring.produced() for ring in self._rings]

    def poll(self, timeout_ms: int, out: list[bytes]) -> int:
        """Wait up to ``timeout_ms`` for a wakeup, then drain every ring (programs wake us only
        when a ring fills up, so records below that mark are collected here too), at most
        :data:`POLL_BATCH` records from each: the batch is normalised whole before the next, so
        this bounds the sensor's memory; records left behind keep the ring readable and the
        next poll returns at once."""
        if not self._rings:
            return 0
        self._epoll.poll(timeout_ms / 1000 if timeout_ms > 0 else 0)  # retried on EINTR
        return sum(ring.drain(out, POLL_BATCH) for ring in self._rings)

    def close(self) -> None:
        for ring in self._rings:
            ring.close()
        self._rings.clear()
        self._epoll.close()
