"""First start: install SigmaHQ's rules into the state directory when none are installed yet.

Runs in the background after the collector is up, so ingest never waits on a download; once the
set is installed the rules are reloaded like after ``aurora rules update``. Offline, one warning
says how to install from a local copy, and the built-in pack keeps running (the console warns
while it is the only one).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Protocol

from aurora.config import AuroraConfig
from aurora.detection.rule_sets import installed_dir, read_manifest
from aurora.detection.update import RulesUpdateError, install_rules

log = logging.getLogger("aurora.collector.rules")


class Reloadable(Protocol):
    def reload_rules(self, reason: str = ...) -> None: ...


def bootstrap_sigma(
    collector: Reloadable, config: AuroraConfig, state_dir: Path
) -> threading.Thread | None:
    """Start the background install when it is wanted; None when there is nothing to do."""
    detection = config.detection
    if not detection.enabled or not detection.sigma_auto_install:
        return None
    dest = installed_dir(detection, state_dir)
    if read_manifest(dest) is not None:
        return None

    def install() -> None:
        source = detection.rules_update_url
        log.info("no SigmaHQ rules installed yet; fetching %s in the background", source)
        try:
            result = install_rules(source, dest)
        except (RulesUpdateError, OSError) as exc:
            log.warning(
                "SigmaHQ rules not installed (%s); only Aurora's built-in pack runs. Offline, "
                "install them with `aurora rules update --from ZIP|DIR --state-dir %s`",
                exc,
                state_dir,
            )
            return
        log.info("installed %d SigmaHQ rules (%s) into %s", result.rules, result.version, dest)
        collector.reload_rules("SigmaHQ rules installed")

    thread = threading.Thread(target=install, name="sigma-bootstrap", daemon=True)
    thread.start()
    return thread
