"""Why a rule fired on an event: each field test of the rule that holds, with the event's value
and the rule's selections that test the field (for scan findings and the console's alert page).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aurora.detection.ir import Node, Test
from aurora.detection.predicates import Getter, Lazy, lazy_predicate, make_getter
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


# A rule's positive field tests, built once per (rule, route): a scan explains thousands of findings
# of the same few rules. Keyed by the rule object's id, and the rule kept so the id cannot be
# reused by another rule while its entry lives.
_Check = tuple[str, str, Getter, Lazy, list[str]]
_CHECKS: dict[tuple[int, Any], tuple[Rule, list[_Check]]] = {}
MAX_CACHED = 4096


def _checks(rule: Rule, route: Route) -> list[_Check]:
    key = (id(rule), route.key)
    cached = _CHECKS.get(key)
    if cached is not None and cached[0] is rule:
        return cached[1]
    checks: list[_Check] = []
    for field, test in _positive_tests(rule.ir):
        path = route.path(field)
        get = make_getter(path)
        try:
            pred = lazy_predicate(test, get, lambda f: make_getter(route.path(f)), memo=64)
        except (ValueError, TypeError):
            continue
        selections = [name for name, fields in rule.selections.items() if field in fields]
        checks.append((field, path, get, pred, selections))
    if len(_CHECKS) >= MAX_CACHED:
        _CHECKS.clear()
    _CHECKS[key] = (rule, checks)
    return checks


def matched_fields(rule: Rule, event: dict[str, Any], route: Route) -> list[dict[str, Any]]:
    """Each field test of ``rule`` that holds on ``event``: field, OCSF path, value and the
    rule's selections that test the field, once per field."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for field, path, get, pred, selections in _checks(rule, route):
        if field in seen:
            continue
        try:
            held = pred(event)
        except (ValueError, TypeError):
            continue
        if held:
            seen.add(field)
            value = _short(get(event))
            out.append({"field": field, "path": path, "value": value, "selections": selections})
    return out
