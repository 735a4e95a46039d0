"""The offline spool: a bounded, crash-safe queue of events on disk (the seed's ring buffer).

Every event gets a persistent, consecutive sequence number as it is appended and stays on disk
until the collector acknowledges it. Events live in segment files so that trimming is a file
deletion: acknowledged segments are removed, and when the bound is reached the oldest segment is
evicted whether acknowledged or not, its unsent events counted. Damage found while reading (a
torn or corrupt record, a truncated or missing file) is skipped and its sequence numbers counted
as lost. Loss counts wait in a :class:`DropLedger` until a batch carries them to the collector.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aurora.sensor.spool.files import Segment, SegmentFiles
from aurora.sensor.spool.ledger import DropLedger, SpoolState, StateFile
from aurora.sensor.spool.recovery import recover_tail
from aurora.sensor.spool.segment import (
    SEGMENT_HEADER,
    Damage,
    SegmentReader,
    encode_record,
    header_ok,
)
from aurora.sensor.spool.status import SpoolBatch, SpoolStatus

log = logging.getLogger(__name__)

STATE_FILE = "spool.state"
MIN_SEGMENT_BYTES = 64 * 1024
MAX_SEGMENT_BYTES = 16 * 1024 * 1024
_SAVE_INTERVAL_S = 1.0


@dataclass
class _Cursor:
    first_seq: int  # of the segment being read
    offset: int
    expected: int  # the sequence number the next record should carry


class Spool:
    """Thread-safe: one thread appends while another reads and acknowledges."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        *,
        segment_bytes: int | None = None,
        fsync: bool = True,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(
            MIN_SEGMENT_BYTES, min(MAX_SEGMENT_BYTES, max_bytes // 16)
        )
        self._lock = threading.Lock()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        self._state_file = StateFile(directory / STATE_FILE, fsync)
        self._state: SpoolState = self._state_file.load()
        self._append_error = ""
        self.ledger = DropLedger()
        for kind, n in self._state.unreported.items():
            self.ledger.pending[kind] = n
        self._files = SegmentFiles(directory, fsync)
        self._cursor: _Cursor | None = None
        self._recover()

    @property
    def _segments(self) -> list[Segment]:
        return self._files.segments

    # ----------------------------------------------------------------- recovery
    def _recover(self) -> None:
        self._files.load()
        next_seq = max(self._state.next_seq, self._state.acked_through + 1)
        if self._segments:
            newest = self._segments[-1]
            last_seq = self._recover_tail(newest)
            next_seq = max(next_seq, last_seq + 1, newest.first_seq)
        self._state.next_seq = next_seq
        self._drop_acked_segments()
        self._save()

    def _recover_tail(self, seg: Segment) -> int:
        tail = recover_tail(self._files, seg)
        self.ledger.add("spool_corrupt", tail.lost)
        if tail.torn:
            self._state.loss_counted_through = max(
                self._state.loss_counted_through, tail.last_seq + 1
            )
        return tail.last_seq

    # ------------------------------------------------------------------ writing
    def append(self, events: Sequence[bytes]) -> int:
        """Store events durably; returns the sequence number given to the first one.

        All or nothing: when the disk fails part-way (ENOSPC, EIO) whatever this call wrote is
        taken back before the OSError propagates, so no sequence number is ever on disk twice.
        """
        with self._lock:
            first = self._state.next_seq
            active = self._files.writable
            size = active.size if active else 0
            try:
                self._append(events, first)
            except OSError:
                self._files.rollback(first, active, size)
                if self._cursor is not None and self._cursor.expected >= first:
                    self._cursor = None
                raise
            self._state.next_seq = first + len(events)
            return first

    def append_or_count(self, events: Sequence[bytes]) -> bool:
        """Store events, or, when the disk refuses them (full, failing), count them as lost.

        The sensor keeps running either way: losing these events is better than stopping, which
        would lose every event after them too. The loss travels to the collector as
        ``spool_evicted`` (the spool could not keep them), and the first failure and the
        recovery are each logged once.
        """
        try:
            self.append(events)
        except OSError as exc:
            with self._lock:
                self.ledger.add("spool_evicted", len(events))
                if not self._append_error:
                    log.error(
                        "spool write failed, events are being lost and counted: %s",
                        exc.strerror or exc,
                    )
                self._append_error = exc.strerror or str(exc)
            return False
        if self._append_error:
            log.info("spool writes work again")
            self._append_error = ""
        return True

    def _append(self, events: Sequence[bytes], first: int) -> None:
        files = self._files
        seq = first
        run: list[bytes] = []
        run_bytes = 0
        for payload in events:
            rec = encode_record(seq, payload)
            active = files.writable
            if active is None or active.size + run_bytes + len(rec) > self.segment_bytes:
                files.write(run)
                run, run_bytes = [], 0
                if active is None or not active.empty:
                    files.rotate(seq)
            while files.total_bytes + run_bytes + len(rec) > self.max_bytes:
                if not self._evict_oldest():
                    break
            run.append(rec)
            run_bytes += len(rec)
            seq += 1
        files.write(run)
        files.sync()

    def _evict_oldest(self) -> bool:
        if len(self._segments) < 2:
            return False
        seg, end = self._segments[0], self._segments[1].first_seq
        start = max(seg.first_seq, self._state.acked_through + 1, self._state.loss_counted_through)
        lost = max(0, end - start)
        if lost:
            self.ledger.add("spool_evicted", lost)
            log.warning("spool full: evicted %d unsent events (seq %d-%d)", lost, start, end - 1)
        self._state.loss_counted_through = max(self._state.loss_counted_through, end)
        self._remove_first()
        self._save()
        return True

    def _remove_first(self) -> None:
        seg = self._files.remove_first()
        if self._cursor is not None and self._cursor.first_seq == seg.first_seq:
            self._cursor = None

    # ------------------------------------------------------------------ reading
    def read(
        self, from_seq: int, max_events: int, max_bytes: int = 8 * 1024 * 1024
    ) -> SpoolBatch | None:
        """The next run of consecutive events at or after ``from_seq`` (None when caught up).

        A run stops before a gap, so a batch always covers consecutive sequence numbers; the gap's
        events are counted as lost (once) when it is first seen.
        """
        with self._lock:
            from_seq = max(from_seq, self._state.acked_through + 1)
            if from_seq >= self._state.next_seq or not self._segments:
                return None
            cur = self._position(from_seq)
            out: list[bytes] = []
            size = 0
            first = 0
            while cur is not None and len(out) < max_events and size < max_bytes:
                idx = self._files.index_of(cur.first_seq)
                if idx is None:
                    cur = self._locate(cur.expected)
                    continue
                seg = self._segments[idx]
                if cur.offset == 0:
                    cur.offset = self._check_header(seg)
                if cur.offset >= seg.size:
                    if idx + 1 >= len(self._segments):
                        break  # caught up with the writer
                    nxt = self._segments[idx + 1].first_seq
                    if not out or nxt == cur.expected:
                        cur = _Cursor(nxt, 0, cur.expected)
                        continue
                    break
                items, new_off = SegmentReader(seg.path, seg.first_seq).read_from(
                    cur.offset, seg.size, max_events - len(out)
                )
                stop = False
                for item in items:
                    if isinstance(item, Damage):
                        log.warning(
                            "spool: damaged bytes %d-%d in %s skipped",
                            item.start,
                            item.end,
                            seg.path.name,
                        )
                        cur.offset = item.end
                        continue
                    if item.seq < max(cur.expected, from_seq):
                        cur.offset = item.end
                        cur.expected = max(cur.expected, item.seq + 1)
                        continue
                    if item.seq > cur.expected:
                        self._count_loss(cur.expected, item.seq)
                        if out:
                            stop = True  # the batch ends before the gap
                            break
                        cur.expected = item.seq
                    if not out:
                        first = item.seq
                    out.append(item.payload)
                    size += len(item.payload)
                    cur.offset = item.end
                    cur.expected = item.seq + 1
                    if len(out) >= max_events or size >= max_bytes:
                        stop = True
                        break
                if not items:
                    cur.offset = new_off
                if stop:
                    break
            self._cursor = cur
            return SpoolBatch(first, out) if out else None

    def _position(self, from_seq: int) -> _Cursor | None:
        cur = self._cursor
        if (
            cur is not None
            and cur.expected == from_seq
            and self._files.index_of(cur.first_seq) is not None
        ):
            return cur
        return self._locate(from_seq)

    def _locate(self, seq: int) -> _Cursor | None:
        if not self._segments:
            return None
        seg = self._segments[self._files.holding(seq)]
        if seq < seg.first_seq:
            # Everything before the oldest segment is gone (evicted or acknowledged).
            self._count_loss(seq, seg.first_seq)
            seq = seg.first_seq
        return _Cursor(seg.first_seq, 0, seq)

    def _check_header(self, seg: Segment) -> int:
        try:
            with seg.path.open("rb") as fh:
                head = fh.read(SEGMENT_HEADER.size)
        except FileNotFoundError:
            head = b""
        if header_ok(head):
            return SEGMENT_HEADER.size
        log.warning("spool: segment %s is missing or has a bad header, skipped", seg.path.name)
        return seg.size  # nothing in it can be trusted

    def _count_loss(self, start: int, end: int) -> None:
        start = max(start, self._state.loss_counted_through, self._state.acked_through + 1)
        if end > start:
            self.ledger.add("spool_corrupt", end - start)
            log.warning("spool: %d events lost to damage (seq %d-%d)", end - start, start, end - 1)
            self._state.loss_counted_through = end
            self._save()

    # ------------------------------------------------------------- acknowledging
    def ack(self, through_seq: int) -> None:
        """The collector has stored everything up to ``through_seq``: let it go."""
        with self._lock:
            through_seq = min(through_seq, self._state.next_seq - 1)
            counts_settled = self.ledger.acked(through_seq)
            if through_seq > self._state.acked_through:
                self._state.acked_through = through_seq
                self._drop_acked_segments()
            # A stale acked_through only means resending what the collector will discard, so
            # the state file is rewritten at most once a second unless loss counts settled.
            if counts_settled or time.monotonic() - self._state_file.saved_at >= _SAVE_INTERVAL_S:
                self._save()

    def _drop_acked_segments(self) -> None:
        # The state goes to disk before any file does: a restart must never mistake an
        # acknowledged, deleted segment for lost data. When the disk refuses the state (full),
        # older acknowledged segments still go, since that is what frees the space, and the
        # collector's Welcome tells a restarted sensor what it holds; but the newest segment
        # stays, because it is what tells a restart which sequence number comes next.
        saved = True
        if self._segments and self._segments[0].first_seq <= self._state.acked_through:
            saved = self._save()
        while (
            len(self._segments) > 1 and self._segments[1].first_seq - 1 <= self._state.acked_through
        ):
            self._remove_first()
        if saved and self._segments and self._state.acked_through >= self._state.next_seq - 1:
            # All delivered: drop the segment being written too (the next append starts a new
            # one), so an idle sensor does not sit on a partly filled segment.
            while self._segments:
                self._remove_first()

    def skip_to(self, seq: int) -> None:
        """Never hand out sequence numbers below ``seq`` (the collector already holds them)."""
        with self._lock:
            if seq > self._state.next_seq:
                self._state.next_seq = seq
                self._state.loss_counted_through = max(self._state.loss_counted_through, seq)
                if self._files.writable is not None:
                    try:
                        self._files.rotate(seq)
                    except OSError as exc:
                        # No segment is open now; the next append opens one at next_seq.
                        log.warning("spool: cannot start a segment at %d: %s", seq, exc)
                self._save()

    # ------------------------------------------------------------------ counters
    def add_drops(self, kind: str, n: int) -> None:
        with self._lock:
            self.ledger.add(kind, n)

    def take_drops(self, batch_last_seq: int) -> dict[str, int]:
        with self._lock:
            return self.ledger.take(batch_last_seq)

    def requeue_drops(self) -> None:
        with self._lock:
            self.ledger.requeue()

    def drop_totals(self) -> dict[str, int]:
        """Losses counted since this process started (for heartbeats)."""
        with self._lock:
            return dict(self.ledger.totals)

    def status(self) -> SpoolStatus:
        with self._lock:
            st = self._state
            return SpoolStatus(
                bytes_used=self._files.total_bytes,
                bytes_max=self.max_bytes,
                events_queued=max(0, st.next_seq - 1 - st.acked_through),
                next_seq=st.next_seq,
                acked_through=st.acked_through,
                disk_error=self._append_error or self._state_file.error,
            )

    def close(self) -> None:
        """Close the files and save the state; a failing disk is logged, never raised."""
        with self._lock:
            try:
                self._files.close()
            except OSError as exc:
                log.error("spool: closing the current segment failed: %s", exc.strerror or exc)
            if not self._save(quiet=True):
                log.error(
                    "spool closed without saving its state (%s); %d lost-event counts not yet "
                    "reported to the collector are forgotten",
                    self._state_file.error,
                    sum(self._state.unreported.values()),
                )

    def _save(self, *, quiet: bool = False) -> bool:
        self._state.unreported = self.ledger.unreported()
        return self._state_file.save(self._state, quiet=quiet)
