"""The rules area of the account store: detection rules an administrator turned off."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class DisabledRules(Protocol):
    """The ids of disabled rules, with who disabled them and when."""

    def set_rule_disabled(self, rule_id: str, disabled: bool, by: str, now_ms: int) -> None: ...
    def disabled_rules(self) -> set[str]: ...
