"""[sensor] section: the Linux/Windows sensor's state, spool and telemetry settings."""

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from aurora.config.base import Section

LINUX_FAMILIES = ("process", "network", "dns", "file", "kernel", "escape")

DEFAULT_WATCH_PATHS = (
    "/etc",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/lib",
    "/boot",
    "/root/.ssh",
    "/home/*/.ssh",
    "/var/spool/cron",
    "/etc/cron.d",
    "/etc/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
    "/run/systemd/system",
    "/root/.config/systemd/user",
    "/home/*/.config/systemd/user",
    "/etc/ld.so.preload",
    # Shell start-up files, a common persistence spot (/etc/profile and /etc/profile.d are
    # under /etc, as are the account databases). Six entries, not every shell's: the kernel
    # filter holds 32 patterns.
    "/root/.bashrc",
    "/root/.profile",
    "/root/.bash_profile",
    "/home/*/.bashrc",
    "/home/*/.profile",
    "/home/*/.bash_profile",
)
DEFAULT_WATCH_EXEC_PATHS = ("/tmp", "/var/tmp", "/dev/shm")
# Read-only opens of these are reported (once per process image and file a minute): credential
# stores, SSH keys, cloud and cluster credentials, browser and keyring secrets. A home directory
# is matched per user with "/home/*/" plus root's own; "*" also ends a component ("*/logins.json"
# under any Firefox profile). Their own kernel list: 32 patterns, apart from watch_paths.
DEFAULT_WATCH_READ_PATHS = (
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/root/.ssh",
    "/home/*/.ssh",
    "/root/.aws",
    "/home/*/.aws",
    "/root/.config/gcloud",
    "/home/*/.config/gcloud",
    "/root/.kube/config",
    "/home/*/.kube/config",
    "/root/.azure",
    "/home/*/.azure",
    "/root/.mozilla/firefox/*/logins.json",
    "/home/*/.mozilla/firefox/*/logins.json",
    "/root/.mozilla/firefox/*/key4.db",
    "/home/*/.mozilla/firefox/*/key4.db",
    "/root/.config/google-chrome/*/Login Data",
    "/home/*/.config/google-chrome/*/Login Data",
    "/root/.config/chromium/*/Login Data",
    "/home/*/.config/chromium/*/Login Data",
    "/root/.local/share/keyrings",
    "/home/*/.local/share/keyrings",
)


class SensorConfig(Section):
    state_dir: Path = Path("/var/lib/aurora-sensor")
    spool_max_bytes: int = Field(default=500 * 1024**2, ge=1024**2)
    batch_max_events: int = Field(default=1000, ge=1, le=100_000)
    batch_max_delay_ms: int = Field(default=200, ge=1, le=60_000)
    heartbeat_interval_s: float = Field(default=10.0, gt=0, le=3600)
    # Guard: hook health, canaries and tamper checks every health_interval_s; a canary not back
    # within canary_timeout_s marks its family blind at the next check.
    health_interval_s: float = Field(default=30.0, ge=0.2, le=3600)
    canary_timeout_s: float = Field(default=5.0, gt=0, le=600)
    # Agent: transport to the collector and the offline spool
    collector_endpoint: str = Field(default="", pattern=r"^(\[?[0-9A-Za-z.:_-]*\]?:\d{1,5})?$")
    spool_fsync: bool = True
    max_inflight_batches: int = Field(default=8, ge=1, le=256)
    transport_compression: Literal["zstd", "gzip", "none"] = "zstd"
    keepalive_s: float = Field(default=30.0, ge=1, le=3600)
    reconnect_min_s: float = Field(default=0.5, gt=0, le=600)
    reconnect_max_s: float = Field(default=30.0, gt=0, le=3600)
    cert_renew_fraction: float = Field(default=0.67, ge=0, lt=1)
    # Linux eBPF sensor
    linux_families: list[str] = Field(default_factory=lambda: list(LINUX_FAMILIES))
    ringbuf_kb: int = Field(default=2048, ge=1024, le=1024 * 1024)
    watch_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_WATCH_PATHS))
    watch_exec_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_WATCH_EXEC_PATHS))
    watch_read_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_WATCH_READ_PATHS))
    hash_max_bytes: int = Field(default=256 * 1024**2, ge=0)
    # Windows: the named pipe plugins connect to (docs/plugins.md)
    plugin_pipe: str = Field(
        default="\\\\.\\pipe\\aurora-plugins", pattern=r"^\\\\\.\\pipe\\[A-Za-z0-9_.-]{1,200}$"
    )

    @model_validator(mode="after")
    def _watch_rule_budget(self) -> "SensorConfig":
        if len(self.watch_paths) + len(self.watch_exec_paths) > 32:
            raise ValueError("watch_paths and watch_exec_paths hold at most 32 paths together")
        return self

    @field_validator("linux_families")
    @classmethod
    def _known_families(cls, v: list[str]) -> list[str]:
        for name in v:
            if name not in LINUX_FAMILIES:
                raise ValueError(
                    f"unknown family {name!r}; choose from {', '.join(LINUX_FAMILIES)}"
                )
        return v

    @field_validator("ringbuf_kb")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError("must be a power of two (ring buffers are sized in whole pages)")
        return v

    @field_validator("watch_paths", "watch_exec_paths", "watch_read_paths")
    @classmethod
    def _absolute(cls, v: list[str]) -> list[str]:
        if len(v) > 32:
            raise ValueError("at most 32 watched paths in total are supported")
        for p in v:
            if not p.startswith("/") or len(p) >= 128:
                raise ValueError(f"{p!r} must be an absolute path shorter than 128 bytes")
        return v

    @field_validator("watch_read_paths")
    @classmethod
    def _star_ends_component(cls, v: list[str]) -> list[str]:
        for p in v:
            parts = [part for part in p.split("/") if part]
            if any("*" in part[:-1] for part in parts):
                raise ValueError(
                    f"{p!r}: '*' matches the rest of a path component, so it must end one"
                )
            literal = [part for part in parts if "*" not in part]
            if not literal or len(literal[-1].encode()) >= 32:
                raise ValueError(
                    f"{p!r} needs a component without '*' shorter than 32 bytes: the kernel "
                    "looks for it before matching"
                )
        return v
