"""[detection] section: which Sigma rules run, how alerts are deduplicated, detector thresholds."""

from pathlib import Path

from pydantic import Field

from aurora.config.base import Section


class DetectionConfig(Section):
    enabled: bool = True
    rule_dirs: list[Path] = []
    suppression_window_s: int = Field(default=300, ge=0)
    # Alerts of one host and one process tree, each within this of the last, form an incident.
    incident_window_s: int = Field(default=3600, ge=1)
    # Values for Sigma's `expand` modifier: `%name%` in a rule becomes each listed value.
    placeholders: dict[str, list[str]] = {}
    # Correlation state bounds (per correlation rule).
    correlation_max_groups: int = Field(default=10000, ge=1)
    correlation_max_events: int = Field(default=1000, ge=1)
    # Built-in network scan detection over Network Activity events.
    scan_detection: bool = True
    scan_window_s: float = Field(default=60.0, gt=0)
    scan_distinct_ports: int = Field(default=20, ge=2)
    scan_distinct_hosts: int = Field(default=20, ge=2)
    scan_max_entries: int = Field(default=4096, ge=16)
    scan_max_sources: int = Field(default=10000, ge=1)
    # Where `aurora rules update` downloads SigmaHQ releases from, and installs them to.
    rules_update_url: str = (
        "https://github.com/SigmaHQ/sigma/releases/latest/download/sigma_all_rules.zip"
    )
    # None: <collector state_dir>/sigma, which the collector loads once a set is installed there.
    rules_install_dir: Path | None = None
    # On its first start the collector fetches rules_update_url into rules_install_dir, in the
    # background, when no SigmaHQ set is installed yet; offline, `aurora rules update --from`.
    sigma_auto_install: bool = True
    # Add the shipped exceptions for SigmaHQ rules that fire on ordinary activity
    # (aurora/detection/sigmahq_default_tuning.yaml) to <state>/tuning.yaml's.
    default_tuning: bool = True
