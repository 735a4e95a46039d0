"""Aurora's detection engine: SigmaHQ rules over OCSF events, in real time and offline.

pySigma parses rules; :mod:`~aurora.detection.ir` reduces them to tests, :mod:`~.mapping` routes
events to the rules of their logsource, :mod:`~.matcher` indexes literals per field and runs only
candidate rules. Correlations, the network scan detector and alert suppression sit on top.

Exports resolve lazily, so a tool that needs one submodule does not import pySigma with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aurora.detection.engine import DetectionEngine
    from aurora.detection.findings import Finding, build_finding
    from aurora.detection.rules import Rule, RuleFailure
    from aurora.detection.suppress import Suppressor

_EXPORTS = {
    "DetectionEngine": "aurora.detection.engine",
    "Finding": "aurora.detection.findings",
    "build_finding": "aurora.detection.findings",
    "Rule": "aurora.detection.rules",
    "RuleFailure": "aurora.detection.rules",
    "Suppressor": "aurora.detection.suppress",
}

__all__ = ["DetectionEngine", "Finding", "Rule", "RuleFailure", "Suppressor", "build_finding"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aurora.detection' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
