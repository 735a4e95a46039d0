"""Which rule sets a collector runs, where they live, and what each is: Aurora's built-in pack,
the SigmaHQ release installed into the state directory, the configured ``rule_dirs`` and the rules
uploaded through the console.

The SigmaHQ set carries a manifest written by ``aurora rules update`` (source, version, when, how
many rules), so the console and ``aurora rules list`` can say what runs, and warn while only the
built-in pack does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aurora.config.detection import DetectionConfig
from aurora.detection.rules import BUILTIN_RULES

MANIFEST = ".aurora-ruleset.json"


@dataclass(frozen=True)
class RuleSetInfo:
    name: str  # "built-in", "SigmaHQ", "rule_dirs", "uploaded"
    path: Path
    source: str = ""
    version: str = ""
    installed_ms: int = 0


def installed_dir(config: DetectionConfig, state_dir: Path) -> Path:
    """Where SigmaHQ is installed: ``rules_install_dir``, else ``<state>/sigma``."""
    return config.rules_install_dir or state_dir / "sigma"


def read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def rule_sets(config: DetectionConfig, state_dir: Path | None) -> list[RuleSetInfo]:
    """Every rule set the collector loads, built-in first."""
    from aurora import __version__

    sets = [RuleSetInfo("built-in", BUILTIN_RULES, "Aurora", __version__)]
    sets += [RuleSetInfo("rule_dirs", Path(p), str(p)) for p in config.rule_dirs]
    if state_dir is not None:
        sigma = installed_dir(config, state_dir)
        manifest = read_manifest(sigma)
        if manifest is not None and sigma not in {s.path for s in sets}:
            sets.append(
                RuleSetInfo(
                    "SigmaHQ",
                    sigma,
                    str(manifest.get("source", "")),
                    str(manifest.get("version", "")),
                    int(manifest.get("installed_ms", 0)),
                )
            )
        uploaded = state_dir / "rules"
        if uploaded.is_dir():
            sets.append(RuleSetInfo("uploaded", uploaded, "console"))
    return sets


def rule_directories(config: DetectionConfig, state_dir: Path | None) -> list[Path]:
    """The directories to load besides the built-in pack, in :func:`rule_sets` order."""
    return [s.path for s in rule_sets(config, state_dir) if s.name != "built-in"]


def only_builtin(config: DetectionConfig, state_dir: Path | None) -> bool:
    """True while nothing but Aurora's built-in pack would run: the console warns then."""
    return all(s.name == "built-in" for s in rule_sets(config, state_dir))


def count_by_set(sets: list[RuleSetInfo], rule_paths: list[Path | None]) -> dict[str, int]:
    """How many loaded rules came from each set (by the path each rule was read from)."""
    counts = {s.name + ":" + str(s.path): 0 for s in sets}
    for path in rule_paths:
        if path is None:
            continue
        for s in sets:
            if path == s.path or s.path in path.parents:
                counts[s.name + ":" + str(s.path)] += 1
                break
    return counts
