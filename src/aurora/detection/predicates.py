"""Field access and the lazily evaluated predicates (regex, CIDR, numbers, field references...).

Literal predicates are answered by the per-field index (:mod:`aurora.detection.matcher`); the
ones here are only called for rules that are already candidates, so they may be slower.
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from aurora.detection.ir import Test
from aurora.detection.regex import finder

Getter = Callable[[dict[str, Any]], Any]
Lazy = Callable[[dict[str, Any]], bool]


def make_getter(path: str) -> Getter:
    """A fast accessor for a dotted OCSF path; missing or non-dict steps give None."""
    parts = path.split(".")
    if len(parts) == 1:
        k0 = parts[0]
        return lambda ev: ev.get(k0)
    if len(parts) == 2:
        a, b = parts

        def get2(ev: dict[str, Any]) -> Any:
            x = ev.get(a)
            return x.get(b) if x.__class__ is dict else None

        return get2

    def get(ev: dict[str, Any]) -> Any:
        x: Any = ev
        for p in parts:
            if x.__class__ is not dict:
                return None
            x = x.get(p)
        return x

    return get


def as_text(v: Any) -> str:
    """How a non-string event value compares against Sigma strings and numbers."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def texts(v: Any) -> Iterator[str]:
    """Every comparable string in a field value (lists match when any element matches)."""
    if v is None or v.__class__ is dict:
        return
    if v.__class__ is list:
        for x in v:
            if x is not None and x.__class__ is not dict:
                yield x if x.__class__ is str else as_text(x)
        return
    yield v if v.__class__ is str else as_text(v)


def all_strings(v: Any) -> Iterator[str]:
    """Every scalar below ``v``, for Sigma keyword (field-less) searches."""
    if v.__class__ is dict:
        for x in v.values():
            yield from all_strings(x)
    elif v.__class__ is list:
        for x in v:
            yield from all_strings(x)
    elif v is not None:
        yield v if v.__class__ is str else as_text(v)


def keyword_scope(ev: dict[str, Any]) -> Any:
    """Keywords search the raw record when there is one (Windows), else the whole event."""
    raw = ev.get("unmapped")
    return raw if raw is not None else ev


_CMP: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "neq": operator.ne,
}

_STR_OPS: dict[str, Callable[[str, str], bool]] = {
    "eq": operator.eq,
    "contains": operator.contains,
    "prefix": str.startswith,
    "suffix": str.endswith,
}


def _number(x: str) -> float | None:
    try:
        return float(x)
    except ValueError:
        try:
            return float(int(x, 0))
        except ValueError:
            return None


