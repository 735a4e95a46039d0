"""The compiled rule set of one route: per-field literal indexes plus generated rule code.

For each event the matcher (1) looks every field that some rule tests with a literal up in its
:class:`~aurora.detection.index.FieldIndex` (memoised per value), giving the ids of the literal
predicates that hold (regexes and other text tests are decided in the same pass, once per
distinct value, when their guard literal is present); (2) maps the event's tuple of per-field
answers to a *plan*: the rules that cannot match without one of those ids are candidates, the
candidates whose condition reads literals only are decided right there, and the plan keeps the
others; (3) runs only those others' conditions on the event. Plans are memoised per key, so a
repeated combination of values costs one dict lookup per field and one for the plan. Rules that
could match with no literal true (pure negations, field references) are always candidates.
Cost therefore follows the number of literals that hit, not the number of rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aurora.detection.extract import Key, Plan, compile_route
from aurora.detection.index import (
    EMPTY,
    FieldIndex,
    Slot,
    whole_event_keywords,
    windows_keywords,
)
from aurora.detection.ir import INDEXED_KINDS, Node, Test, map_tests, prefilter, simplify
from aurora.detection.predicates import (
    WINDOWS_SYSTEM_FIELDS,
    Getter,
    KeywordText,
    Lazy,
    flatten,
    keyword_predicate,
    keyword_scope,
    lazy_predicate,
    make_getter,
    text_predicate,
)
from aurora.detection.rules import Rule
from aurora.ocsf.field_mapping import Route

KEYWORD_PATH = "<keywords>"  # virtual field: the whole record's text, for field-less rules
KEYWORD_TEXT_SUFFIXES = ("cmd_line", ".path", "file.name", "kernel.name", "hostname")
RuleFn = Callable[[frozenset[int], dict[str, Any]], bool]
_NO_EVENT: dict[str, Any] = {}
# The plan of a gate key under which some candidate rule reads a path outside the gate paths:
# the other paths are read too and the longer key is planned (compared by identity).
ESCALATE: Plan = ((), (), EMPTY)


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


def _alternatives(node: Node) -> list[frozenset[int]]:
    """The necessary literal sets ``node`` can be indexed under: one per child of a top-level
    ``and`` (any one of them gates the rule), else the node's own (none if nothing gates)."""
    if node[0] == "and":
        return [n for c in node[1] if (n := _necessary(c)) is not None]
    n = _necessary(node)
    return [] if n is None else [n]


