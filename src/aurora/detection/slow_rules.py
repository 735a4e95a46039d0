"""Rules disabled at run time because a regex of theirs exceeded its time bound, and the notice
each one leaves for the administrator.

The notice is a :class:`~aurora.detection.rules.Rule` that matched the offending event, so it
travels wherever rule hits travel (the collector's batch reader hands rule ids to the detection
stage) and becomes an ordinary high-severity alert there. Its id names the disabled rule.
"""

from __future__ import annotations

import logging

from aurora.detection.ir import Node
from aurora.detection.regex import FALLBACK_TIMEOUT_S, RegexTimeout, fallback_reason
from aurora.detection.rules import Rule

log = logging.getLogger("aurora.detection")

NOTICE_PREFIX = "aurora-rule-disabled:"
NOTICE_TITLE = "Rule disabled: regex too slow"


def uses_pattern(node: Node, pattern: str, flags: int) -> bool:
    """Whether the rule condition ``node`` runs the regex ``pattern`` with ``flags``."""
    op = node[0]
    if op == "test":
        test = node[2]
        return bool(test.kind == "re" and test.value == pattern and test.flags == flags)
    if op in ("and", "or"):
        return any(uses_pattern(c, pattern, flags) for c in node[1])
    if op == "not":
        return uses_pattern(node[1], pattern, flags)
    return False


def _fallback_tests(node: Node, out: list[tuple[str | None, str, str]]) -> None:
    op = node[0]
    if op == "test":
        test = node[2]
        if test.kind == "re" and (why := fallback_reason(test.value, test.flags)) is not None:
            out.append((node[1], test.value, why))
    elif op in ("and", "or"):
        for c in node[1]:
            _fallback_tests(c, out)
    elif op == "not":
        _fallback_tests(node[1], out)


def fallback_warning(rule: Rule) -> str | None:
    """One line saying which fields of ``rule`` use regexes RE2 cannot run, and why; None when
    all its regexes run on RE2."""
    uses: list[tuple[str | None, str, str]] = []
    _fallback_tests(rule.ir, uses)
    if not uses:
        return None
    where = str(rule.path) if rule.path else "<inline>"
    what = "; ".join(f"{field or '<keywords>'} {pattern!r} ({why})" for field, pattern, why in uses)
    return (
        f"{where}: {rule.id} warning: regex needs the backtracking fallback, bounded to "
        f"{FALLBACK_TIMEOUT_S:g} s a match (the rule is disabled if it takes longer): {what}"
    )


def is_notice(rule_id: str) -> bool:
    return rule_id.startswith(NOTICE_PREFIX)


def notice(rule: Rule, reason: str) -> Rule:
    """The alert-raising stand-in for ``rule``, disabled for ``reason``."""
    return Rule(
        id=NOTICE_PREFIX + rule.id,
        title=f"{NOTICE_TITLE}: {rule.title}",
        level="high",
        tags=[],
        logsource={},
        ir=("false",),
        path=rule.path,
        description=(
            f"Rule {rule.id} ({rule.title}) was disabled until the collector restarts: {reason}. "
            "The event attached is the one it was matching. Fix or remove the rule."
        ),
    )


class SlowRules:
    """The rules one engine has disabled for being too slow (for the life of the process)."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}

    def __contains__(self, rule_id: str) -> bool:
        return rule_id in self.reasons

    def disable(self, rule: Rule, reason: str) -> Rule | None:
        """Disable ``rule``; its notice, or None when it already was disabled."""
        if rule.id in self.reasons:
            return None
        self.reasons[rule.id] = reason
        rule.enabled = False  # so the console lists it as disabled
        log.warning(
            "rule %s (%s) disabled for the life of this process: %s", rule.id, rule.title, reason
        )
        return notice(rule, reason)

    def disable_users(self, rules: list[Rule], exc: RegexTimeout) -> list[Rule]:
        """Disable every rule that runs the pattern of ``exc``; their notices."""
        out: list[Rule] = []
        for rule in rules:
            if uses_pattern(rule.ir, exc.pattern, exc.flags):
                n = self.disable(rule, str(exc))
                if n is not None:
                    out.append(n)
        return out
