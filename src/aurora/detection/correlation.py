"""Sigma correlation rules: event_count, value_count, temporal and temporal_ordered.

State is kept per (correlation, group-by values) as a time-ordered deque of recent hits. It is
bounded twice: entries older than the timespan are evicted on every update (the window is
inclusive: hits exactly ``timespan`` seconds apart still correlate), and the number of groups is
capped (least recently updated group evicted first), so a flood of distinct keys cannot grow
memory without bound. A group that fires is cleared, so one burst gives one finding.
"""

from __future__ import annotations

import operator
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaCorrelationCondition,
    SigmaCorrelationRule,
    SigmaCorrelationType,
    SigmaRuleReference,
)

from aurora.config.detection import DetectionConfig
from aurora.detection.findings import Finding
from aurora.detection.predicates import Getter, make_getter
from aurora.detection.rules import Rule, RuleFailure
from aurora.ocsf.field_mapping import default_mapping

_OPS: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "eq": operator.eq,
    "neq": operator.ne,
}
MAX_EVIDENCE = 20


@dataclass
class CorrelationInfo:
    """The rule-like view of a correlation rule, for findings and listings."""

    id: str
    title: str
    level: str
    tags: list[str]
    description: str
    type: str
    timespan: float
    refs: list[str]  # referenced rule ids, in order
    group_by: list[str]
    op: str = "gte"
    count: float = 1
    value_field: str | None = None
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)  # alias -> rule id -> field
    expression: Any = None  # extended temporal condition, over rule ids
    enabled: bool = True


class _Group:
    __slots__ = ("hits",)

    def __init__(self) -> None:
        # (time, index of the referenced rule, value for value_count, event)
        self.hits: deque[tuple[float, int, Any, dict[str, Any]]] = deque()


