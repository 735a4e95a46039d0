"""LinuxSensor: load each event family's BPF object, attach it, and turn ring-buffer records into
OCSF events. A family that fails to load is reported as a capability with its reason and does not
stop the others.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from aurora.config.sensor import SensorConfig
from aurora.errors import AuroraError
from aurora.sensor.linux import libbpf
from aurora.sensor.linux.kernel import KernelInfo, ensure_tracefs
from aurora.sensor.linux.normalise import Normaliser
from aurora.sensor.linux.proctable import ProcessTable
from aurora.sensor.linux.ringbuf import Rings
from aurora.sensor.linux.watch import load_read_rules, load_watch_rules
from aurora.sensor.source import Capability

log = logging.getLogger("aurora.sensor.linux")

OBJECTS_DIR = Path(__file__).parent / "objects"
DROP_SLOTS = 32
# Drop slots counted apart from their family's total, under their own name: the hooks added to
# a family later (bpf/file.bpf.c SLOT_READ, bpf/dns.bpf.c SLOT_TCP_QUERY and SLOT_ANSWER).
SPLIT_DROP_SLOTS: dict[str, dict[int, str]] = {
    "file": {2: "file_read"},
    "dns": {3: "dns_tcp", 4: "dns_answer"},
}
DROP_LOG_INTERVAL_S = 1.0


def ring_bytes(family: str, ringbuf_kb: int) -> int:
    """The process ring gets the configured size; the quieter families half of it. Each ring is
    mapped twice into the sensor, so its size counts double in RSS."""
    kb = ringbuf_kb if family == "process" else max(ringbuf_kb // 2, 256)
    return kb * 1024


class NoFamilyLoaded(AuroraError):
    """Not a single event family could be loaded."""


class SensorNeedsRoot(AuroraError):
    """Loading eBPF programs and mounting tracefs take root privileges."""


class LinuxSensor:
    """The eBPF event source (implements aurora.sensor.source.EventSource)."""

    def __init__(self, config: SensorConfig, objects_dir: Path = OBJECTS_DIR) -> None:
        self.config = config
        self.objects_dir = objects_dir
        self.table = ProcessTable()
        self.normaliser = Normaliser(self.table, config.hash_max_bytes)
        self.kernel: KernelInfo | None = None
        self._objects: dict[str, libbpf.BpfObject] = {}
        self._caps: list[Capability] = []
        self._rings = Rings()
        self._ring_families: list[str] = []  # the family of each ring, in Rings order
        self._drops_seen: dict[str, int] = {}
        self._next_drop_check = 0.0

    def start(self) -> None:
        if os.geteuid() != 0:
            raise SensorNeedsRoot("the eBPF sensor needs root: run `sudo aurora sensor`")
        self.kernel = KernelInfo.probe_running_kernel()
        ensure_tracefs()
        for family in self.config.linux_families:
            try:
                self._load(family)
            except AuroraError as exc:
                log.warning("family %s not loaded: %s", family, exc)
                self._caps.append(Capability(family, False, str(exc)))
            else:
                self._caps.append(Capability(family, True, ""))
        if not any(c.loaded for c in self._caps):
            reasons = "; ".join(f"{c.name}: {c.reason}" for c in self._caps)
            self.stop()
            raise NoFamilyLoaded(f"no eBPF event family could be loaded ({reasons})")
        # Seed after attaching: a process started in between is then both in /proc and in the
        # rings, never in neither.
        self.table.seed_from_proc()
        self.normaliser.hash_seeded()

    def _load(self, family: str) -> None:
        path = self.objects_dir / f"{family}.bpf.o"
        if not path.is_file():
            raise libbpf.BpfError(f"{path} is missing: build it with `make -C bpf`")
        obj = libbpf.BpfObject(path)
        try:
            size = ring_bytes(family, self.config.ringbuf_kb)
            obj.set_max_entries("events", size)
            obj.load()
            if family == "file":
                self._load_file_rules(obj)
            for prog, reason in obj.attach_all().items():
                log.warning("%s/%s not attached: %s", family, prog, reason)
                self._caps.append(Capability(f"{family}/{prog}", False, reason))
            self._rings.add(obj.map_fd("events"), size)
            self._ring_families.append(family)
        except AuroraError:
            obj.close()
            raise
        self._objects[family] = obj

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        pending: list[bytes] = []
        self._rings.poll(timeout_ms, pending)
        normalise = self.normaliser.normalise
        out = [ev for ev in map(normalise, pending) if ev is not None]
        now = time.monotonic()
        if now >= self._next_drop_check:
            self._next_drop_check = now + DROP_LOG_INTERVAL_S
            self._log_drops()
            self.table.reap(now)
        return out

    def _log_drops(self) -> None:
        for family, total in self.drop_counts().items():
            before = self._drops_seen.get(family, 0)
            if total > before:
                log.warning(
                    "family %s: %d events dropped in the kernel (ring buffer full), %d in total",
                    family,
                    total - before,
                    total,
                )
                self._drops_seen[family] = total

    def bpf_objects(self) -> dict[str, libbpf.BpfObject]:
        """Family -> its loaded object (the guard checks their programs, links and maps)."""
        return dict(self._objects)

    def ring_positions(self) -> dict[str, int]:
        """Family -> its ring's producer position (the guard checks the rings are still fed)."""
        return dict(zip(self._ring_families, self._rings.produced(), strict=True))

    def reload_watch_rules(self) -> None:
        """Write the watched-path rules into the file family's map again (the guard found them
        altered)."""
        obj = self._objects.get("file")
        if obj is not None:
            self._load_file_rules(obj)

    def _load_file_rules(self, obj: libbpf.BpfObject) -> None:
        load_watch_rules(
            obj.map_fd("watch_rules"), self.config.watch_paths, self.config.watch_exec_paths
        )
        load_read_rules(
            obj.map_fd("read_rules"), obj.map_fd("read_anchors"), self.config.watch_read_paths
        )

    def capabilities(self) -> list[Capability]:
        return list(self._caps)

    def drop_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for family, obj in self._objects.items():
            fd = obj.map_fd("drops")
            split = SPLIT_DROP_SLOTS.get(family, {})
            rest = [slot for slot in range(DROP_SLOTS) if slot not in split]
            counts[family] = libbpf.percpu_sum(fd, rest)
            for slot, name in split.items():
                counts[name] = libbpf.percpu_sum(fd, [slot])
        return counts

    def stop(self) -> None:
        self._rings.close()
        self._ring_families.clear()
        self.normaliser.hashes.close()
        for obj in self._objects.values():
            obj.close()
        self._objects.clear()
