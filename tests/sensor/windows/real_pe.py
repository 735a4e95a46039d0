"""A real Windows x64 PE with an export, fetched at test time and never kept in the repository.

The win_amd64 wheel of pyahocorasick (pinned in requirements.lock, 35 KB) is downloaded from the
package registry with pip into a temporary directory; its extension module is a DLL exporting
``PyInit_ahocorasick``. A registry download needs only pip and the network CI already has;
building a DLL instead would need a MinGW cross toolchain on every machine. objdump (binutils,
which reads PE) is the independent reference for its export table and code bytes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

WHEEL = "pyahocorasick==2.3.1"
EXPORT = "PyInit_ahocorasick"


def download_pe(into: Path) -> Path:
    """The extension module (.pyd) of the win_amd64 wheel, extracted under ``into``."""
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--platform", "win_amd64", "--python-version", "3.11", "--only-binary=:all:",
            "--dest", str(into), WHEEL,
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    wheel = next(into.glob("pyahocorasick-*-win_amd64.whl"))
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".pyd"))
        zf.extract(name, into)
    return into / name


def objdump_export(path: Path, name: str) -> tuple[int, int]:
    """(image base, RVA of ``name``) as objdump reads the PE headers and export table."""
    text = subprocess.run(
        ["objdump", "-p", str(path)], check=True, capture_output=True, text=True
    ).stdout
    base_m = re.search(r"^ImageBase\s+([0-9a-fA-F]+)", text, re.M)
    assert base_m is not None, "objdump printed no ImageBase"
    rvas = re.findall(r"\[\s*(\d+)\] \+base\[\s*\d+\] ([0-9a-f]+) Export RVA", text)
    names = re.findall(r"\[\s*(\d+)\] (\S+)\n", text.split("[Ordinal/Name Pointer] Table")[1])
    index = next(i for i, n in names if n == name)
    rva = next(int(r, 16) for i, r in rvas if i == index)
    return int(base_m.group(1), 16), rva


def objdump_bytes(path: Path, address: int, length: int) -> bytes:
    """The ``length`` code bytes at virtual ``address``, from objdump's disassembly."""
    text = subprocess.run(
        ["objdump", "-d", f"--start-address={address:#x}",
         f"--stop-address={address + length:#x}", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    out = bytearray()
    for line in text.splitlines():
        m = re.match(r"\s*[0-9a-f]+:\t((?:[0-9a-f]{2} )+)", line)
        if m:
            out += bytes.fromhex(m.group(1).replace(" ", ""))
    return bytes(out[:length])
