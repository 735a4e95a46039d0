"""The alert-annotation area of the account store: who an alert is assigned to, and comments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class CommentRecord:
    comment_id: int
    alert_id: int
    author: str
    text: str
    time_ms: int


@runtime_checkable
class AlertAnnotations(Protocol):
    """Analysts' notes on the collector's alerts, kept beside them by alert id."""

    def assign_alert(self, alert_id: int, assignee: str, now_ms: int) -> None:
        """Empty ``assignee`` unassigns."""
        ...

    def assignees(self, alert_ids: Sequence[int]) -> dict[int, str]: ...
    def add_comment(self, alert_id: int, author: str, text: str, now_ms: int) -> CommentRecord: ...
    def list_comments(self, alert_id: int) -> list[CommentRecord]:
        """Oldest first."""
        ...
