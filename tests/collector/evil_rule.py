"""One Sigma rule (a launch of an image ending in /evil) and the events it matches: the fixture
of the tests of alert suppression, folding and their recovery."""

from __future__ import annotations

from typing import Any

from client import make_event

RULE_ID = "4d3c2b1a-0000-4000-8000-00000000e512"
RULE = (
    f"title: Evil binary\nid: {RULE_ID}\nstatus: test\nlevel: high\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection:\n  sel: {Image|endswith: '/evil'}\n  condition: sel\n"
)


def evil(seq: int, session: str = "A", *, at_ms: int | None = None) -> dict[str, Any]:
    """Event ``seq``: /opt/evil launched in login session ``session`` (its process tree)."""
    ev = make_event(seq)
    ev["process"].update(
        file={"path": "/opt/evil", "name": "evil"},
        cmd_line=f"/opt/evil --run {seq}",
        session={"uid": session},
    )
    if at_ms is not None:
        ev["time"] = at_ms
    return ev