def _ip(x: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(x.strip("[]"))
    except ValueError:
        return None


class KeywordText:
    """The lower-cased text of one event's record, built once per event for keyword rules."""

    __slots__ = ("_event", "_text")

    def __init__(self) -> None:
        self._event: dict[str, Any] | None = None
        self._text = ""

    def __call__(self, ev: dict[str, Any]) -> str:
        if ev is not self._event:
            self._text = "\n".join(all_strings(keyword_scope(ev)))
            self._event = ev
        return self._text


# System header fields of a Windows record (see aurora.sensor.windows): not searched by keywords.
WINDOWS_SYSTEM_FIELDS = frozenset(
    {
        "Provider_Name", "Provider_Guid", "Provider_EventSourceName", "EventID",
        "EventID_Qualifiers", "Version", "Level", "Task", "Opcode", "Keywords",
        "TimeCreated_SystemTime", "EventRecordID", "Correlation_ActivityID",
        "Correlation_RelatedActivityID", "Execution_ProcessID", "Execution_ThreadID",
        "Channel", "Computer", "Security_UserID",
    }
)  # fmt: skip


def flatten(v: Any, out: list[str]) -> None:
    """Append every scalar below ``v`` to ``out``, as text."""
    # A plain recursive walk: generators cost a frame switch per scalar on this hot path.
    cls = v.__class__
    if cls is dict:
        for x in v.values():
            xc = x.__class__
            if xc is str:
                out.append(x)
            elif xc is dict or xc is list:
                flatten(x, out)
            elif x is not None:
                out.append(as_text(x))
    elif cls is list:
        for x in v:
            flatten(x, out)
    elif cls is str:
        out.append(v)
    elif v is not None:
        out.append(as_text(v))


def keyword_predicate(test: Test, text: KeywordText) -> Lazy:
    """Field-less test: any scalar in the record contains (or matches) the keyword."""
    if test.kind in ("glob", "re"):
        pattern = test.value
        if test.kind == "glob":
            # A keyword glob is unanchored: `*` at the ends is implied by full-text search.
            pattern = pattern.removeprefix("^").removesuffix(r"\Z")
        find = finder(pattern, test.flags)
        return lambda ev: any(find(s) for s in all_strings(keyword_scope(ev)))
    lit = test.value
    if test.kind.startswith("cased_"):
        op = _STR_OPS[test.kind[6:]]
        return lambda ev: any(op(s, lit) for s in all_strings(keyword_scope(ev)))
    if test.kind in ("prefix", "suffix"):
        op = _STR_OPS[test.kind]
        return lambda ev: any(op(s.lower(), lit) for s in all_strings(keyword_scope(ev)))
    return lambda ev: lit in text(ev)


def _memoised(on_text: Callable[[str], bool], get: Getter, size: int) -> Lazy:
    """Evaluate a per-string test once per distinct value (values repeat across events)."""
    memo: dict[str, bool] = {}
    if size <= 0:
        return lambda ev: any(on_text(s) for s in texts(get(ev)))

    def test(ev: dict[str, Any]) -> bool:
        v = get(ev)
        if v.__class__ is str:
            r = memo.get(v)
            if r is None:
                if len(memo) >= size:
                    memo.clear()
                r = memo[v] = on_text(v)
            return r
        return any(on_text(s) for s in texts(v))

    return test


TEXT_KINDS = frozenset({"glob", "re", "cidr", "cmp"})


def text_predicate(test: Test) -> Callable[[str], bool] | None:
    """For tests decided by one value's text alone (regex, glob, cased, CIDR, numbers), the
    function of that text; None for tests that need the event (field refs, presence, time)."""
    kind, value = test.kind, test.value
    if kind in ("glob", "re"):
        return finder(value, test.flags, anchored=kind == "glob")
    if kind.startswith("cased_"):
        op = _STR_OPS[kind[6:]]
        return lambda s: op(s, value)
    if kind == "cidr":
        net = value

        def in_net(s: str) -> bool:
            ip = _ip(s)
            return ip is not None and ip.version == net.version and ip in net

        return in_net
    if kind == "cmp":
        cmp, num = _CMP[value[0]], value[1]

        def compare(s: str) -> bool:
            n = _number(s)
            return n is not None and cmp(n, num)

        return compare
    return None


def lazy_predicate(
    test: Test, get: Getter, resolve: Callable[[str], Getter], memo: int = 4096
) -> Lazy:
    """Build the evaluator of a non-indexed test on one field."""
    kind, value = test.kind, test.value
    on_text = text_predicate(test)
    if on_text is not None:
        return _memoised(on_text, get, memo)
    if kind in _STR_OPS:  # indexed kinds, evaluated directly (used when no index applies)
        op = _STR_OPS[kind]
        return lambda ev: any(op(s.lower(), value) for s in texts(get(ev)))
    if kind == "null":
        return lambda ev: get(ev) is None
    if kind == "exists":
        want = bool(value)
        return lambda ev: (get(ev) is not None) is want
    if kind == "ref":
        other = resolve(value[0])
        startswith, endswith = value[1], value[2]

        def ref(ev: dict[str, Any]) -> bool:
            b = other(ev)
            if b is None:
                return False
            bs = as_text(b).lower() if b.__class__ is not str else b.lower()
            for s in texts(get(ev)):
                s = s.lower()
                if (startswith and s.startswith(bs)) or (endswith and s.endswith(bs)):
                    return True
                if not startswith and not endswith and s == bs:
                    return True
            return False

        return ref
    if kind == "tspart":
        part, num = value

        def tspart(ev: dict[str, Any]) -> bool:
            t = ev.get("time")
            if not isinstance(t, int | float):
                return False
            dt = datetime.fromtimestamp(t / 1000, UTC)
            got = {
                "minute": dt.minute,
                "hour": dt.hour,
                "day": dt.day,
                "week": dt.isocalendar()[1],
                "month": dt.month,
                "year": dt.year,
            }.get(part)
            return bool(got == num)

        return tspart
    raise ValueError(f"unknown test kind {kind}")