class CorrelationEngine:
    """Feeds detection-rule hits into the correlation rules that reference them."""

    def __init__(
        self,
        correlations: list[SigmaCorrelationRule],
        rules: list[Rule],
        config: DetectionConfig,
        errors: list[RuleFailure],
    ) -> None:
        self.max_groups = config.correlation_max_groups
        self.max_hits = config.correlation_max_events
        self.infos: list[CorrelationInfo] = []
        self._by_rule: dict[str, list[int]] = {}
        self._state: list[OrderedDict[tuple[Any, ...], _Group]] = []
        self._getters: dict[tuple[Any, str], Getter] = {}
        by_key: dict[str, Rule] = {r.id: r for r in rules}
        by_key.update({r.name: r for r in rules if r.name})
        for corr in correlations:
            info = self._info(corr, by_key, errors)
            if info is None:
                continue
            idx = len(self.infos)
            self.infos.append(info)
            self._state.append(OrderedDict())
            for rid in dict.fromkeys(info.refs):
                self._by_rule.setdefault(rid, []).append(idx)
            if not corr.generate:
                for rid in info.refs:
                    by_key[rid].emits = False

    @property
    def active(self) -> bool:
        return bool(self.infos)

    @staticmethod
    def _info(
        corr: SigmaCorrelationRule, by_key: dict[str, Rule], errors: list[RuleFailure]
    ) -> CorrelationInfo | None:
        path = getattr(corr, "source_path", None)
        refs: list[str] = []
        for ref in corr.rules or []:
            target = by_key.get(ref.reference)
            if target is None:
                errors.append(
                    RuleFailure(
                        path,
                        str(corr.id),
                        corr.title,
                        f"correlation references unknown or uncompiled rule {ref.reference}",
                    )
                )
                return None
            refs.append(target.id)
        ctype = corr.type.name.lower()
        if corr.type not in (
            SigmaCorrelationType.EVENT_COUNT,
            SigmaCorrelationType.VALUE_COUNT,
            SigmaCorrelationType.TEMPORAL,
            SigmaCorrelationType.TEMPORAL_ORDERED,
        ):
            errors.append(
                RuleFailure(path, str(corr.id), corr.title, f"correlation type {ctype} unsupported")
            )
            return None
        info = CorrelationInfo(
            id=str(corr.id) if corr.id else corr.title,
            title=corr.title,
            level=corr.level.name.lower() if corr.level else "medium",
            tags=[str(t) for t in corr.tags],
            description=corr.description or "",
            type=ctype,
            timespan=float(corr.timespan.seconds),
            refs=refs,
            group_by=list(corr.group_by or []),
        )
        cond = corr.condition
        if isinstance(cond, SigmaCorrelationCondition):
            info.op = cond.op.name.lower()
            info.count = cond.count
            info.value_field = cond.fieldref if isinstance(cond.fieldref, str) else None
        else:
            info.expression = _expr(cond._parsed, by_key)
        for alias in corr.aliases:
            info.aliases[alias.alias] = {
                by_key[r.reference].id: f for r, f in alias.mapping.items() if r.reference in by_key
            }
        return info

    def _get(self, event: dict[str, Any], field: str) -> Any:
        route = default_mapping().route_of(event)
        key = (route.key, field)
        g = self._getters.get(key)
        if g is None:
            g = self._getters[key] = make_getter(route.path(field))
        return g(event)

    def observe(self, rule: Rule, event: dict[str, Any], now: float) -> list[Finding]:
        out: list[Finding] = []
        for idx in self._by_rule.get(rule.id, ()):
            info = self.infos[idx]
            if not info.enabled:
                continue
            fields = [info.aliases.get(g, {}).get(rule.id, g) for g in info.group_by]
            gkey = tuple(str(self._get(event, f)) for f in fields)
            groups = self._state[idx]
            grp = groups.get(gkey)
            if grp is None:
                grp = groups[gkey] = _Group()
                if len(groups) > self.max_groups:
                    groups.popitem(last=False)
            else:
                groups.move_to_end(gkey)
            value = self._get(event, info.value_field) if info.value_field else None
            hits = grp.hits
            hits.append((now, info.refs.index(rule.id), value, event))
            while hits and hits[0][0] < now - info.timespan:
                hits.popleft()
            while len(hits) > self.max_hits:
                hits.popleft()
            if self._fires(info, hits):
                evidence = [h[3] for h in list(hits)[-MAX_EVIDENCE:]]
                key = ",".join(f"{f}={v}" for f, v in zip(info.group_by, gkey, strict=True))
                out.append(
                    Finding(info, evidence, "correlation", key, {"correlation_type": info.type})
                )
                del groups[gkey]
        return out

    @staticmethod
    def _fires(info: CorrelationInfo, hits: deque[tuple[float, int, Any, dict[str, Any]]]) -> bool:
        if info.type == "event_count":
            return _OPS[info.op](len(hits), info.count)
        if info.type == "value_count":
            distinct = {h[2] for h in hits if h[2] is not None}
            return _OPS[info.op](len(distinct), info.count)
        if info.expression is not None:
            seen = {info.refs[h[1]] for h in hits}
            return bool(info.expression(seen))
        if info.type == "temporal":
            return len({h[1] for h in hits}) == len(set(info.refs))
        # temporal_ordered: the referenced rules occur as a subsequence, in the listed order
        want = 0
        for h in hits:
            if h[1] == want:
                want += 1
                if want == len(info.refs):
                    return True
        return False


def _expr(node: Any, by_key: dict[str, Rule]) -> Callable[[set[str]], bool]:
    """Compile an extended temporal condition (and/or/not over rule names) to a predicate."""
    if isinstance(node, SigmaRuleReference):
        rid = by_key[node.reference].id if node.reference in by_key else node.reference
        return lambda seen: rid in seen
    subs = [_expr(a, by_key) for a in node.args]
    if isinstance(node, CorrelationConditionAND):
        return lambda seen: all(s(seen) for s in subs)
    if isinstance(node, CorrelationConditionOR):
        return lambda seen: any(s(seen) for s in subs)
    if isinstance(node, CorrelationConditionNOT):
        return lambda seen: not subs[0](seen)
    raise ValueError(f"unknown correlation condition {type(node).__name__}")
