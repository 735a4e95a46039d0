"""Turn pySigma's parsed condition tree into Aurora's matcher IR.

pySigma parses the rule and applies every modifier; this module reduces its typed values to a
small set of *tests* the index and the code generator understand. The IR is independent of where
an event comes from: Sigma field names are resolved to OCSF paths later, per route.

IR nodes are tuples: ``("and", [nodes])``, ``("or", [nodes])``, ``("not", node)``, ``("true",)``,
``("false",)`` and ``("test", field_or_None, Test)``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

from aurora.detection import regex
from aurora.detection.regex import python_re_constants, python_re_parser
from aurora.errors import AuroraError

Node = tuple[Any, ...]

# Test kinds that a per-field literal index can answer; everything else is evaluated lazily.
INDEXED_KINDS = frozenset({"eq", "contains", "prefix", "suffix"})


class RuleCompileError(AuroraError):
    """A rule uses something the engine cannot evaluate."""


@dataclass(frozen=True)
class Test:
    """One atomic predicate on one field's value.

    kind: eq | contains | prefix | suffix (value lower-cased, indexed), or lazily evaluated:
    glob / re (value = pattern, flags), cased_eq / cased_contains / ... , cidr, cmp (value =
    (op, number)), ref (value = (other field, startswith, endswith)), exists (value = bool),
    null, tspart (value = (part, number)).
    """

    kind: str
    value: Any
    flags: int = 0
    literals: tuple[str, ...] = ()  # for globs: the literal parts between wildcards
    guard: str | None = None  # lower-cased substring every matching value contains


_CMP = {
    CompareOperators.LT: "lt",
    CompareOperators.LTE: "lte",
    CompareOperators.GT: "gt",
    CompareOperators.GTE: "gte",
    CompareOperators.NEQ: "neq",
}


def string_test(s: SigmaString) -> Test:
    """Classify a wildcard string into eq/contains/prefix/suffix, or a glob regex."""
    cased = isinstance(s, SigmaCasedString)
    parts = list(s.s)
    lead = bool(parts) and parts[0] is SpecialChars.WILDCARD_MULTI
    trail = len(parts) > int(lead) and parts[-1] is SpecialChars.WILDCARD_MULTI
    middle = parts[int(lead) : len(parts) - int(trail)]
    if all(isinstance(p, str) for p in middle) and len(middle) <= 1:
        lit = str(middle[0]) if middle else ""
        if lit or not (lead or trail):
            kind = {(False, False): "eq", (True, True): "contains", (False, True): "prefix"}.get(
                (lead, trail), "suffix"
            )
            if cased:
                return Test("cased_" + kind, lit)
            return Test(kind, lit.lower())
    pattern = "".join(
        ".*"
        if p is SpecialChars.WILDCARD_MULTI
        else "."
        if p is SpecialChars.WILDCARD_SINGLE
        else re.escape(str(p))
        for p in parts
    )
    flags = re.DOTALL | (0 if cased else re.IGNORECASE)
    lits = tuple(p for p in parts if isinstance(p, str) and p)
    return Test("glob", "^" + pattern + r"\Z", flags, lits)


def required_literal(pattern: str, flags: int, min_len: int = 3) -> str | None:
    """The longest literal run every match of a regex must contain (lower-cased), if any.

    Only top-level literals count: anything under a repeat, alternation or group may be absent.
    Indexing this literal lets regex rules be skipped when it is missing; the regex still decides.
    """
    try:
        parsed = python_re_parser.parse(pattern, flags)
    except (re.error, RecursionError, OverflowError):
        return None
    best: list[str] = []
    run: list[str] = []
    for op, arg in parsed:
        if op is python_re_constants.LITERAL:
            run.append(chr(arg))
            continue
        if len(run) > len(best):
            best = run
        run = []
    if len(run) > len(best):
        best = run
    return "".join(best).lower() if len(best) >= min_len else None


def prefilter(test: Test) -> str | None:
    """A literal of any length (lower-cased) every value passing a regex or glob contains:
    too short to index, but a C-level ``in`` on the value skips most runs of the test."""
    if test.kind == "re":
        return required_literal(test.value, test.flags, 1)
    if test.kind == "glob" and test.literals:
        return max(test.literals, key=len).lower()
    return None


def with_literal(field: str | None, test: Test) -> Node:
    """``test`` with its necessary literal (``guard``) attached, when one exists."""
    lit: str | None = None
    if test.kind == "re":
        lit = required_literal(test.value, test.flags)
    elif test.kind == "glob":
        lit = max(test.literals, key=len, default=None) if test.literals else None
        lit = lit.lower() if lit and len(lit) >= 3 else None
    if lit is None:
        return ("test", field, test)
    return ("test", field, dataclasses.replace(test, guard=lit))


class IRBuilder:
    """Builds IR for one rule; ``placeholders`` feeds the `expand` modifier."""

    def __init__(self, placeholders: dict[str, list[str]]) -> None:
        self.placeholders = placeholders

    def build(self, cond: Any) -> Node:
        if isinstance(cond, ConditionAND):
            return ("and", [self.build(a) for a in cond.args])
        if isinstance(cond, ConditionOR):
            return ("or", [self.build(a) for a in cond.args])
        if isinstance(cond, ConditionNOT):
            return ("not", self.build(cond.args[0]))
        if isinstance(cond, ConditionFieldEqualsValueExpression):
            return self.value(cond.field, cond.value)
        if isinstance(cond, ConditionValueExpression):
            return self.value(None, cond.value)
        raise RuleCompileError(f"unsupported condition element {type(cond).__name__}")

    def _expand(self, s: SigmaString) -> list[SigmaString]:
        def values(p: Placeholder) -> Iterator[str]:
            if p.name not in self.placeholders:
                raise RuleCompileError(
                    f"placeholder %{p.name}% has no values: set [detection] placeholders.{p.name}"
                )
            yield from self.placeholders[p.name]

        return s.replace_placeholders(values)

    def value(self, field: str | None, v: Any) -> Node:
        if isinstance(v, SigmaExpansion):
            return ("or", [self.value(field, x) for x in v.values])
        if isinstance(v, SigmaString):
            if v.contains_placeholder():
                expanded = self._expand(v)
                return ("or", [self.value(field, x) for x in expanded])
            return with_literal(field, string_test(v))
        if field is None:
            if isinstance(v, SigmaNumber):
                return ("test", None, Test("contains", str(v.number).lower()))
            raise RuleCompileError(f"keyword of type {type(v).__name__} is not supported")
        if isinstance(v, SigmaTimestampPart):
            return ("test", field, Test("tspart", (v.timestamp_part.name.lower(), v.number)))
        if isinstance(v, SigmaBool):
            return ("test", field, Test("eq", "true" if v.boolean else "false"))
        if isinstance(v, SigmaNumber):
            return ("test", field, Test("eq", str(v.number).lower()))
        if isinstance(v, SigmaNull):
            return ("test", field, Test("null", None))
        if isinstance(v, SigmaExists):
            return ("test", field, Test("exists", bool(v.exists)))
        if isinstance(v, SigmaRegularExpression):
            flags = 0
            for f in v.flags:
                flags |= {
                    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
                    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
                    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
                }[f]
            pattern = str(v.regexp)
            try:
                regex.check(pattern, flags)
            except regex.RegexError as exc:
                raise RuleCompileError(str(exc)) from None
            return with_literal(field, Test("re", pattern, flags))
        if isinstance(v, SigmaCIDRExpression):
            return ("test", field, Test("cidr", ipaddress.ip_network(v.cidr, strict=False)))
        if isinstance(v, SigmaCompareExpression):
            return ("test", field, Test("cmp", (_CMP[v.op], float(v.number.number))))
        if isinstance(v, SigmaFieldReference):
            return ("test", field, Test("ref", (v.field, v.starts_with, v.ends_with)))
        raise RuleCompileError(f"value type {type(v).__name__} is not supported")


def simplify(node: Node) -> Node:
    """Flatten nested and/or and fold constants so generated code stays shallow."""
    op = node[0]
    if op in ("and", "or"):
        out: list[Node] = []
        for child in (simplify(c) for c in node[1]):
            if child[0] == op:
                out.extend(child[1])
            elif (child == ("true",) and op == "and") or (child == ("false",) and op == "or"):
                continue
            elif child == ("false",) and op == "and":
                return ("false",)
            elif child == ("true",) and op == "or":
                return ("true",)
            else:
                out.append(child)
        if not out:
            return ("true",) if op == "and" else ("false",)
        return out[0] if len(out) == 1 else (op, out)
    if op == "not":
        inner = simplify(node[1])
        if inner == ("true",):
            return ("false",)
        if inner == ("false",):
            return ("true",)
        if inner[0] == "not":
            return inner[1]  # type: ignore[no-any-return]
        return ("not", inner)
    return node


def map_tests(node: Node, fn: Callable[[str | None, Test], Node]) -> Node:
    """Rebuild ``node`` with every test replaced by ``fn(field, test)``."""
    if node[0] == "test":
        return fn(node[1], node[2])
    if node[0] in ("and", "or"):
        return (node[0], [map_tests(c, fn) for c in node[1]])
    if node[0] == "not":
        return ("not", map_tests(node[1], fn))
    return node
