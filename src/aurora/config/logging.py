"""[logging] section."""

from typing import Literal

from aurora.config.base import Section


class LoggingConfig(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
