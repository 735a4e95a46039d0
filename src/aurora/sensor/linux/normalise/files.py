"""File records under watched paths (create, write-open, delete, rename, chmod, chown) and
read-only opens of read-watched paths -> OCSF File System Activity.

A read-only open is reported as Read (2), not Open (14): the kernel saw the file opened with no
write access, so reading is all the caller can do with it, and Open stays what it already meant
here, an open for writing, which Sigma file_event rules match.
"""

from __future__ import annotations

from typing import Any

from aurora.ocsf.builders import FILE_ACTIVITY
from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode import File, decode
from aurora.sensor.linux.normalise.context import NormaliseContext, text
from aurora.sensor.linux.normalise.registry import register

_ACTIVITY = {
    R.FILE_OP_CREATE: 1,
    R.FILE_OP_OPEN_WRITE: 14,
    R.FILE_OP_DELETE: 4,
    R.FILE_OP_RENAME: 5,
    R.FILE_OP_CHMOD: 6,
    R.FILE_OP_CHOWN: 6,
    R.FILE_OP_OPEN_READ: 2,
}
_OP_NAMES = {1: "create", 2: "open_write", 3: "delete", 4: "rename", 5: "chmod", 6: "chown"}
_OP_NAMES[R.FILE_OP_OPEN_READ] = "open_read"
_OPENS = (R.FILE_OP_CREATE, R.FILE_OP_OPEN_WRITE, R.FILE_OP_OPEN_READ)


@register(R.EV_FILE)
def file_change(ctx: NormaliseContext, data: bytes) -> dict[str, Any] | None:
    e = decode(data)
    if not isinstance(e, File):
        return None
    h = e.hdr
    ev = ctx.base(FILE_ACTIVITY, _ACTIVITY[e.op], h.ts_ns)
    ev["actor"] = ctx.actor(h)
    ev["file"] = ctx.file_obj(text(e.path))
    unmapped: dict[str, Any] = {"file_op": _OP_NAMES[e.op]}
    if e.op == R.FILE_OP_RENAME:
        ev["file_result"] = ctx.file_obj(text(e.path2))
    if e.op in _OPENS:
        unmapped["open_flags"] = e.open_flags
    if e.op in (*_OPENS, R.FILE_OP_CHMOD):
        unmapped["mode"] = f"{e.mode & 0o7777:04o}"
    if e.op == R.FILE_OP_CHOWN:
        unmapped["owner_uid"], unmapped["owner_gid"] = e.owner_uid, e.owner_gid
        if e.owner_uid != 0xFFFFFFFF:
            ev["file"]["owner"] = ctx.user(e.owner_uid)
    ev["unmapped"] = unmapped
    return ev
