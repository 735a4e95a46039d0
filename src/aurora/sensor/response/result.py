"""The typed outcome of one response action, as the transport sends it back to the collector."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ActionResult:
    """Success, or a named error with a one-line message; ``data`` is JSON-serialisable."""

    ok: bool
    error_code: str = ""
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    artifact_path: Path | None = None

    @classmethod
    def success(
        cls, message: str, data: dict[str, Any] | None = None, artifact_path: Path | None = None
    ) -> ActionResult:
        return cls(True, "", message, data or {}, artifact_path)

    @classmethod
    def failure(cls, code: str, message: str, data: dict[str, Any] | None = None) -> ActionResult:
        return cls(False, code, message, data or {}, None)
