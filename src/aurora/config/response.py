"""[response] section: response actions on the host (isolation, kill, quarantine, triage, TTLs)."""

import ipaddress
from typing import Literal

from pydantic import Field, field_validator

from aurora.config.base import Section

#: What a rule may ask for on a match (``[response] rule_actions``).
RuleAction = Literal["kill", "isolate", "quarantine"]


class ResponseConfig(Section):
    isolation_allow: list[str] = []
    command_ttl_s: int = Field(default=3600, ge=1)
    nft_path: str = Field(default="nft", min_length=1)
    isolation_allow_dns: bool = True
    isolation_allow_dhcp: bool = True
    isolation_check_timeout_s: float = Field(default=5.0, gt=0, le=120)
    # Windows: WFP filters that survive the sensor and reboots (default: they vanish with it).
    isolation_persistent: bool = False
    kill_start_time_tolerance_ms: int = Field(default=1000, ge=0, le=60_000)
    quarantine_refuse: list[str] = []
    triage_max_bytes: int = Field(default=256 * 1024**2, ge=1024**2)
    triage_max_file_bytes: int = Field(default=16 * 1024**2, ge=1024)
    triage_compression: Literal["zstd", "gzip"] = "zstd"
    triage_artifact_dirs: list[str] = []
    # Rule-driven response, off unless a rule id is listed here: {"<rule id>": "kill"}.
    rule_actions: dict[str, RuleAction] = {}

    @field_validator("isolation_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        # Checked here so a typo fails at start with the key named, not later as an nft error.
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return value

    @field_validator("quarantine_refuse", "triage_artifact_dirs")
    @classmethod
    def _absolute(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item.startswith("/"):
                raise ValueError(f"{item!r} is not an absolute path")
        return value

    @field_validator("rule_actions")
    @classmethod
    def _rule_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for rule_id in value:
            if not rule_id.strip() or rule_id != rule_id.strip():
                raise ValueError(f"{rule_id!r} is not a rule id")
        return value
