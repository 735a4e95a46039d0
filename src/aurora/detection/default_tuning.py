"""The tuning Aurora ships for SigmaHQ's rules (``sigmahq_default_tuning.yaml``, data): exceptions
for rules that fire on ordinary activity, added to the operator's own ``<state>/tuning.yaml``.

The exceptions name SigmaHQ rule ids, so they only ever apply where those rules are loaded (an
installed SigmaHQ set or a ``rule_dirs`` checkout); with the built-in pack alone they match nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aurora.detection.tuning import Tuning, TuningError

log = logging.getLogger(__name__)

#: The shipped file, installed with the package.
SIGMAHQ_DEFAULT_TUNING = Path(__file__).with_name("sigmahq_default_tuning.yaml")


def shipped_tuning(path: Path = SIGMAHQ_DEFAULT_TUNING) -> Tuning:
    """The shipped exceptions; a missing or broken file (a damaged install) is logged and reads
    as none, so it can never take the operator's own tuning down with it."""
    try:
        return Tuning.load(path)
    except TuningError as exc:
        log.error("the shipped default tuning is not applied: %s", exc)
        return Tuning([], str(path))


def with_default(own: Tuning, enabled: bool, default: Tuning | None = None) -> Tuning:
    """The operator's exceptions plus the shipped ones they do not already hold (``enabled``:
    ``[detection] default_tuning``). Exceptions only ever let matches go, so adding both is the
    merge; an operator who wants a default exception gone turns the default file off."""
    if not enabled:
        return own
    shipped = default if default is not None else shipped_tuning()
    extra = [e for e in shipped.exceptions if e not in own.exceptions]
    if not extra:
        return own
    return Tuning(
        [*own.exceptions, *extra], f"{own.source} + {shipped.source}", mapping=own.mapping
    )
