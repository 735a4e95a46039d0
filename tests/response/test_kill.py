"""Kill with real processes: start-time check, trees, protected processes, typed errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from aurora.config.response import ResponseConfig
from aurora.sensor.response import ResponseExecutor
from aurora.sensor.response.kill import PF_KTHREAD, process_start_ms, read_stat

from .conftest import DRIVERS, SENSOR_ENV, need_root

pytestmark = [pytest.mark.root]


@pytest.fixture
def executor(tmp_path: Path) -> ResponseExecutor:
    return ResponseExecutor(tmp_path, ResponseConfig(), None)


def gone(pid: int) -> bool:
    """Dead: no such pid any more, or a zombie waiting for its parent."""
    try:
        return read_stat_state(pid) == "Z"
    except FileNotFoundError:
        return True


def read_stat_state(pid: int) -> str:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2]


def wait_gone(pids: list[int], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(gone(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def test_kill_with_matching_start_time(executor: ResponseExecutor) -> None:
    proc = subprocess.Popen(["sleep", "60"])
    res = executor.execute(
        "kill", {"pid": proc.pid, "start_time": process_start_ms(proc.pid), "tree": False}
    )
    assert res.ok, res.message
    assert res.data["killed"] == [proc.pid]
    assert proc.wait(timeout=5) == -signal.SIGKILL


def test_mismatched_start_time_is_refused(executor: ResponseExecutor) -> None:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        stale = process_start_ms(proc.pid) - 60_000
        res = executor.execute("kill", {"pid": proc.pid, "start_time": stale})
        assert not res.ok and res.error_code == "pid_recycled"
        assert "recycled" in res.message
        assert proc.poll() is None, "the process must still run"
    finally:
        proc.kill()
        proc.wait()


def test_really_recycled_pid_is_refused_and_pid1_protected(tmp_path: Path) -> None:
    need_root()
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) for a private pid namespace")
    # bash stays pid 1 of the namespace (the trailing `true` stops it exec'ing python).
    cmd = [
        "unshare",
        "--pid",
        "--fork",
        "--mount-proc",
        "bash",
        "-c",
        f'"{sys.executable}" "{DRIVERS / "pidns_kill.py"}" "{tmp_path}"; true',
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=SENSOR_ENV, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["my_pid"] != 1
    assert out["pid1"]["error_code"] == "protected_process"
    assert "pid 1" in out["pid1"]["message"]
    recycle = out["recycle"]
    assert recycle.get("recycled"), recycle
    assert recycle["error_code"] == "pid_recycled"
    assert recycle["alive"] is True


def test_tree_kills_children_and_grandchildren(executor: ResponseExecutor, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    # Two children and a grandchild (in a subshell), each recording its pid.
    script = (
        f"sleep 60 & echo $! >> {pidfile}; "
        f"(sleep 60 & echo $! >> {pidfile}; wait) & echo $! >> {pidfile}; "
        "wait"
    )
    root = subprocess.Popen(["bash", "-c", script])
    deadline = time.monotonic() + 5
    while (
        time.monotonic() < deadline
        and len(pidfile.read_text().split() if pidfile.exists() else []) < 3
    ):
        time.sleep(0.05)
    family = [int(p) for p in pidfile.read_text().split()]
    assert len(family) == 3
    res = executor.execute("kill", {"pid": root.pid, "tree": True})
    assert res.ok, res.message
    assert set(res.data["killed"]) >= {root.pid, *family}
    assert root.wait(timeout=5) == -signal.SIGKILL
    assert wait_gone(family)


def test_without_tree_children_survive(executor: ResponseExecutor, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    root = subprocess.Popen(["bash", "-c", f"sleep 60 & echo $! > {pidfile}; wait"])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (pidfile.exists() and pidfile.read_text().strip()):
        time.sleep(0.05)
    child = int(pidfile.read_text())
    try:
        assert executor.execute("kill", {"pid": root.pid}).ok
        root.wait(timeout=5)
        assert not gone(child)
    finally:
        os.kill(child, signal.SIGKILL)


def test_sensor_itself_is_protected(executor: ResponseExecutor) -> None:
    res = executor.execute("kill", {"pid": os.getpid()})
    assert res.error_code == "protected_process" and "sensor itself" in res.message


def test_tree_containing_the_sensor_is_protected(tmp_path: Path) -> None:
    # The "sensor" is a child of a bash we own; it is asked to kill its parent's tree.
    code = (
        "import json, os, sys; from pathlib import Path;"
        "from aurora.config.response import ResponseConfig;"
        "from aurora.sensor.response import ResponseExecutor;"
        f"ex = ResponseExecutor(Path({str(tmp_path)!r}), ResponseConfig(), None);"
        "r = ex.execute('kill', {'pid': os.getppid(), 'tree': True});"
        "print(json.dumps([r.error_code, r.message]))"
    )
    proc = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -c "{code}"; echo bash-alive'],
        capture_output=True,
        text=True,
        env=SENSOR_ENV,
        timeout=60,
    )
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "bash-alive", proc.stderr
    code_, message = json.loads(lines[-2])
    assert code_ == "protected_process" and "contains the sensor" in message


def test_kernel_thread_is_protected(executor: ResponseExecutor) -> None:
    kthreads = [
        int(e.name)
        for e in os.scandir("/proc")
        if e.name.isdigit() and _flags(int(e.name)) & PF_KTHREAD
    ]
    if not kthreads:
        pytest.skip("no kernel thread is visible in this pid namespace")
    res = executor.execute("kill", {"pid": kthreads[0]})
    assert res.error_code == "protected_process" and "kernel thread" in res.message


def _flags(pid: int) -> int:
    try:
        return read_stat(pid).flags
    except Exception:
        return 0


def test_missing_process_and_bad_params(executor: ResponseExecutor) -> None:
    proc = subprocess.Popen(["true"])
    proc.wait()
    res = executor.execute("kill", {"pid": proc.pid})
    assert res.error_code == "no_such_process" and str(proc.pid) in res.message
    for params in (
        {},
        {"pid": "12"},
        {"pid": True},
        {"pid": False},
        {"pid": None},
        {"pid": -3},
        {"pid": 2**40},
        {"pid": 5, "tree": "yes"},
        {"pid": 5, "start_time": "now"},
    ):
        bad = executor.execute("kill", params)
        assert bad.error_code == "bad_params", params
        assert bad.message and "\n" not in bad.message


def test_thread_id_is_not_a_process(executor: ResponseExecutor) -> None:
    ready = threading.Event()
    stop = threading.Event()
    tids: list[int] = []

    def worker() -> None:
        tids.append(threading.get_native_id())
        ready.set()
        stop.wait(10)

    t = threading.Thread(target=worker)
    t.start()
    try:
        ready.wait(5)
        res = executor.execute("kill", {"pid": tids[0]})
        assert res.error_code == "no_such_process" and "thread id" in res.message
    finally:
        stop.set()
        t.join()
