"""The attacker's look-alike: a copy of one of the sensor's BPF objects, loaded from outside the
sensor (a root attacker can read the shipped ``.bpf.o``), with one program attached in place of
the sensor's own. Its maps are its own, so what it sees goes nowhere the sensor reads.

``python -m tests.guard.drivers.lookalike OBJECT PROGRAM``: prints ``loaded`` once the copy passed
the verifier, attaches PROGRAM (``*``: every program, a whole second copy) when a line arrives on
stdin, prints ``attached``, and holds the
link until stdin closes."""

from __future__ import annotations

import sys
from pathlib import Path

from aurora.sensor.linux import libbpf


def main() -> int:
    obj_path, wanted = Path(sys.argv[1]), sys.argv[2]
    lib = libbpf.lib()
    obj = libbpf.BpfObject(obj_path)
    programs = dict(obj.programs())
    obj.load()
    print("loaded", flush=True)
    sys.stdin.readline()
    links = []
    for name in programs if wanted == "*" else [wanted]:
        link = lib.bpf_program__attach(programs[name])
        if link:
            links.append(link)
        elif wanted != "*":  # (a whole copy skips what this kernel lacks, as the sensor does)
            print("attach failed", flush=True)
            return 1
    print("attached", flush=True)
    sys.stdin.read()  # until the test closes our stdin
    for link in links:
        lib.bpf_link__destroy(link)
    obj.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
