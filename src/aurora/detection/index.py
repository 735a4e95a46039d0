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
        # (pid, test, guard pid): decided during the scan, so they are cached with the value.
        self.eager: list[tuple[int, TextTest, int | None]] = []
        # Keyword (field-less) literals this path carries on Linux, where keywords search the
        # event's text fields: they follow the keyword reading of odd values (see scan_value).
        self.keyword_pids: frozenset[int] = EMPTY

    def add(self, kind: str, lit: str, pid: int) -> None:
        if kind == "eq":
            self.exact.setdefault(lit, []).append(pid)
        else:
            self._words.setdefault(lit, ([], [], []))[_KIND_SLOT[kind]].append(pid)

    def freeze(self) -> None:
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
        if self.eager:
            seen = set(out)
            for pid, on_text, guard in self.eager:
                # a guarded test only runs when its literal is in this very value
                if (guard is None or guard in seen) and on_text(raw):
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
        if v.__class__ is str:
            return self.scan(v)
        if v is None:
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
        cache = self.cache
        for v in values:
            if v.__class__ is str:
                acc |= self.lookup(v)
            elif v.__class__ is list:
                texts: list[str] = []
                flatten(v, texts)
                for s in texts:
                    acc |= self.lookup(s)
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
        return frozenset(acc) if acc else EMPTY


def whole_event_keywords(fi: FieldIndex, scope: Callable[[dict[str, Any]], Any]) -> Slot:
    """Keywords over every scalar of ``scope(ev)`` (records without a known layout)."""

    def slot(ev: dict[str, Any]) -> frozenset[int]:
        texts: list[str] = []
        flatten(scope(ev), texts)
        return fi.scan_texts(texts)

    return slot


def _nothing(raw: dict[str, Any]) -> tuple[()]:
    return ()


def windows_keywords(fi: FieldIndex, fallback: Slot) -> Slot:
    """Keywords over a Windows record's event data (``unmapped`` less the System header).

    Records of one route share their field layout, so the layout is learned from the first
    record and every later record with the same keys is read with C-level ``itemgetter`` and
    ``map`` over the value cache; a record of another layout takes the general path (and is
    learned in turn). Both give the union of the per-value answers, so results are the same.
    """
    n_keys = -1
    check: Callable[[dict[str, Any]], Any] = _nothing
    data: Callable[[dict[str, Any]], Any] = _nothing
    get = fi.cache.get
    only_empty = {EMPTY}

    def learn(raw: dict[str, Any]) -> None:
        nonlocal n_keys, check, data
        keys = tuple(raw)
        values = tuple(k for k in keys if k not in WINDOWS_SYSTEM_FIELDS)
        n_keys = len(keys)
        check = operator.itemgetter(*keys) if keys else _nothing
        if len(values) == 1:
            only = values[0]
            data = lambda r: (r[only],)  # noqa: E731
        else:
            data = operator.itemgetter(*values) if values else _nothing

    def slot(ev: dict[str, Any]) -> frozenset[int]:
        raw = ev.get("unmapped")
        if raw.__class__ is not dict:
            return fallback(ev)
        if len(raw) == n_keys:
            try:
                check(raw)  # every learned key is here, and no other (same count)
                values = data(raw)
                hits = set(map(get, values))
            except (KeyError, TypeError):  # other keys, or a list value (unhashable)
                pass
            else:
                if hits == only_empty:
                    return EMPTY
                if None not in hits:
                    return frozenset().union(*hits)
                return fi.scan_texts(values)
        learn(raw)
        return fi.scan_texts(v for k, v in raw.items() if k not in WINDOWS_SYSTEM_FIELDS)

    return slot
