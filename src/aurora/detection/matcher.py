"""The compiled rule set of one route: per-field literal indexes plus generated rule code.

For each event the matcher (1) looks up every field that some rule tests with a literal, in a
hashed set (exact values) and one Aho-Corasick automaton (substring/prefix/suffix), collecting
the ids of the literal predicates that hold (regexes and other text tests are decided in the
same pass, once per distinct value, when their guard literal is present); (2) maps those ids to
the rules that cannot match without one of them; (3) runs only those rules' conditions,
compiled to Python expressions over the id set. Rules that could match with no literal true
(pure negations, field references) are always evaluated. Cost therefore follows the number of
literals that hit, not the number of rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ahocorasick

from aurora.detection.extract import compile_hits
from aurora.detection.ir import INDEXED_KINDS, Node, Test, map_tests, simplify
from aurora.detection.mapping import Route
from aurora.detection.predicates import (
    Getter,
    KeywordText,
    Lazy,
    as_text,
    flatten,
    keyword_predicate,
    lazy_predicate,
    make_getter,
    text_predicate,
    windows_keyword_reader,
)
from aurora.detection.rules import Rule

KEYWORD_PATH = "<keywords>"  # virtual field: the whole record's text, for field-less rules
KEYWORD_TEXT_SUFFIXES = ("cmd_line", ".path", ".name", "hostname", "working_directory")
RuleFn = Callable[[set[int], dict[str, Any]], bool]


class _FieldIndex:
    """Literal predicates on one OCSF path."""

    __slots__ = ("_words", "automaton", "cache", "eager", "exact", "get", "path", "present")

    def __init__(self, path: str) -> None:
        self.path = path
        self.get: Getter = make_getter(path)
        self.exact: dict[str, list[int]] = {}
        self._words: dict[str, tuple[list[int], list[int], list[int]]] = {}
        self.automaton: Any = None
        # Field values repeat a lot in telemetry (image paths, users, parent command lines), so
        # the literal ids of recent values are remembered; cleared when full to stay bounded.
        self.cache: dict[str, tuple[int, ...]] = {}
        self.present: int | None = None  # literal id meaning "the field has a value"
        # Text tests (regex, glob, ...) of rules that no literal gates: decided once per value
        # while scanning, so they are cached with the value like any literal.
        self.eager: list[tuple[int, Callable[[str], bool], int | None]] = []

    def add(self, kind: str, lit: str, pid: int) -> None:
        if kind == "eq":
            self.exact.setdefault(lit, []).append(pid)
            return
        slot = {"contains": 0, "prefix": 1, "suffix": 2}[kind]
        self._words.setdefault(lit, ([], [], []))[slot].append(pid)

    def freeze(self) -> None:
        self.exact = {k: v for k, v in self.exact.items()}
        if self._words:
            a = ahocorasick.Automaton()
            for lit, (c, p, s) in self._words.items():
                a.add_word(lit, (len(lit), tuple(c), tuple(p), tuple(s)))
            a.make_automaton()
            self.automaton = a


def _necessary(node: Node) -> frozenset[int] | None:
    """Literal ids of which at least one must hold for ``node`` to be true, or None if unknown."""
    op = node[0]
    if op == "p":
        return frozenset((node[1],))
    if op == "or":
        acc: set[int] = set()
        for c in node[1]:
            n = _necessary(c)
            if n is None:
                return None
            acc |= n
        return frozenset(acc)
    if op == "and":
        best: frozenset[int] | None = None
        for c in node[1]:
            n = _necessary(c)
            if n is not None and (best is None or len(n) < len(best)):
                best = n
        return best
    if op == "false":
        return frozenset()
    return None


def _is_pure(node: Node) -> bool:
    """True when the node reads only literal ids (no lazy predicate, so no event access)."""
    op = node[0]
    if op == "l":
        return False
    if op in ("and", "or"):
        return all(_is_pure(c) for c in node[1])
    if op == "not":
        return _is_pure(node[1])
    return True


class _CodeGen:
    def __init__(self) -> None:
        self.consts: list[frozenset[int]] = []

    def expr(self, node: Node) -> str:
        op = node[0]
        if op == "p":
            return f"({node[1]} in t)"
        if op == "l":
            return f"L[{node[1]}](ev)"
        if op == "true":
            return "True"
        if op == "false":
            return "False"
        if op == "not":
            return f"(not {self.expr(node[1])})"
        children = node[1]
        pids = [c[1] for c in children if c[0] == "p"]
        rest = [c for c in children if c[0] != "p"]
        # literal ids first: set lookups are cheap and short-circuit the lazy calls
        rest.sort(key=lambda c: c[0] == "l")
        parts: list[str] = []
        if len(pids) >= 3:
            self.consts.append(frozenset(pids))
            k = len(self.consts) - 1
            parts.append(f"C[{k}].issubset(t)" if op == "and" else f"(not C[{k}].isdisjoint(t))")
        else:
            parts.extend(f"({p} in t)" for p in pids)
        parts.extend(self.expr(c) for c in rest)
        return "(" + f" {op} ".join(parts) + ")"


class RouteMatcher:
    """All rules that apply to one route, compiled for that route's field paths."""

    def __init__(self, route: Route, rules: Sequence[Rule], value_cache: int = 4096) -> None:
        self.route = route
        self.value_cache = value_cache
        self.plan_cache = value_cache
        self._plans: dict[frozenset[int], tuple[tuple[Rule, ...], tuple[int, ...]]] = {}
        self._index: dict[str, _FieldIndex] = {}
        self._literal_ids: dict[tuple[str, str, Any], int] = {}
        self._lazy_ids: dict[tuple[Any, ...], int] = {}
        self._lazies: list[Lazy] = []
        self._getters: dict[str, Getter] = {}
        self._keyword_text = KeywordText()
        self._consts = self._route_constants(route)
        gen = _CodeGen()
        self.rules: list[Rule] = []
        self._fns: list[RuleFn] = []
        by_pid: dict[int, list[int]] = {}
        always: list[int] = []
        self._pure: list[bool] = []
        for rule in rules:
            node = simplify(map_tests(rule.ir, self._leaf))
            if node == ("false",):
                continue  # cannot match on this route (e.g. another EventID)
            if _necessary(node) is None:
                # Nothing gates this rule: index its text tests too, so it only runs when one
                # of them holds instead of on every event.
                eager = simplify(map_tests(rule.ir, self._eager_leaf))
                if _necessary(eager) is not None:
                    node = eager
            i = len(self.rules)
            self.rules.append(rule)
            # The generated expression holds only ids and indices, never rule text.
            src = "lambda t, ev: " + gen.expr(node)
            self._fns.append(eval(src, {"L": self._lazies, "C": gen.consts}))
            self._pure.append(_is_pure(node))
            need = _necessary(node)
            if need is None:
                always.append(i)
            else:
                for pid in need:
                    by_pid.setdefault(pid, []).append(i)
        for fi in self._index.values():
            fi.freeze()
        self._fields = tuple(self._index.values())
        self.literal_hits = compile_hits(
            self._fields,
            self._scan,
            self._slow,
            KEYWORD_PATH,
            self._keyword_paths(),
            flatten,
        )
        self._by_pid = {k: tuple(v) for k, v in by_pid.items()}
        self._always = tuple(always)

    @staticmethod
    def _route_constants(route: Route) -> dict[str, str]:
        # Windows routes fix the channel and event id, so tests on them fold to constants.
        if route.product == "windows":
            return {"unmapped.EventID": str(route.key[2]), "unmapped.Channel": str(route.key[1])}
        return {}

    def _getter(self, path: str) -> Getter:
        g = self._getters.get(path)
        if g is None:
            g = self._getters[path] = make_getter(path)
        return g

    def _leaf(self, field: str | None, test: Test) -> Node:
        if field is None:
            if test.kind in INDEXED_KINDS:
                # Keywords are full-text search over every value of the record: a plain keyword
                # is a substring of some value, `x*` / `*x` anchor it to a value's start / end.
                kind = "contains" if test.kind == "eq" else test.kind
                return self._literal(KEYWORD_PATH, kind, test.value)
            lazy = self._lazy(("kw", test), lambda: keyword_predicate(test, self._keyword_text))
            if test.guard is not None:
                return ("and", [self._literal(KEYWORD_PATH, "contains", test.guard), lazy])
            return lazy
        if test.guard is not None:
            # A text test with a required literal: evaluated while scanning the value, and
            # only when the literal is in it, so it costs one regex per new matching value.
            return self._eager_leaf(field, test)
        path = self.route.path(field)
        const = self._consts.get(path)
        if const is not None and test.kind == "eq":
            return ("true",) if const == test.value else ("false",)
        if test.kind in INDEXED_KINDS:
            return self._literal(path, test.kind, test.value)
        if test.kind in ("null", "exists"):
            present = self._presence(path)
            return ("not", present) if test.kind == "null" or not test.value else present
        return self._lazy(
            (path, test),
            lambda: lazy_predicate(
                test, self._getter(path), lambda f: self._getter(self.route.path(f))
            ),
        )

    def _eager_leaf(self, field: str | None, test: Test) -> Node:
        on_text = text_predicate(test) if field is not None else None
        if field is None or on_text is None:
            return self._leaf(field, test)
        path = self.route.path(field)
        guard = None
        if test.guard is not None:
            guard_node = self._literal(path, "contains", test.guard)
            guard = guard_node[1]
        key = (path, "eager", test)
        pid = self._literal_ids.get(key)
        if pid is None:
            pid = self._literal_ids[key] = len(self._literal_ids)
            self._field(path).eager.append((pid, on_text, guard))
        return ("p", pid)

    def _literal(self, path: str, kind: str, value: str) -> Node:
        key = (path, kind, value)
        pid = self._literal_ids.get(key)
        if pid is None:
            pid = self._literal_ids[key] = len(self._literal_ids)
            self._field(path).add(kind, value, pid)
        return ("p", pid)

    def _field(self, path: str) -> _FieldIndex:
        fi = self._index.get(path)
        if fi is None:
            fi = self._index[path] = _FieldIndex(path)
            if path == KEYWORD_PATH:
                fi.get = self._keyword_values()
        return fi

    def _keyword_values(self) -> Getter:
        """What field-less (keyword) tests search on this route.

        Windows: the raw record's text values (``unmapped``, less the System header fields).
        Linux sensor events have no raw line, so the text fields of the route's category
        (command lines, paths, names, host names) stand in for it; events of unmapped classes
        are searched whole. Numbers and identifiers are left out: keywords are text, and
        values unique to each event would defeat the per-value cache.
        """
        if self.route.product == "windows":
            return windows_keyword_reader()
        paths = self._keyword_paths()
        if paths is None:
            return KeywordText.values
        getters = [make_getter(p) for p in paths]

        def values(ev: dict[str, Any]) -> str:
            out: list[str] = []
            for g in getters:
                v = g(ev)
                if v.__class__ is str:
                    out.append(v)
                elif v is not None:
                    flatten(v, out)
            return "\n".join(out)

        return values

    def _keyword_paths(self) -> list[str] | None:
        """Linux: the text paths keywords search (None: Windows or a whole-event search)."""
        primary = self.route.primary
        if self.route.product == "windows" or primary is None:
            return None
        return [
            paths[0]
            for paths in primary.fields.values()
            if paths[0].endswith(KEYWORD_TEXT_SUFFIXES)
        ]

    def _presence(self, path: str) -> Node:
        fi = self._field(path)
        if fi.present is None:
            key = (path, "present", "")
            fi.present = self._literal_ids[key] = len(self._literal_ids)
        return ("p", fi.present)

    def _lazy(self, key: tuple[Any, ...], build: Callable[[], Lazy]) -> Node:
        i = self._lazy_ids.get(key)
        if i is None:
            i = self._lazy_ids[key] = len(self._lazies)
            self._lazies.append(build())
        return ("l", i)

    def generic_hits(self, ev: dict[str, Any]) -> set[int]:
        """Ids of the literal predicates that hold for ``ev`` (reference for the generated
        ``literal_hits``, which does the same with fewer lookups)."""
        t: set[int] = set()
        for fi in self._fields:
            v = fi.get(ev)
            if v is None:
                continue
            if fi.present is not None:
                t.add(fi.present)
            if v.__class__ is str:
                hits = fi.cache.get(v)
                if hits is None:
                    hits = self._scan(fi, v)
                if hits:
                    t.update(hits)
            elif v.__class__ is list:
                cache = fi.cache
                for x in v:
                    if x.__class__ is str:
                        hits = cache.get(x)
                        if hits is None:
                            hits = self._scan(fi, x)
                        if hits:
                            t.update(hits)
                    elif x is not None and x.__class__ is not dict:
                        t.update(self._scan(fi, as_text(x)))
            elif v.__class__ is not dict:
                t.update(self._scan(fi, as_text(v)))
        return t

    def _slow(self, fi: _FieldIndex, v: Any, t: set[int]) -> None:
        """Non-string values: lists match per element, other scalars as their text."""
        if v.__class__ is list:
            cache = fi.cache
            for x in v:
                if x.__class__ is str:
                    hits = cache.get(x)
                    if hits is None:
                        hits = self._scan(fi, x)
                    if hits:
                        t.update(hits)
                elif x is not None and x.__class__ is not dict:
                    t.update(self._scan(fi, as_text(x)))
        elif v.__class__ is not dict:
            t.update(self._scan(fi, as_text(v)))

    def _scan(self, fi: _FieldIndex, raw: str) -> tuple[int, ...]:
        s = raw.lower()
        out: list[int] = []
        hit = fi.exact.get(s)
        if hit is not None:
            out.extend(hit)
        a = fi.automaton
        if a is not None:
            last = len(s) - 1
            if fi.path == KEYWORD_PATH:
                # the record's values joined by newlines: anchors sit at value boundaries
                for end, (n, c, p, x) in a.iter(s):
                    if c:
                        out.extend(c)
                    if p and (end == n - 1 or s[end - n] == "\n"):
                        out.extend(p)
                    if x and (end == last or s[end + 1] == "\n"):
                        out.extend(x)
            else:
                for end, (n, c, p, x) in a.iter(s):
                    if c:
                        out.extend(c)
                    if p and end == n - 1:
                        out.extend(p)
                    if x and end == last:
                        out.extend(x)
        if fi.eager:
            seen = set(out)
            for pid, on_text, guard in fi.eager:
                # a guarded test only runs when its literal is in this very value
                if (guard is None or guard in seen) and on_text(raw):
                    out.append(pid)
        hits = tuple(out)
        if self.value_cache:
            cache = fi.cache
            # whole-record keyword texts are long and rarely repeat: keep fewer of them
            cap = self.value_cache if fi.path != KEYWORD_PATH else min(self.value_cache, 256)
            if len(cache) >= cap:
                cache.clear()
            cache[raw] = hits
        return hits

    def _plan(self, t: set[int]) -> tuple[tuple[Rule, ...], tuple[int, ...]]:
        """For a literal hit set: the literal-only rules that match, and the rules still to run."""
        by_pid = self._by_pid
        cand: set[int] = set(self._always)
        for pid in t:
            r = by_pid.get(pid)
            if r is not None:
                cand.update(r)
        fns, pure = self._fns, self._pure
        empty: dict[str, Any] = {}
        matched = tuple(self.rules[i] for i in sorted(cand) if pure[i] and fns[i](t, empty))
        return matched, tuple(i for i in sorted(cand) if not pure[i])

    def match(self, ev: dict[str, Any]) -> list[Rule]:
        t = self.literal_hits(ev)
        # Rules over literals alone are a function of the hit set, and hit sets repeat far more
        # than events do (most benign events hit the same few literals), so plans are memoised.
        if self.plan_cache:
            key = frozenset(t)
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plan(t)
                if len(self._plans) >= self.plan_cache:
                    self._plans.clear()
                self._plans[key] = plan
        else:
            plan = self._plan(t)
        matched, todo = plan
        if not todo:
            return list(matched)
        fns, rules = self._fns, self.rules
        return [*matched, *(rules[i] for i in todo if fns[i](t, ev))]
