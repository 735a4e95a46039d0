"""DNS over TCP and DNS answers: the cost of the DNS family's new hooks, against a same-run
baseline.

Two workloads, each timed without the sensor and with the dns family loaded:
  * socket I/O that is not DNS: small writes and reads on TCP connections to another port, UDP
    datagrams to another port and pipe traffic: every write/read/recvfrom now passes the
    family's socket check in the kernel, and nothing leaves it;
  * DNS exchanges with a local server on port 53: varied names and types, over TCP (length
    prefix and message) and over UDP, each question and answer a record: sensor CPU per event.
Prints workload time and slowdown, events seen against expected, sensor CPU per event, the drop
counters, and the kernel's own nanoseconds per run of each program (bench/bpf_cost.py).
Needs root (port 53 and the BPF objects, `make -C bpf`).

    PYTHONPATH=src .venv/bin/python bench/bench_dns_tcp.py [--exchanges 3000 --io 100000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.sensor.test_dns_wire import SERVER, Servers

from bpf_cost import in_sensor, print_costs
from sensor_child import SensorChild

NOT_DNS = """
import os, socket, sys
n = int(sys.argv[1])
srv = socket.create_server(("127.0.0.1", 0))
c = socket.create_connection(srv.getsockname())
s, _ = srv.accept()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
r, w = os.pipe()
for i in range(n):
    msg = b"x" * (16 + i % 200)
    os.write(c.fileno(), msg); os.read(s.fileno(), 4096)
    u.sendto(msg, u.getsockname()); u.recvfrom(4096)
    os.write(w, msg); os.read(r, 4096)
"""
DNS = """
import random, socket, struct, sys
n, server = int(sys.argv[1]), sys.argv[2]
rng = random.Random(53)
words = ["mail", "api", "cdn", "x1f3", "login", "static", "eu-west", "tun", "a9b8c7", "update"]
def question(txid, name, qtype):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    header = struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0)
    return header + labels + b"\\0" + struct.pack("!HH", qtype, 1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
for i in range(n):
    name = ".".join(rng.sample(words, rng.randint(1, 3))) + f".n{i}.example.org"
    q = question(i & 0xFFFF, name, rng.choice([1, 28, 16, 15]))
    if i % 2:
        with socket.create_connection((server, 53), timeout=5) as c:
            c.sendall(struct.pack("!H", len(q)) + q)
            size = struct.unpack("!H", c.recv(2))[0]
            got = b""
            while len(got) < size:
                got += c.recv(size - len(got))
    else:
        u.sendto(q, (server, 53)); u.recvfrom(512)
"""


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exchanges", type=int, default=3000)
    ap.add_argument("--io", type=int, default=100_000)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench_dns_tcp: needs root (port 53, eBPF programs)", file=sys.stderr)
        return 2
    workloads: dict[str, tuple[list[str], int]] = {
        "socket and pipe I/O (not DNS)": ([sys.executable, "-c", NOT_DNS, str(args.io)], 0),
        # a question and an answer per exchange
        "DNS exchanges (TCP + UDP)": (
            [sys.executable, "-c", DNS, str(args.exchanges), SERVER],
            2 * args.exchanges,
        ),
    }
    servers = Servers()
    try:
        baseline = {name: timed(argv) for name, (argv, _) in workloads.items()}
        measured: dict[str, tuple[float, float, int]] = {}
        with SensorChild({"linux_families": ["dns"]}) as child:
            for name, (argv, _) in workloads.items():
                cpu0, seen0 = child.cpu_seconds(), child.seen
                elapsed = timed(argv)
                child.settle()
                measured[name] = (elapsed, child.cpu_seconds() - cpu0, child.seen - seen0)
        after = {name: timed(argv) for name, (argv, _) in workloads.items()}
        costs = in_sensor(
            {"linux_families": ["dns"]},
            {name: partial(timed, argv) for name, (argv, _) in workloads.items()},
        )
    finally:
        servers.close()

    print(
        f"DNS events (all)              : questions {child.count('4003/1')}, "
        f"answers {child.count('4003/2')}"
    )
    print(f"kernel drops                  : {child.result.get('drops')}")
    print("in-kernel cost per run (BPF run statistics, not moved by the machine's load):")
    print_costs(costs)
    for name, (elapsed, cpu, events) in measured.items():
        base = (baseline[name] + after[name]) / 2  # shared machine: before and after averaged
        per = f"{cpu * 1e6 / events:.1f} us/event" if events else "no event"
        print(
            f"{name:<30}: {base:.2f} s without, {elapsed:.2f} s with sensor "
            f"({elapsed / base:.3f}x); events {events} (expected {workloads[name][1]}); "
            f"sensor CPU {cpu:.2f} s, {per}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
