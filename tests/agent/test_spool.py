"""The offline spool on a real filesystem: sequence numbers, acks, restarts, eviction, damage."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import orjson
import pytest

from aurora.sensor.spool import Spool
from aurora.sensor.spool.segment import SEGMENT_HEADER

SEG = 64 * 1024


def ev(i: int, pad: int = 200) -> bytes:
    return orjson.dumps({"class_uid": 1007, "n": i, "pad": "x" * pad})


def drain(spool: Spool, batch: int = 500) -> list[tuple[int, int]]:
    """Read and ack everything; returns (seq, n) pairs in delivery order."""
    out: list[tuple[int, int]] = []
    nxt = 1
    while (b := spool.read(nxt, batch)) is not None:
        for k, raw in enumerate(b.events):
            out.append((b.first_seq + k, orjson.loads(raw)["n"]))
        spool.ack(b.last_seq)
        nxt = b.last_seq + 1
    return out


def segments(d: Path) -> list[Path]:
    return sorted(d.glob("*.seg"))


def test_sequence_numbers_are_consecutive_and_batches_bounded(tmp_path: Path) -> None:
    sp = Spool(tmp_path, 10 * 1024 * 1024, fsync=False)
    assert sp.append([ev(i) for i in range(1, 301)]) == 1
    assert sp.append([ev(i) for i in range(301, 401)]) == 301
    b = sp.read(1, 250)
    assert b is not None and b.first_seq == 1 and len(b.events) == 250
    assert orjson.loads(b.events[-1])["n"] == 250
    assert [n for _, n in drain(sp)] == list(range(1, 401))
    assert sp.read(1, 10) is None
    assert sp.status().events_queued == 0


def test_dir_and_files_are_private(tmp_path: Path) -> None:
    d = tmp_path / "spool"
    sp = Spool(d, 2 * 1024 * 1024, fsync=True)
    sp.append([ev(1)])
    sp.close()
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    for f in d.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_survives_restart_and_keeps_numbering(tmp_path: Path) -> None:
    sp = Spool(tmp_path, 10 * 1024 * 1024, segment_bytes=SEG)
    sp.append([ev(i) for i in range(1, 1001)])
    b = sp.read(1, 400)
    assert b is not None
    sp.ack(b.last_seq)
    sp.close()
    sp2 = Spool(tmp_path, 10 * 1024 * 1024, segment_bytes=SEG)
    assert sp2.status().acked_through == 400
    assert sp2.append([ev(1001)]) == 1001
    got = drain(sp2)
    assert [s for s, _ in got] == list(range(401, 1002))
    assert [n for _, n in got] == list(range(401, 1002))


def test_acked_segments_are_deleted(tmp_path: Path) -> None:
    sp = Spool(tmp_path, 10 * 1024 * 1024, segment_bytes=SEG, fsync=False)
    sp.append([ev(i) for i in range(1, 3001)])
    assert len(segments(tmp_path)) > 5
    before = sp.status().bytes_used
    drain(sp)
    assert segments(tmp_path) == []  # everything delivered: nothing kept
    assert sp.status().bytes_used == 0 < before
    assert sp.append([ev(3001)]) == 3001  # numbering survives the empty spool
    sp.close()
    assert Spool(tmp_path, 10 * 1024 * 1024).append([ev(3002)]) == 3002


def test_full_spool_evicts_oldest_and_counts(tmp_path: Path) -> None:
    bound = 1024 * 1024
    sp = Spool(tmp_path, bound, segment_bytes=SEG, fsync=False)
    for start in range(1, 20001, 1000):
        sp.append([ev(i) for i in range(start, start + 1000)])
        assert sp.status().bytes_used <= bound
    got = drain(sp)
    ns = [n for _, n in got]
    assert ns[-1] == 20000
    assert ns == list(range(ns[0], 20001))  # the newest, without holes
    evicted = ns[0] - 1
    assert evicted > 10000
    drops = sp.take_drops(20000)
    assert drops["spool_evicted"] == evicted
    assert drops["spool_corrupt"] == 0


def test_unsent_counts_survive_restart_and_requeue(tmp_path: Path) -> None:
    sp = Spool(tmp_path, 1024 * 1024, segment_bytes=SEG, fsync=False)
    sp.append([ev(i) for i in range(1, 10001)])
    evicted = sp.take_drops(0)["spool_evicted"]
    assert evicted > 0
    sp.requeue_drops()  # the batch carrying them was never acknowledged
    sp.add_drops("kernel", 7)
    sp.add_drops("plugin", 3)  # plugin losses keep the same way
    sp.close()
    sp2 = Spool(tmp_path, 1024 * 1024, segment_bytes=SEG, fsync=False)
    drops = sp2.take_drops(50)
    assert drops == {"kernel": 7, "spool_evicted": evicted, "spool_corrupt": 0, "plugin": 3}
    sp2.ack(50)
    sp2.close()
    sp3 = Spool(tmp_path, 1024 * 1024, segment_bytes=SEG, fsync=False)
    assert sp3.take_drops(60) == {"kernel": 0, "spool_evicted": 0, "spool_corrupt": 0, "plugin": 0}


def _corrupt_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([b[0] ^ 0xFF]))


def test_corrupt_record_is_skipped_and_counted_once(tmp_path: Path) -> None:
    sp = Spool(tmp_path, 10 * 1024 * 1024, segment_bytes=SEG, fsync=False)
    sp.append([ev(i) for i in range(1, 2001)])
    sp.close()
    victim = segments(tmp_path)[2]
    # Damage one payload byte in the middle of the segment: exactly one record is lost.
    _corrupt_byte(victim, victim.stat().st_size // 2)
    sp = Spool(tmp_path, 10 * 1024 * 1024, segment_bytes=SEG, fsync=False)
    got = drain(sp)
    assert len(got) == 1999
    assert [s for s, _ in got] == [n for _, n in got]
    assert sp.take_drops(2000)["spool_corrupt"] == 1
    # Reading the same region again (a reconnect) does not count it twice.
    assert sp.read(1, 10) is None


def test_truncated_and_missing_segments_skipped_rest_delivered(tmp_path: Path) -> None:
    sp = Spool(tmp_path, 10 * 1024 * 1024, segment_bytes=SEG, fsync=False)
    sp.append([ev(i) for i in range(1, 3001)])
    sp.close()
    segs = segments(tmp_path)
    assert len(segs) >= 6
    os.truncate(segs[1], segs[1].stat().st_size // 3)  # power loss mid-file
    segs[3].write_bytes(b"garbage that is not a header")
    segs[4].unlink()
    sp = Spool(tmp_path, 10 * 1024 * 1024, segment_bytes=SEG, fsync=False)
    got = drain(sp, batch=1000)
    seqs = [s for s, _ in got]
    assert seqs == [n for _, n in got]
    assert seqs[-1] == 3000 and seqs[0] == 1
    lost = 3000 - len(seqs)
    assert lost > 0
    assert sp.take_drops(3000)["spool_corrupt"] == lost


def test_torn_tail_of_newest_segment_is_cut(tmp_path: Path) -> None:
    sp = Spool(tmp_path, 10 * 1024 * 1024, segment_bytes=SEG, fsync=False)
    sp.append([ev(i) for i in range(1, 101)])
    sp.close()
    last = segments(tmp_path)[-1]
    with last.open("ab") as fh:
        fh.write(b"\x5a\xa5\x00\x10half a record")
    sp = Spool(tmp_path, 10 * 1024 * 1024, segment_bytes=SEG, fsync=False)
    assert sp.append([ev(101)]) == 101
    assert [n for _, n in drain(sp)] == list(range(1, 102))
    assert sp.take_drops(101)["spool_corrupt"] == 1


def test_skip_to_jumps_numbering(tmp_path: Path) -> None:
    sp = Spool(tmp_path, 10 * 1024 * 1024, fsync=False)
    sp.append([ev(1)])
    sp.skip_to(500)
    assert sp.append([ev(2)]) == 500
    b = sp.read(1, 10)
    assert b is not None and b.first_seq == 1 and len(b.events) == 1
    b = sp.read(2, 10)
    assert b is not None and b.first_seq == 500
    # The jump is not a loss: the collector said it already holds those numbers.
    assert sp.take_drops(500)["spool_corrupt"] == 0


def test_segment_header_is_checked(tmp_path: Path) -> None:
    sp = Spool(tmp_path, 10 * 1024 * 1024, fsync=False)
    sp.append([ev(1)])
    sp.close()
    seg = segments(tmp_path)[0]
    assert seg.read_bytes()[: SEGMENT_HEADER.size].startswith(b"AURSPL01")


@pytest.mark.root
def test_disk_full_leaves_a_clean_spool_and_numbering(tmp_path: Path) -> None:
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], check=True)
    try:
        sp = Spool(mnt / "spool", 10 * 1024 * 1024, segment_bytes=SEG, fsync=False)
        n = 0
        with pytest.raises(OSError):
            while True:
                sp.append([ev(i) for i in range(n + 1, n + 51)])
                n += 50
        assert n > 0
        got = drain(sp)  # everything written before the failure, intact, in order
        assert [s for s, _ in got] == list(range(1, n + 1))
        assert [v for _, v in got] == list(range(1, n + 1))
        # Acknowledged data is gone, so there is room again; numbers are never reused.
        assert sp.append([ev(999_999)]) == n + 1
        b = sp.read(n + 1, 10)
        assert b is not None and orjson.loads(b.events[0])["n"] == 999_999
        sp.close()
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_newest_segment_without_header_is_dropped(tmp_path: Path) -> None:
    sp = Spool(tmp_path, 10 * 1024 * 1024, segment_bytes=SEG, fsync=False)
    sp.append([ev(i) for i in range(1, 501)])
    sp.close()
    newest = segments(tmp_path)[-1]
    first_of_newest = int(newest.stem)
    newest.write_bytes(b"\0" * 100)
    sp = Spool(tmp_path, 10 * 1024 * 1024, segment_bytes=SEG, fsync=False)
    # Numbering never goes back below what the dropped segment may have handed out.
    assert sp.append([ev(10_000)]) >= first_of_newest
    got = drain(sp)
    assert [n for _, n in got][: first_of_newest - 1] == list(range(1, first_of_newest))
    assert got[-1][1] == 10_000
