"""Records of code loaded into the kernel (modules, BPF programs) -> OCSF Kernel Extension and
Kernel Activity."""

from __future__ import annotations

from typing import Any

from aurora.ocsf.builders import KERNEL_ACTIVITY, KERNEL_EXTENSION_ACTIVITY
from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode import Bpf, Kmod, decode
from aurora.sensor.linux.normalise.context import NormaliseContext, text
from aurora.sensor.linux.normalise.registry import register


@register(R.EV_KMOD)
def module_load(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Kmod):
        return None
    h = e.hdr
    ev = ctx.base(KERNEL_EXTENSION_ACTIVITY, 1, h.ts_ns)
    ev["actor"] = ctx.actor(h)
    path = text(e.path)
    ev["driver"] = {
        "file": ctx.file_obj(path) if path else {"name": "<memory image>", "type_id": 0}
    }
    ev["unmapped"] = {
        "syscall": "finit_module" if e.op == R.KMOD_OP_FINIT else "init_module",
        "module_args": text(e.args),
        "flags": e.flags,
        "image_len": e.image_len,
    }
    return ev


@register(R.EV_BPF)
def bpf_program_load(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, Bpf):
        return None
    h = e.hdr
    ev = ctx.base(KERNEL_ACTIVITY, 1, h.ts_ns)
    ev["actor"] = ctx.actor(h)
    ev["kernel"] = {
        "name": text(e.prog_name) or "<unnamed>",
        "type_id": 99,
        "type": "bpf_program",
        "system_call": "bpf",
    }
    ev["unmapped"] = {"bpf_prog_type": e.prog_type, "bpf_insn_cnt": e.insn_cnt}
    return ev
