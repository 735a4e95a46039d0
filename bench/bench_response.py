"""Response-action costs: triage duration and size, set-id walk vs find, isolation latency.

Baselines run side by side in the same process on this (shared, noisy) machine:
- the SUID/SGID walk against `find -perm /6000` over the same roots;
- an isolate (nft transaction + collector check) against a bare `nft -f` of an empty table,
  inside a throwaway network namespace (needs root; skipped with a note otherwise).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aurora.config.response import ResponseConfig
from aurora.sensor.response import ResponseExecutor
from aurora.sensor.response.artifacts import load_artifacts
from aurora.sensor.response.sources import Context
from aurora.sensor.response.sources.files import special_files


def bench_triage(work: Path) -> None:
    ex = ResponseExecutor(work, ResponseConfig(), None)
    t0 = time.perf_counter()
    res = ex.execute("triage", {})
    secs = time.perf_counter() - t0
    assert res.ok, res.message
    print(
        f"triage: {secs:.2f} s for {len(res.data['artifacts'])} artifacts, "
        f"archive {res.data['size'] / 1024:.0f} KiB"
    )
    for art in sorted(res.data["artifacts"], key=lambda a: -a["seconds"])[:3]:
        print(f"  slowest: {art['name']}: {art['seconds']:.2f} s, {art['rows']} rows")


def bench_suid_walk() -> None:
    params = load_artifacts()["Linux.Sys.SuidSgid"].params
    t0 = time.perf_counter()
    found = special_files(params, Context(1 << 20))
    ours = time.perf_counter() - t0
    roots = [r for r in params["roots"] if os.path.isdir(r)]
    t0 = time.perf_counter()
    subprocess.run(
        ["find", *roots, "-xdev", "-type", "f", "-perm", "/6000"], capture_output=True, check=False
    )
    base = time.perf_counter() - t0
    print(
        f"suid walk: {ours:.2f} s ({len(found.rows)} files); baseline find: {base:.2f} s; "
        f"ratio {ours / base:.1f}x"
    )


def bench_isolation(work: Path) -> None:
    if os.geteuid() != 0 or shutil.which("nft") is None:
        print("isolation: skipped (needs root and nft)")
        return
    ns = f"aur-bench{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        code = (
            "import socket,time,sys;from pathlib import Path;"
            "from aurora.config.response import ResponseConfig;"
            "from aurora.sensor.response import ResponseExecutor;"
            "s=socket.socket();s.bind(('127.0.0.1',0));s.listen(64);p=s.getsockname()[1];"
            f"ex=ResponseExecutor(Path({str(work)!r}),ResponseConfig(),('127.0.0.1',p));"
            "n=20;t=time.perf_counter()\n"
            "for _ in range(n): assert ex.execute('isolate',{}).ok\n"
            "a=(time.perf_counter()-t)/n;t=time.perf_counter()\n"
            "for _ in range(n): assert ex.execute('unisolate',{}).ok\n"
            "u=(time.perf_counter()-t)/n;print(a,u)"
        )
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
        out = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        iso, uniso = (float(x) for x in out.stdout.split())
        t0 = time.perf_counter()
        for _ in range(20):
            subprocess.run(
                ["ip", "netns", "exec", ns, "nft", "-f", "-"],
                input="table inet b\ndelete table inet b\n",
                text=True,
                check=True,
            )
        base = (time.perf_counter() - t0) / 20
        print(
            f"isolate: {iso * 1000:.1f} ms, unisolate: {uniso * 1000:.1f} ms; "
            f"baseline empty nft transaction: {base * 1000:.1f} ms; "
            f"ratio {iso / base:.1f}x"
        )
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def main() -> None:
    socket.setdefaulttimeout(10)
    with tempfile.TemporaryDirectory(prefix="aurora-bench-") as tmp:
        bench_triage(Path(tmp) / "triage")
        bench_suid_walk()
        bench_isolation(Path(tmp) / "iso")


if __name__ == "__main__":
    main()
