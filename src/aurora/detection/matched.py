"""Why a rule fired on an event: each field test of the rule that holds, with the event's value
and the rule's selections that test the field (for scan findings and the console's alert page).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aurora.detection.ir import Node, Test
from aurora.detection.predicates import lazy_predicate, make_getter
from aurora.detection.rules import Rule
from aurora.ocsf.field_mapping import Route

MAX_VALUE_CHARS = 300  # a matched value longer than this is cut, so one row stays readable


def _positive_tests(node: Node) -> Iterator[tuple[str, Test]]:
    # Tests under a NOT held because their field did *not* match: they explain nothing.
    op = node[0]
    if op in ("and", "or"):
        for child in node[1]:
            yield from _positive_tests(child)
    elif op == "test" and node[1] is not None:
        yield node[1], node[2]


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "..."
    return value


def matched_fields(rule: Rule, event: dict[str, Any], route: Route) -> list[dict[str, Any]]:
    """Each field test of ``rule`` that holds on ``event``: field, OCSF path, value and the
    rule's selections that test the field, once per field."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for field, test in _positive_tests(rule.ir):
        if field in seen:
            continue
        path = route.path(field)
        get = make_getter(path)
        try:
            held = lazy_predicate(test, get, lambda f: make_getter(route.path(f)), memo=1)(event)
        except (ValueError, TypeError):
            continue
        if held:
            seen.add(field)
            selections = [name for name, fields in rule.selections.items() if field in fields]
            value = _short(get(event))
            out.append({"field": field, "path": path, "value": value, "selections": selections})
    return out
