"""The Python record mirrors (aurora.sensor.linux.records) must match the C structs exactly, as
the compiled objects' BTF describes them: same members, order, offsets, sizes."""

from __future__ import annotations

import ctypes
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from aurora.sensor.linux.records import RECORDS

FAMILIES = ("process", "network", "dns", "file", "kernel", "escape")


def btf_types(obj: Path) -> dict[int, dict[str, Any]]:
    res = subprocess.run(
        ["bpftool", "btf", "dump", "file", str(obj), "-j"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    return {t["id"]: t for t in json.loads(res.stdout)["types"]}


def type_size(types: dict[int, dict[str, Any]], type_id: int) -> int:
    t = types[type_id]
    kind = t["kind"]
    if kind in ("TYPEDEF", "CONST", "VOLATILE"):
        return type_size(types, t["type_id"])
    if kind == "ARRAY":
        return t["nr_elems"] * type_size(types, t["type_id"])
    return int(t["size"])


def structs_in(obj: Path) -> dict[str, tuple[dict[str, Any], dict[int, dict[str, Any]]]]:
    types = btf_types(obj)
    return {
        t["name"]: (t, types)
        for t in types.values()
        if t["kind"] == "STRUCT" and t.get("name") in RECORDS
    }


def test_every_record_mirror_matches_the_btf(bpf_objects: Path) -> None:
    seen: set[str] = set()
    for family in FAMILIES:
        for name, (struct, types) in structs_in(bpf_objects / f"{family}.bpf.o").items():
            mirror = RECORDS[name]
            assert struct["size"] == ctypes.sizeof(mirror), f"{family}: {name} size"
            fields = [f[0] for f in mirror._fields_]
            members = [m["name"] for m in struct["members"]]
            assert members == fields, f"{family}: {name} members"
            for m in struct["members"]:
                desc = getattr(mirror, m["name"])
                assert m["bits_offset"] == desc.offset * 8, f"{name}.{m['name']} offset"
                assert type_size(types, m["type_id"]) == desc.size, f"{name}.{m['name']} size"
            seen.add(name)
    assert seen == set(RECORDS), f"records missing from every object's BTF: {set(RECORDS) - seen}"


def test_the_check_catches_a_drifted_mirror(bpf_objects: Path) -> None:
    class Drifted(ctypes.Structure):
        _fields_ = [("hdr", RECORDS["ev_hdr"]), ("exit_code", ctypes.c_uint16)]

    struct, types = structs_in(bpf_objects / "process.bpf.o")["exit_event"]
    member = struct["members"][1]
    # Same total size after padding: only the member-by-member comparison notices.
    assert struct["size"] == ctypes.sizeof(Drifted)
    assert type_size(types, member["type_id"]) != Drifted.exit_code.size


@pytest.mark.root
@pytest.mark.kernel
def test_every_program_passes_the_verifier() -> None:
    res = subprocess.run(
        ["make", "-s", "-C", str(Path(__file__).resolve().parents[2] / "bpf"), "verify"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    # Every event family's object, and the sensor guard's (bpf/guard.bpf.c), each exactly once.
    objects = (*FAMILIES, "guard")
    assert res.stdout.count("verified") == len(objects)
    for name in objects:
        assert f"verified {name}\n" in res.stdout


def test_struct_decoders_cover_the_mirrors_byte_for_byte() -> None:
    from aurora.sensor.linux import decode as D
    from aurora.sensor.linux import records as R

    assert D.HDR.size == ctypes.sizeof(R.EvHdr)
    assert D.EXEC.size == R.ExecEvent.tty.offset  # what follows is sliced by offset and length
    pairs = [
        (D.EXIT, R.ExitEvent),
        (D.SETID, R.SetidEvent),
        (D.PTRACE, R.PtraceEvent),
        (D.NET, R.NetEvent),
        (D.DNS, R.DnsEvent),
        (D.FILE, R.FileEvent),
        (D.KMOD, R.KmodEvent),
        (D.BPF, R.BpfEvent),
    ]
    for fmt, mirror in pairs:
        assert fmt.size == ctypes.sizeof(mirror), mirror.__name__
    hdr = R.EvHdr(ts_ns=1, cgroup_id=2, start_ns=3, kind=R.EV_FORK, pid=4, tid=5, ppid=6, uid=7)
    assert D.FORK.unpack_from(bytes(hdr)) == (3, 4, 6)  # the fork handler's fast path


def test_decode_round_trips_a_record_built_with_the_mirror() -> None:
    from aurora.sensor.linux import decode as D
    from aurora.sensor.linux import records as R

    ev = R.FileEvent()
    ev.hdr.kind, ev.hdr.pid, ev.hdr.comm = R.EV_FILE, 42, b"touch"
    ev.op, ev.mode, ev.path_len = R.FILE_OP_CHMOD, 0o755, 9
    ev.path = b"/etc/motd"
    rec = D.decode(bytes(ev))
    assert isinstance(rec, D.File)
    assert (rec.hdr.pid, rec.op, rec.mode, rec.path, rec.path2) == (42, 5, 0o755, b"/etc/motd", b"")
    assert D.decode(b"short") is None
    unknown = R.ForkEvent()
    unknown.hdr.kind = 99
    assert D.decode(bytes(unknown)) is None
