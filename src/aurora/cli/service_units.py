"""systemd units for the sensor and the collector: written by `aurora sensor|collector install`,
removed by `uninstall`.

Both restart always (a killed sensor is back within seconds, and reports how its previous run
ended). Hardening is what each can bear: the sensor loads BPF, mounts tracefs, pins in bpffs,
edits nftables and kills processes, so it keeps root's capabilities and sees the whole file
system read-only except its state directory, bpffs and tracefs; the collector needs none of that
and is confined much further.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from aurora.errors import AuroraError

DEFAULT_UNIT_DIR = Path("/etc/systemd/system")


class UnitError(AuroraError):
    """A unit could not be written, verified or removed."""


@dataclass(frozen=True)
class UnitSpec:
    name: str  # aurora-sensor.service
    description: str
    command: str  # sensor | collector
    state_dir: Path
    extra_rw: tuple[str, ...]
    hardening: tuple[str, ...]
    args: tuple[str, ...] = ()  # after the command, e.g. --role worker
    #: A template's per-instance state directory under ``state_dir`` (``worker-%i``).
    instance_dir: str = ""
    #: What `systemctl enable` starts: the unit, or a template's first instance.
    first_instance: str = ""

    @property
    def started(self) -> str:
        return self.first_instance or self.name


SENSOR_HARDENING = (
    # No NoNewPrivileges-sensitive exec happens (root keeps its capabilities), so it is safe.
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectKernelModules=yes",
    "ProtectControlGroups=yes",
    "RestrictSUIDSGID=yes",
    "RestrictRealtime=yes",
    "LockPersonality=yes",
    "SystemCallArchitectures=native",
    # BPF maps are charged to memlock on older kernels; losing the sensor to the OOM killer
    # first would blind the host when it is under pressure.
    "LimitMEMLOCK=infinity",
    "OOMScoreAdjust=-900",
)
COLLECTOR_HARDENING = (
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "RestrictSUIDSGID=yes",
    "RestrictRealtime=yes",
    "RestrictNamespaces=yes",
    "LockPersonality=yes",
    "SystemCallArchitectures=native",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
)


def sensor_spec(state_dir: Path) -> UnitSpec:
    return UnitSpec(
        "aurora-sensor.service",
        "Aurora EDR sensor",
        "sensor",
        state_dir,
        ("/sys/fs/bpf", "/sys/kernel/tracing"),
        SENSOR_HARDENING,
    )


def collector_spec(state_dir: Path, role: str = "all") -> UnitSpec:
    """The unit of a collector node with that role (docs/scale-out.md). Workers are a template,
    ``aurora-collector-worker@N.service``: several on one host, each with a state directory of
    its own (``worker-N``, since one directory serves one process), sharing the configuration."""
    if role == "frontend":
        return UnitSpec(
            "aurora-collector-frontend.service",
            "Aurora EDR collector front-end (sensor streams, console)",
            "collector",
            state_dir,
            (),
            COLLECTOR_HARDENING,
            args=("--role", "frontend"),
        )
    if role == "worker":
        return UnitSpec(
            "aurora-collector-worker@.service",
            "Aurora EDR collector worker %i (detection, storage)",
            "collector",
            state_dir,
            (),
            COLLECTOR_HARDENING,
            args=("--role", "worker"),
            instance_dir="worker-%i",
            first_instance="aurora-collector-worker@1.service",
        )
    return UnitSpec(
        "aurora-collector.service",
        "Aurora EDR collector",
        "collector",
        state_dir,
        (),
        COLLECTOR_HARDENING,
    )


def render(spec: UnitSpec, config: Path | None) -> str:
    argv = [sys.executable, "-m", "aurora"]
    if config is not None:
        argv += ["--config", str(config)]
    state = spec.state_dir / spec.instance_dir if spec.instance_dir else spec.state_dir
    argv += [spec.command, *spec.args, "--state-dir", str(state)]
    rw = " ".join(shlex.quote(p) for p in (str(spec.state_dir), *spec.extra_rw))
    lines = [
        "# Written by `aurora " + spec.command + " install`; `aurora " + spec.command,
        "# uninstall` removes it.",
        "[Unit]",
        f"Description={spec.description}",
        "Wants=network-online.target",
        "After=network-online.target",
        # A crash loop keeps being restarted, never given up on: an attacker's way to stop it.
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + shlex.join(argv),
        "Restart=always",
        "RestartSec=2",
        "TimeoutStopSec=30",
        f"ReadWritePaths={rw}",
        *spec.hardening,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def verify(unit: Path) -> str | None:
    """``systemd-analyze verify`` the unit when the tool exists; its complaint, or None."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return None
    res = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True)
    # Warnings about this unit (an unknown key, a bad value) exit 0 yet are mistakes all the same.
    own = [line for line in res.stderr.splitlines() if unit.name in line]
    if res.returncode != 0 or own:
        return "; ".join(own) or res.stderr.strip() or f"exit status {res.returncode}"
    return None


def install(spec: UnitSpec, unit_dir: Path, config: Path | None) -> list[str]:
    """Write and verify the unit, enable and start it when systemd runs here; returns what was
    done, one line each."""
    unit = unit_dir / spec.name
    try:
        unit_dir.mkdir(parents=True, exist_ok=True)
        spec.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = unit.with_suffix(".tmp")
        tmp.write_text(render(spec, config))
        tmp.replace(unit)
    except OSError as exc:
        raise UnitError(f"cannot write {unit}: {exc.strerror or exc}") from None
    problem = verify(unit)
    if problem is not None:
        unit.unlink(missing_ok=True)
        raise UnitError(f"systemd-analyze rejected {unit}, removed it again: {problem}")
    done = [f"wrote {unit}"]
    if systemd_running():
        _systemctl("daemon-reload")
        _systemctl("enable", "--now", spec.started)
        done.append(f"enabled and started {spec.started}")
    else:
        done.append(
            f"systemd is not running here: start it with `systemctl enable --now {spec.started}`"
        )
    if spec.first_instance:
        done.append(f"more on this host: `systemctl enable --now {spec.name.replace('@', '@2')}`")
    return done


def uninstall(spec: UnitSpec, unit_dir: Path) -> list[str]:
    unit = unit_dir / spec.name
    if not unit.exists():
        raise UnitError(f"{unit} does not exist: nothing to uninstall")
    done = []
    if systemd_running():
        if spec.first_instance:  # every running instance of the template
            _systemctl("stop", spec.name.replace("@", "@*"))
        _systemctl("disable", "--now", spec.name)
        done.append(f"stopped and disabled {spec.name}")
    try:
        unit.unlink()
    except OSError as exc:
        raise UnitError(f"cannot remove {unit}: {exc.strerror or exc}") from None
    done.append(f"removed {unit} (the state directory {spec.state_dir} is kept)")
    if systemd_running():
        _systemctl("daemon-reload")
    return done


def _systemctl(*args: str) -> None:
    res = subprocess.run(["systemctl", *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise UnitError(f"systemctl {' '.join(args)} failed: {res.stderr.strip()}")
