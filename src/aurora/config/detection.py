"""[detection] section: which Sigma rules run and how alerts are deduplicated."""

from pathlib import Path

from pydantic import Field

from aurora.config.base import Section


class DetectionConfig(Section):
    enabled: bool = True
    rule_dirs: list[Path] = []
    suppression_window_s: int = Field(default=300, ge=0)
