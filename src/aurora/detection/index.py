"""The literal index of one OCSF path, and the keyword reader of Windows records.

A :class:`FieldIndex` answers, for one value of its path, the set of literal predicate ids
that hold: exact values from a hashed set, substrings / prefixes / suffixes from one
Aho-Corasick automaton (pyahocorasick), text tests (regexes, CIDRs, ...) decided once per
distinct value, and the path's presence. Answers are frozensets memoised per value: telemetry
repeats values (image paths, users, parents) far more often than whole events, and a frozenset
keeps its hash, so the per-event key built from them hashes cheaply.
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

import ahocorasick

from aurora.detection.predicates import WINDOWS_SYSTEM_FIELDS, Getter, as_text, flatten

EMPTY: frozenset[int] = frozenset()
_SECOND = operator.itemgetter(1)
_KIND_SLOT = {"contains": 0, "prefix": 1, "suffix": 2}
TextTest = Callable[[str], bool]
Slot = Callable[[dict[str, Any]], frozenset[int]]


class FieldIndex:
    """Literal predicates on one OCSF path (or on a virtual path such as the keyword text)."""

    __slots__ = (
        "_free",
        "_guarded",
        "_guards",
        "_sets",
        "_words",
        "automaton",
        "cache",
        "cap",
        "eager",
        "exact",
        "get",
        "keyword_pids",
        "path",
        "present",
        "words",
    )

    def __init__(self, path: str, get: Getter, cap: int) -> None:
        self.path = path
        self.get = get
        self.cap = cap  # value-cache size; 0 keeps nothing (every value scanned anew)
        self.exact: dict[str, list[int]] = {}
        self._words: dict[str, tuple[list[int], list[int], list[int]]] = {}
        self.words: list[tuple[str, tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = []
        self.automaton: Any = None
        # Answers per value (str, or (class, value) for numbers and flags), cleared in place
        # when full so it stays bounded; None (no value) is always there and hits nothing.
        self.cache: dict[Any, frozenset[int]] = {None: EMPTY}
        self._sets: dict[frozenset[int], frozenset[int]] = {}  # one object per distinct answer
        self.present: int | None = None  # literal id meaning "the field has a value"
        # Text tests of rules no literal gates, or gated by a literal of this very value
        # (pid, test, guard pid or None, prefilter): decided during the scan, so they are
        # cached with the value. The prefilter is a short literal the test needs (lower-cased).
        self.eager: list[tuple[int, TextTest, int | None, str | None]] = []
        self._free: list[tuple[int, TextTest, str | None]] = []
        self._guarded: dict[int, list[tuple[int, TextTest]]] = {}
        self._guards: frozenset[int] = EMPTY
        # Keyword (field-less) literals this path carries on Linux, where keywords search the
        # event's text fields: they follow the keyword reading of odd values (see scan_value).
        self.keyword_pids: frozenset[int] = EMPTY

    def add(self, kind: str, lit: str, pid: int) -> None:
        if kind == "eq":
            self.exact.setdefault(lit, []).append(pid)
        else:
            self._words.setdefault(lit, ([], [], []))[_KIND_SLOT[kind]].append(pid)

    def freeze(self) -> None:
        for pid, on_text, guard, pre in self.eager:
            if guard is None:
                self._free.append((pid, on_text, pre))
            else:
                self._guarded.setdefault(guard, []).append((pid, on_text))
        self._guards = frozenset(self._guarded)
        if self._words:
            a = ahocorasick.Automaton()
            for lit, (c, p, s) in self._words.items():
                a.add_word(lit, len(self.words))
                self.words.append((lit, tuple(c), tuple(p), tuple(s)))
            a.make_automaton()
            self.automaton = a

    def scan(self, raw: str) -> frozenset[int]:
        """The literal ids that hold for the string ``raw`` (the value is present)."""
        s = raw.lower()
        out: list[int] = []
        if self.present is not None:
            out.append(self.present)
        hit = self.exact.get(s)
        if hit is not None:
            out.extend(hit)
        a = self.automaton
        if a is not None:
            words = self.words
            # distinct words only, collected in C: a literal such as `\` or `.exe` occurs many
            # times in one path, and its anchors are checked once on the string itself
            for w in set(map(_SECOND, a.iter(s))):
                lit, c, p, x = words[w]
                if c:
                    out.extend(c)
                if p and s.startswith(lit):
                    out.extend(p)
                if x and s.endswith(lit):
                    out.extend(x)
        if self._free:
            for pid, on_text, pre in self._free:
                if (pre is None or pre in s) and on_text(raw):
                    out.append(pid)
        if self._guards:
            # a guarded test only runs when its literal is in this very value
            for g in self._guards.intersection(out):
                for pid, on_text in self._guarded[g]:
                    if on_text(raw):
                        out.append(pid)
        return self._keep(raw, frozenset(out))

    def _keep(self, key: Any, res: frozenset[int]) -> frozenset[int]:
        if not res:
            res = EMPTY
        if self.cap:
            res = self._sets.setdefault(res, res)
            cache = self.cache
            if len(cache) >= self.cap:
                cache.clear()
                cache[None] = EMPTY
                self._sets.clear()
            cache[key] = res
        return res

    def value(self, v: Any) -> frozenset[int]:
        """The answer for any value of this path (the generated code calls it on a miss)."""
        cls = v.__class__
        if cls is str:
            return self.scan(v)
        if cls is bool or cls is int or cls is float:
            hits = self.cache.get((cls, v))
            if hits is not None:
                return hits
        elif v is None:
            return EMPTY
        return self.scan_value(v)

    def lookup(self, s: str) -> frozenset[int]:
        hits = self.cache.get(s)
        return self.scan(s) if hits is None else hits

    def scan_value(self, v: Any) -> frozenset[int]:
        """Any non-None value that is not a string: lists match per element, other scalars as
        their text; a dict is only present. Keyword literals read every scalar below."""
        cls = v.__class__
        if cls is int or cls is bool or cls is float:
            # numbers and flags repeat like strings do; keyed with their class, as 1, 1.0
            # and True are equal keys but read as different texts
            key = (cls, v)
            hits = self.cache.get(key)
            if hits is None:
                hits = self._keep(key, self.lookup(as_text(v)))
            return hits
        acc: set[int] = set()
        if cls is list:
            for x in v:
                if x.__class__ is str:
                    acc |= self.lookup(x)
                elif x is not None and x.__class__ is not dict:
                    acc |= self.scan(as_text(x))
        elif v.__class__ is not dict:
            acc |= self.lookup(as_text(v))
        if self.keyword_pids and (v.__class__ is dict or v.__class__ is list):
            acc -= self.keyword_pids
            texts: list[str] = []
            flatten(v, texts)
            for s in texts:
                acc |= self.lookup(s) & self.keyword_pids
        if self.present is not None:
            acc.add(self.present)
        return frozenset(acc) if acc else EMPTY

    def scan_texts(self, values: Any) -> frozenset[int]:
        """Keyword semantics over a sequence of record values: strings are searched, lists
        are flattened, other values (numbers, dicts) are not text and hit nothing."""
        acc: set[int] = set()
        new: list[str] = []
        cache = self.cache
        for v in values:
            if v.__class__ is str:
                hits = cache.get(v)
                if hits is None:
                    new.append(v)
                else:
                    acc |= hits
            elif v.__class__ is list:
                texts: list[str] = []
                flatten(v, texts)
                for s in texts:
                    hits = cache.get(s)
                    if hits is None:
                        new.append(s)
                    else:
                        acc |= hits
            elif self.cap and v.__class__ is not dict:
                # keep non-text scalars too (as hitting nothing) so the reader's C-level
                # lookups find every value of a repeated record layout
                try:
                    if len(cache) >= self.cap:
                        cache.clear()
                        cache[None] = EMPTY
                        self._sets.clear()
                    cache[v] = EMPTY
                except TypeError:
                    pass
        if new:
            if self.exact or self.eager or self.present is not None:
                for s in new:
                    acc |= self.scan(s)
            else:
                acc |= self._scan_joined(new)
        return frozenset(acc) if acc else EMPTY

    def _scan_joined(self, texts: list[str]) -> set[int]:
        """Scan many new values in one automaton pass over their newline-joined text, then
        attribute each match to its value (matches across a separator do not count), so the
        answer per value, and its caching, are those of :meth:`scan`."""
        lows = [t.lower() for t in texts]
        per: dict[int, list[int]] = {}
        a = self.automaton
        if a is not None:
            starts: list[int] = []
            pos = 0
            for low in lows:
                starts.append(pos)
                pos += len(low) + 1
            words = self.words
            for end, w in a.iter("\n".join(lows)):
                lit, c, p, x = words[w]
                start = end - len(lit) + 1
                i = bisect_right(starts, start) - 1
                first = starts[i]
                last = first + len(lows[i]) - 1
                if end > last:
                    continue
                out = per.setdefault(i, [])
                if c:
                    out.extend(c)
                if p and start == first:
                    out.extend(p)
                if x and end == last:
                    out.extend(x)
        acc: set[int] = set()
        for i, t in enumerate(texts):
            hits = self._keep(t, frozenset(per[i]) if i in per else EMPTY)
            acc |= hits
        return acc


def whole_event_keywords(fi: FieldIndex, scope: Callable[[dict[str, Any]], Any]) -> Slot:
    """Keywords over every scalar of ``scope(ev)`` (records without a known layout)."""

    def slot(ev: dict[str, Any]) -> frozenset[int]:
        texts: list[str] = []
        flatten(scope(ev), texts)
        return fi.scan_texts(texts)

    return slot


def windows_keywords(fi: FieldIndex, fallback: Slot) -> Slot:
    """Keywords over a Windows record's event data (``unmapped`` less the System header).

    Records of one route share their field layout (same keys in the same order), so the
    positions of the event-data values are learned from the first record; a later record with
    the same key sequence is read by position, and its values are looked up in the value cache
    with C-level ``map``. A record of another layout is learned in turn. Values not seen before
    are scanned together in one pass (:meth:`FieldIndex.scan_texts`).
    """
    layout: tuple[str, ...] | None = None
    pick: Callable[[tuple[Any, ...]], Any] = _nothing
    get = fi.cache.get
    only_empty = {EMPTY}

    def learn(raw: dict[str, Any]) -> None:
        nonlocal layout, pick
        layout = tuple(raw)
        at = [i for i, k in enumerate(layout) if k not in WINDOWS_SYSTEM_FIELDS]
        if len(at) == 1:
            only = at[0]
            pick = lambda vs: (vs[only],)  # noqa: E731
        else:
            pick = operator.itemgetter(*at) if at else _nothing

    def slot(ev: dict[str, Any]) -> frozenset[int]:
        raw = ev.get("unmapped")
        if raw.__class__ is not dict:
            return fallback(ev)
        if tuple(raw) != layout:
            learn(raw)
        values = pick(tuple(raw.values()))
        try:
            hits = set(map(get, values))
        except TypeError:  # a list value (unhashable)
            return fi.scan_texts(values)
        if hits == only_empty:
            return EMPTY
        if None not in hits:
            return EMPTY.union(*hits)  # type: ignore[arg-type]
        return fi.scan_texts(values)

    return slot


def _nothing(values: Any) -> tuple[()]:
    return ()
