"""Fixtures for response-action tests: real network namespaces, a sensor process inside them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DRIVERS = Path(__file__).resolve().parent / "drivers"
SENSOR_ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}

# 10.x addresses exist only inside the namespaces below; nothing leaves them.
COLLECTOR_IP = "10.203.0.1"
PEER_IP = "10.203.0.3"
ALLOWED_IP = "10.203.0.4"
SENSOR_IP = "10.203.0.2"
COLLECTOR_PORT = 9443
PEER_PORT = 8080
ECHO_PORT = 7007
# Unique-local IPv6, equally confined to the namespaces.
COLLECTOR_IP6 = "fd00:203::1"
PEER_IP6 = "fd00:203::3"
SENSOR_IP6 = "fd00:203::2"


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, nftables, signals to any process)")


def need_netns_tools() -> None:
    need_root()
    for tool in ("ip", "nft"):
        if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
            pytest.skip(f"needs the {tool} command (iproute2 / nftables)")


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=60)


@dataclass
class Topology:
    """ns ``sensor`` (10.203.0.2) wired by a veth pair to ns ``far`` (collector, peer, allowed)."""

    sensor: str
    far: str

    def nft(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.sensor, "nft", *args, check=check)

    def run_sensor(self, spec: dict[str, Any], user: int | None = None) -> list[Any]:
        """Run the test sensor inside the sensor namespace (as ``user`` when given)."""
        cmd = ["ip", "netns", "exec", self.sensor]
        if user is not None:
            cmd += ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
        cmd += [sys.executable, str(DRIVERS / "sensor.py"), json.dumps(spec)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=SENSOR_ENV, timeout=120)
        assert proc.returncode == 0, proc.stderr
        result: list[Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result


@pytest.fixture
def topology() -> Iterator[Topology]:
    need_netns_tools()
    tag = f"{os.getpid() % 100000}"
    topo = Topology(sensor=f"aur-s{tag}", far=f"aur-f{tag}")
    veth_s, veth_f = f"aurs{tag}", f"aurf{tag}"
    listener: subprocess.Popen[str] | None = None
    try:
        sh("ip", "netns", "add", topo.sensor)
        sh("ip", "netns", "add", topo.far)
        sh(
            "ip",
            "link",
            "add",
            veth_s,
            "netns",
            topo.sensor,
            "type",
            "veth",
            "peer",
            "name",
            veth_f,
            "netns",
            topo.far,
        )
        for ns, dev, addrs in (
            (topo.sensor, veth_s, [SENSOR_IP, SENSOR_IP6]),
            (topo.far, veth_f, [COLLECTOR_IP, PEER_IP, ALLOWED_IP, COLLECTOR_IP6, PEER_IP6]),
        ):
            for addr in addrs:
                if ":" in addr:  # nodad: usable at once, no duplicate-address wait
                    sh("ip", "-n", ns, "addr", "add", f"{addr}/64", "dev", dev, "nodad")
                else:
                    sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        # veth carrier comes up asynchronously (linkwatch); packets sent before that are lost.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            states = [
                sh("ip", "-n", ns, "-o", "link", "show", "dev", dev).stdout
                for ns, dev in ((topo.sensor, veth_s), (topo.far, veth_f))
            ]
            if all("state UP" in st for st in states):
                break
            time.sleep(0.05)
        targets = [
            f"{COLLECTOR_IP}:{COLLECTOR_PORT}",
            f"{COLLECTOR_IP}:{PEER_PORT}",
            f"{PEER_IP}:{PEER_PORT}",
            f"{ALLOWED_IP}:{PEER_PORT}",
            f"[{COLLECTOR_IP6}]:{COLLECTOR_PORT}",
            f"[{PEER_IP6}]:{PEER_PORT}",
            f"echo:{PEER_IP}:{ECHO_PORT}",
        ]
        listener = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                topo.far,
                sys.executable,
                str(DRIVERS / "listener.py"),
                *targets,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
        yield topo
    finally:
        if listener is not None:
            listener.kill()
            listener.wait(timeout=10)
            if listener.stdout is not None:
                listener.stdout.close()
        sh("ip", "netns", "del", topo.sensor, check=False)
        sh("ip", "netns", "del", topo.far, check=False)
