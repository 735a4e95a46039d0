"""The guard's own BPF object (``bpf/guard.bpf.c``): signals, ptrace and process_vm_writev aimed at
the sensor's processes, filtered in the kernel by the sensor's pids.

Its ring buffer is pinned in bpffs under a name derived from the state directory, so the record
of a SIGKILL, written by the kernel in the sender's context while the sensor still lives, outlives
the sensor and is read by the next run (libbpf reuses a pinned map of the same shape at load).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from aurora.sensor.guard import bpfinfo
from aurora.sensor.linux import libbpf
from aurora.sensor.linux.records import EvHdr
from aurora.sensor.linux.ringbuf import Ring

log = logging.getLogger("aurora.sensor.guard")

BPFFS = Path("/sys/fs/bpf")
EV_GUARD = 50
RING_BYTES = 64 * 1024
OP_SIGNAL, OP_PTRACE, OP_VM_WRITEV = 1, 2, 3


class GuardEvent(ctypes.Structure):
    """Mirror of ``struct guard_event`` (bpf/include/events.h), checked against the BTF."""

    _fields_ = [
        ("hdr", EvHdr),
        ("arg", ctypes.c_uint64),
        ("target_pid", ctypes.c_uint32),
        ("op", ctypes.c_uint32),
    ]


@dataclass(frozen=True)
class Aimed:
    """One signal / ptrace request / memory write aimed at the sensor."""

    op: int
    arg: int
    target_pid: int
    sender_pid: int
    sender_ppid: int
    sender_uid: int
    sender_comm: str
    boot_ns: int


def pin_dir(state_dir: Path) -> Path:
    """One pin directory per state directory: two sensors on one host keep separate rings."""
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:16]
    return BPFFS / f"aurora-guard-{digest}"


class GuardProbe:
    def __init__(self, objects_dir: Path, state_dir: Path) -> None:
        self.pins = pin_dir(state_dir)
        self.pins.mkdir(mode=0o700, exist_ok=True)
        try:
            self._load(objects_dir)
        except libbpf.BpfError as exc:
            # A ring pinned by another version (another size) cannot be reused: its records
            # are lost, said so, and a fresh ring is pinned.
            log.warning("the pinned guard ring cannot be reused (%s); replacing it", exc)
            (self.pins / "events").unlink(missing_ok=True)
            self._load(objects_dir)

    def _load(self, objects_dir: Path) -> None:
        self.obj = libbpf.BpfObject(objects_dir / "guard.bpf.o")
        try:
            self.obj.set_max_entries("events", RING_BYTES)
            bpfinfo.set_pin_path(self.obj.find_map("events"), str(self.pins / "events"))
            self.obj.load()
            self.guard_pid(os.getpid())
            for prog, reason in self.obj.attach_all().items():
                log.warning("guard/%s not attached: %s", prog, reason)
            self.ring = Ring(self.obj.map_fd("events"), RING_BYTES)
        except libbpf.BpfError:
            self.obj.close()
            raise

    def guard_pid(self, pid: int) -> None:
        bpfinfo.hash_put(self.obj.map_fd("guarded"), pid)

    def pids_guarded(self, pids: list[int]) -> list[int]:
        """Which of ``pids`` are missing from the kernel's filter (an attacker removed them); they
        are put back."""
        fd = self.obj.map_fd("guarded")
        missing = [p for p in pids if not bpfinfo.hash_has(fd, p)]
        for pid in missing:
            bpfinfo.hash_put(fd, pid)
        return missing

    def drain(self) -> list[Aimed]:
        raw: list[bytes] = []
        self.ring.drain(raw)
        out = []
        for data in raw:
            if len(data) < ctypes.sizeof(GuardEvent):
                continue
            e = GuardEvent.from_buffer_copy(data[: ctypes.sizeof(GuardEvent)])
            if e.hdr.kind != EV_GUARD:
                continue
            out.append(
                Aimed(
                    e.op,
                    e.arg,
                    e.target_pid,
                    e.hdr.pid,
                    e.hdr.ppid,
                    e.hdr.uid,
                    e.hdr.comm.decode(errors="replace"),
                    e.hdr.ts_ns,
                )
            )
        return out

    def close(self, clean: bool) -> None:
        """Release the object; on a clean stop also the pinned ring (nothing is left in it)."""
        self.ring.close()
        self.obj.close()
        if clean:
            with contextlib.suppress(OSError):
                (self.pins / "events").unlink()
                self.pins.rmdir()