def _literal_ids(node: Node, acc: set[int]) -> set[int]:
    """Every literal id ``node`` reads."""
    op = node[0]
    if op == "p":
        acc.add(node[1])
    elif op in ("and", "or"):
        for c in node[1]:
            _literal_ids(c, acc)
    elif op == "not":
        _literal_ids(node[1], acc)
    return acc


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
        self._plans: dict[Key, Plan] = {}
        self._index: dict[str, FieldIndex] = {}
        self._literal_ids: dict[tuple[str, str, Any], int] = {}
        self._lazy_ids: dict[tuple[Any, ...], int] = {}
        self._lazies: list[Lazy] = []
        self._getters: dict[str, Getter] = {}
        self._keyword_text = KeywordText()
        self._consts = self._route_constants(route)
        # Linux: keywords search the text paths of the route, so their literals are indexed on
        # those paths themselves (one lookup serves both); elsewhere a virtual field reads them.
        self._kw_paths = self._keyword_paths()
        self._kw_pids: set[int] = set()
        self._pid_paths: dict[int, tuple[str, ...]] = {}  # the paths whose index holds each id
        gen = _CodeGen()
        self.rules: list[Rule] = []
        self._fns: list[RuleFn] = []
        self._pure: list[bool] = []
        nodes: list[Node] = []
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
            self.rules.append(rule)
            nodes.append(node)
            # The generated expression holds only ids and indices, never rule text.
            src = "lambda t, ev: " + gen.expr(node)
            self._fns.append(eval(src, {"L": self._lazies, "C": gen.consts}))
            self._pure.append(_is_pure(node))
        for fi in self._index.values():
            if self._kw_pids and self._kw_paths and fi.path in self._kw_paths:
                fi.keyword_pids = frozenset(self._kw_pids)
            fi.freeze()
        self._fields = tuple(self._index.values())
        gates = self._index_rules(nodes)
        virtual: dict[str, Slot] = {}
        kw = self._index.get(KEYWORD_PATH)
        if kw is not None:
            virtual[KEYWORD_PATH] = self._keyword_slot(kw)
        self._virtual = virtual
        self.match, self.key = compile_route(
            self._fields, virtual, self._plans, self._plan, self.generic_key
        )
        # Gate paths: enough paths that every rule has a literal it needs on them. When they
        # are fewer than all paths, an event is first keyed on the gate paths alone; only when
        # a candidate rule also reads another path (rare in benign telemetry: most events hit
        # no gate) are the other paths read, and the longer key planned in full. Paths read
        # only by rules that something else gates (user names, working directories...) then
        # cost nothing on most events.
        self.gate_fields = tuple(fi for fi in self._fields if fi.path in gates)
        rest = tuple(fi for fi in self._fields if fi.path not in gates)
        self._gate_plans: dict[Key, Plan] = {}
        if rest:
            # The longer keys (gate paths, then the rest) share the full plans: a plan depends
            # only on the union of the key's answers, and the full-key match is not used then.
            _, rest_key = compile_route(
                rest, virtual, {}, self._plan, lambda ev: self._generic_key(rest, ev)
            )
            self.match, _ = compile_route(
                self.gate_fields,
                virtual,
                self._gate_plans,
                self._gate_plan,
                lambda ev: self._generic_key(self.gate_fields, ev),
                escalate=(ESCALATE, rest_key, self._plans, self._plan),
            )

    def _index_rules(self, nodes: list[Node]) -> set[str]:
        """Index each rule under one set of literals it needs, chosen so that together they
        lie on as few paths as possible; returns those gate paths.

        Rules with one possible set fix their paths first; a rule with several (an ``and``)
        then takes a set on paths already chosen if it has one, else the one adding the
        fewest paths. Rules nothing gates are candidates for every event, so every path they
        read is a gate path.
        """
        paths_of = self._pid_paths

        def paths(pids: frozenset[int] | set[int]) -> frozenset[str]:
            return frozenset(p for pid in pids for p in paths_of[pid])

        gates: set[str] = set()
        alts = [_alternatives(n) for n in nodes]
        chosen: list[frozenset[int] | None] = [None] * len(nodes)
        for i, a in enumerate(alts):
            if not a:
                gates |= paths(_literal_ids(nodes[i], set()))
            elif len(a) == 1:
                chosen[i] = a[0]
                gates |= paths(a[0])
        for i, a in enumerate(alts):
            if len(a) > 1:
                best = min(a, key=lambda n: (len(paths(n) - gates), len(n)))
                chosen[i] = best
                gates |= paths(best)
        by_pid: dict[int, list[int]] = {}
        always: list[int] = []
        escalates: list[bool] = []
        for i, need in enumerate(chosen):
            if need is None:
                always.append(i)
            else:
                for pid in need:
                    by_pid.setdefault(pid, []).append(i)
            escalates.append(not paths(_literal_ids(nodes[i], set())) <= gates)
        self._escalates = escalates
        self._by_pid = {k: tuple(v) for k, v in by_pid.items()}
        self._always = tuple(always)
        return gates

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

    # -- compiling tests to literal ids and lazy predicates ---------------------------------

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
            pre = prefilter(test) if guard is None else None
            self._field(path).eager.append((pid, on_text, guard, pre))
            self._pid_paths[pid] = (path,)
        return ("p", pid)

    def _literal(self, path: str, kind: str, value: str) -> Node:
        key = (path, kind, value)
        pid = self._literal_ids.get(key)
        if pid is None:
            pid = self._literal_ids[key] = len(self._literal_ids)
            if path == KEYWORD_PATH and self._kw_paths is not None:
                self._kw_pids.add(pid)
                for p in self._kw_paths:
                    self._field(p).add(kind, value, pid)
                self._pid_paths[pid] = tuple(self._kw_paths)
            else:
                self._field(path).add(kind, value, pid)
                self._pid_paths[pid] = (path,)
        return ("p", pid)

    def _field(self, path: str) -> FieldIndex:
        fi = self._index.get(path)
        if fi is None:
            fi = self._index[path] = FieldIndex(path, make_getter(path), self.value_cache)
        return fi

    def _keyword_slot(self, fi: FieldIndex) -> Slot:
        """What field-less (keyword) tests search where no text paths are named.

        Windows: the raw record's values (``unmapped``, less the System header fields).
        Elsewhere (events of unmapped classes) the event is searched whole. Each value is
        searched on its own (anchors at its start and end), memoised like any field value.
        """
        whole = whole_event_keywords(fi, keyword_scope)
        if self.route.product == "windows":
            return windows_keywords(fi, whole)
        return whole

    def _keyword_paths(self) -> list[str] | None:
        """Linux: the text paths keywords search (None: Windows or a whole-event search).

        Linux sensor events have no raw line, so the text fields of the route's category
        (command lines, paths, names, host names) stand in for it. Numbers and identifiers
        are left out: keywords are text, and values unique to each event would defeat the
        per-value cache.
        """
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
            self._pid_paths[fi.present] = (path,)
        return ("p", fi.present)

    def _lazy(self, key: tuple[Any, ...], build: Callable[[], Lazy]) -> Node:
        i = self._lazy_ids.get(key)
        if i is None:
            i = self._lazy_ids[key] = len(self._lazies)
            self._lazies.append(build())
        return ("l", i)

    # -- evaluation -------------------------------------------------------------------------

    def literal_hits(self, ev: dict[str, Any]) -> set[int]:
        """Ids of the literal predicates that hold for ``ev`` (through the generated code)."""
        return set(EMPTY.union(*self.key(ev)))

    def generic_hits(self, ev: dict[str, Any]) -> set[int]:
        """The same by the plain route (the reference the generated code is tested against)."""
        return set(EMPTY.union(*self.generic_key(ev)))

    def generic_key(self, ev: dict[str, Any]) -> Key:
        """The event's key read field by field with careful getters: no generated code and no
        learned record layout. Events the generated code cannot walk come here."""
        return self._generic_key(self._fields, ev)

    def _generic_key(self, fields: Sequence[FieldIndex], ev: dict[str, Any]) -> Key:
        key: list[frozenset[int]] = []
        for fi in fields:
            if fi.path == KEYWORD_PATH:
                raw = ev.get("unmapped")
                if self.route.product == "windows" and raw.__class__ is dict:
                    values = [v for k, v in raw.items() if k not in WINDOWS_SYSTEM_FIELDS]
                else:
                    values = []
                    flatten(keyword_scope(ev), values)
                key.append(fi.scan_texts(values))
                continue
            v = fi.get(ev)
            if v is None:
                key.append(EMPTY)
            else:
                key.append(fi.scan(v) if v.__class__ is str else fi.scan_value(v))
        return tuple(key)

    def _candidates(self, t: frozenset[int]) -> set[int]:
        by_pid = self._by_pid
        cand: set[int] = set(self._always)
        for pid in t:
            r = by_pid.get(pid)
            if r is not None:
                cand.update(r)
        return cand

    def _plan(self, key: Key) -> Plan:
        """For one event key: the literal-only rules that match, and the rules still to run."""
        t = EMPTY.union(*key)
        return self._remember(self._plans, key, self._evaluate(self._candidates(t), t))

    def _gate_plan(self, key: Key) -> Plan:
        """The same for a key over the gate paths only, or ESCALATE when a candidate rule
        reads another path."""
        t = EMPTY.union(*key)
        cand = self._candidates(t)
        esc = self._escalates
        plan = ESCALATE if any(esc[i] for i in cand) else self._evaluate(cand, t)
        return self._remember(self._gate_plans, key, plan)

    def _evaluate(self, cand: set[int], t: frozenset[int]) -> Plan:
        fns, pure, rules = self._fns, self._pure, self.rules
        matched: list[Rule] = []
        todo: list[tuple[RuleFn, Rule]] = []
        for i in sorted(cand):
            if not pure[i]:
                todo.append((fns[i], rules[i]))
            elif fns[i](t, _NO_EVENT):
                matched.append(rules[i])
        return (tuple(matched), tuple(todo), t)

    def _remember(self, plans: dict[Key, Plan], key: Key, plan: Plan) -> Plan:
        if self.plan_cache:
            # Rules over literals alone are a function of the key, and keys repeat far more
            # than events do (most benign events hit the same few literals).
            if len(plans) >= self.plan_cache:
                plans.clear()
            plans[key] = plan
        return plan
