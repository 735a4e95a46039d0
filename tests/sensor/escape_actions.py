"""Real actions for the escape family's tests: small Python programs (run with ``python -c``) that
make the system calls the family watches, through ctypes where Python has no wrapper."""

from __future__ import annotations

import subprocess
from pathlib import Path

_LIBC = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
"""

# A non-root process (uid 65534 kept its permitted set through PR_SET_KEEPCAPS) raises the
# capabilities named on the command line into its effective set with capset.
CAPSET_RAISE = (
    _LIBC
    + """
caps = [int(c) for c in sys.argv[1:]]
libc.prctl(8, 1, 0, 0, 0)  # PR_SET_KEEPCAPS
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
class Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]
hdr = Header(0x20080522, 0)
data = (Data * 2)()
assert libc.capget(ctypes.byref(hdr), data) == 0, ctypes.get_errno()
for cap in caps:
    data[cap // 32].effective |= 1 << (cap % 32)
assert libc.capset(ctypes.byref(hdr), data) == 0, ctypes.get_errno()
"""
)

# capset of the sets already held (capget, then capset of the same): a no-op change.
CAPSET_KEEP = (
    _LIBC
    + """
hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
data = (ctypes.c_uint32 * 6)()
assert libc.capget(hdr, data) == 0, ctypes.get_errno()
assert libc.capset(hdr, data) == 0, ctypes.get_errno()
"""
)

# prctl(PR_SET_NAME) of the main thread to argv[1], then of a second thread (left out in the
# kernel: threads name themselves all the time).
RENAME = (
    _LIBC
    + """
import threading
def name_thread():
    libc.prctl(15, b"aurora-thread", 0, 0, 0)
t = threading.Thread(target=name_thread)
t.start(); t.join()
assert libc.prctl(15, sys.argv[1].encode(), 0, 0, 0) == 0
"""
)

# clone(2) with CLONE_NEWUTS | SIGCHLD: a fork into a new UTS namespace.
CLONE_NEWUTS = (
    _LIBC
    + """
pid = libc.syscall(56, 0x04000000 | 17, 0, 0, 0, 0)
if pid == 0:
    os._exit(0)
assert pid > 0, ctypes.get_errno()
os.waitpid(pid, 0)
"""
)

# The real uid becomes 1000 while the effective uid stays 0, then setuid(0) takes root back: a
# non-root process turning itself into root, as after a set-user-id exploit.
SETUID_TO_ROOT = "import os; os.setresuid(1000, 0, 0); os.setuid(0)"

# setfsuid to nobody and back.
SETFSUID = _LIBC + "libc.setfsuid(65534); libc.setfsuid(0)\n"

MEMFD = "import os, sys; os.memfd_create(sys.argv[1], int(sys.argv[2]))"


def build_io_uring_probe(out_dir: Path) -> Path:
    """Compile tests/sensor/data/io_uring_probe.c (raw io_uring syscalls) into ``out_dir``."""
    src = Path(__file__).parent / "data" / "io_uring_probe.c"
    exe = out_dir / "io_uring_probe"
    subprocess.run(["cc", "-O1", "-o", str(exe), str(src)], check=True)
    return exe
