"""Capabilities: a family that cannot load is reported with its reason and the others run; no
family at all is a typed error; tracefs gets mounted when missing."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from aurora.config.sensor import SensorConfig
from aurora.sensor.linux.kernel import ensure_tracefs

pytestmark = [pytest.mark.root, pytest.mark.kernel]


def test_broken_family_is_reported_and_the_others_run(bpf_objects: Path, tmp_path: Path) -> None:
    from aurora.sensor.linux import LinuxSensor

    objects = tmp_path / "objects"
    shutil.copytree(bpf_objects, objects)
    (objects / "network.bpf.o").write_bytes(b"not an ELF object")
    (objects / "dns.bpf.o").unlink()
    sensor = LinuxSensor(SensorConfig(linux_families=["process", "network", "dns"]), objects)
    sensor.start()
    try:
        caps = {c.name: c for c in sensor.capabilities()}
        assert caps["process"].loaded and caps["process"].reason == ""
        assert not caps["network"].loaded
        assert "bpf_object__open_file failed for network.bpf.o" in caps["network"].reason
        assert not caps["dns"].loaded
        assert "dns.bpf.o is missing: build it with `make -C bpf`" in caps["dns"].reason
        assert set(sensor.drop_counts()) == {"process"}
        proc = subprocess.run(["/bin/true", "still-seen"], check=True)
        del proc
        seen = []
        for _ in range(50):
            seen += sensor.poll(100)
            if any(e.get("unmapped", {}).get("argv") == ["/bin/true", "still-seen"] for e in seen):
                break
        else:
            pytest.fail("the process family stopped working with the others broken")
    finally:
        sensor.stop()


def test_no_family_at_all_is_a_typed_one_line_error(tmp_path: Path) -> None:
    from aurora.sensor.linux import LinuxSensor
    from aurora.sensor.linux.sensor import NoFamilyLoaded

    sensor = LinuxSensor(SensorConfig(linux_families=["process", "file"]), tmp_path)
    with pytest.raises(NoFamilyLoaded) as exc:
        sensor.start()
    msg = str(exc.value)
    assert msg.startswith("no eBPF event family could be loaded (process: ")
    assert "\n" not in msg


def test_tracefs_is_mounted_when_missing(tmp_path: Path) -> None:
    where = tmp_path / "tracing"
    where.mkdir()
    try:
        assert ensure_tracefs(where) == where
        assert (where / "events" / "sched" / "sched_process_exec").is_dir()
        assert ensure_tracefs(where) == where  # already mounted: nothing to do
    finally:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.umount2(str(where).encode(), 0)
    assert not (where / "events").exists()
    assert os.path.isdir(where)
