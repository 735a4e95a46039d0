"""Tuning as data: per-rule exceptions by field values, kept in one YAML file that the collector
and `aurora scan --exclude` both read.

An exception names a rule, one or more fields (Sigma names, with an optional ``|contains``,
``|startswith`` or ``|endswith``, compared case-insensitively like Sigma) each with the values
that make a match benign, and optionally the hosts it is limited to. A match is tuned out when
every field of one of its rule's exceptions holds one of its values (model: Falco's structured
exceptions). Tuned-out matches are counted by the caller, never silently dropped.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml

from aurora.errors import AuroraError
from aurora.ocsf.field_mapping import FieldMapping, default_mapping

#: The collector's tuning file, in its state directory (edited from the console).
TUNING_FILE = "tuning.yaml"
MAX_FILE_BYTES = 1 << 20
MAX_EXCEPTIONS = 10_000
log = logging.getLogger(__name__)
MAX_VALUES = 1_000
_COMPARE: dict[str, Callable[[str, str], bool]] = {
    "equals": lambda have, want: have == want,
    "contains": lambda have, want: want in have,
    "startswith": lambda have, want: have.startswith(want),
    "endswith": lambda have, want: have.endswith(want),
}


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=_HasId)


class TuningError(AuroraError):
    """A tuning file or exception that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class FieldTest:
    field: str  # the Sigma field name
    compare: str  # a key of _COMPARE
    values: tuple[str, ...]  # lower-cased

    @property
    def spec(self) -> str:
        return self.field if self.compare == "equals" else f"{self.field}|{self.compare}"


@dataclass(frozen=True)
class TuningException:
    rule: str
    tests: tuple[FieldTest, ...]
    hosts: frozenset[str] = frozenset()  # lower-cased; empty: every host
    comment: str = ""

    @property
    def id(self) -> str:
        """A stable short id (from the content), to name the exception in the console."""
        return hashlib.sha256(repr(self.as_dict()).encode()).hexdigest()[:12]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "fields": {t.spec: list(t.values) for t in self.tests},
        }
        if self.hosts:
            out["hosts"] = sorted(self.hosts)
        if self.comment:
            out["comment"] = self.comment
        return out


def _strings(value: Any, where: str, what: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > MAX_VALUES:
        raise TuningError(f"{where}: {what} needs 1 to {MAX_VALUES} values")
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in items):
        raise TuningError(f"{where}: {what} values must be strings or numbers")
    return [str(v) for v in items]


def parse_exception(raw: Any, where: str) -> TuningException:
    """One exception from its YAML/JSON form; TuningError names what is wrong."""
    if not isinstance(raw, dict):
        raise TuningError(f"{where}: an exception is a mapping with rule and fields")
    unknown = set(raw) - {"rule", "fields", "hosts", "comment"}
    if unknown:
        raise TuningError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    rule = raw.get("rule")
    if not isinstance(rule, str) or not rule.strip():
        raise TuningError(f"{where}: 'rule' must be a rule id")
    fields = raw.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise TuningError(f"{where}: 'fields' must map at least one field to its values")
    tests = []
    for spec, values in fields.items():
        name, _, compare = str(spec).partition("|")
        compare = compare or "equals"
        if not name or compare not in _COMPARE:
            raise TuningError(
                f"{where}: field {spec!r}: use Name or Name|contains|startswith|endswith"
            )
        vals = _strings(values, where, f"field {spec!r}")
        tests.append(FieldTest(name, compare, tuple(v.lower() for v in vals)))
    hosts = raw.get("hosts")
    host_names = _strings(hosts, where, "'hosts'") if hosts is not None else []
    comment = raw.get("comment", "")
    if not isinstance(comment, str):
        raise TuningError(f"{where}: 'comment' must be text")
    return TuningException(
        rule.strip(), tuple(tests), frozenset(h.lower() for h in host_names), comment
    )


@dataclass
class Tuning:
    """The exceptions of one tuning file, indexed by rule id."""

    exceptions: list[TuningException] = field(default_factory=list)
    source: str = "<none>"
    mapping: FieldMapping = field(default_factory=default_mapping, repr=False)

    def __post_init__(self) -> None:
        self._by_rule: dict[str, list[TuningException]] = {}
        for exc in self.exceptions:
            self._by_rule.setdefault(exc.rule, []).append(exc)

    def __bool__(self) -> bool:
        return bool(self.exceptions)

    @classmethod
    def parse(cls, text: str, source: str = "<tuning>") -> Tuning:
        if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
            raise TuningError(f"{source}: over {MAX_FILE_BYTES:,} bytes")
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TuningError(f"{source}: not YAML: {str(exc).splitlines()[0]}") from None
        if doc is None:
            return cls([], source)
        if not isinstance(doc, dict) or set(doc) - {"exceptions"}:
            raise TuningError(f"{source}: the file holds one key, 'exceptions', a list")
        raw = doc.get("exceptions") or []
        if not isinstance(raw, list) or len(raw) > MAX_EXCEPTIONS:
            raise TuningError(f"{source}: 'exceptions' must be a list of at most {MAX_EXCEPTIONS}")
        return cls(
            [parse_exception(r, f"{source}: exception {i + 1}") for i, r in enumerate(raw)], source
        )

    @classmethod
    def load(cls, path: Path, missing_ok: bool = False) -> Tuning:
        """The tuning file at ``path``; an absent file is no tuning when ``missing_ok``."""
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise TuningError(f"{path}: over {MAX_FILE_BYTES:,} bytes")
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if missing_ok:
                return cls([], str(path))
            raise TuningError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise TuningError(f"{path}: cannot read: {exc}") from None
        return cls.parse(text, str(path))

    def dump(self) -> str:
        return yaml.safe_dump(
            {"exceptions": [e.as_dict() for e in self.exceptions]}, sort_keys=False
        )

    def rules(self) -> set[str]:
        return set(self._by_rule)

    def matching(self, rule_id: str, event: dict[str, Any]) -> TuningException | None:
        """The first exception of ``rule_id`` that holds for ``event``, or None."""
        candidates = self._by_rule.get(rule_id)
        if not candidates:
            return None
        route = self.mapping.route_of(event)
        host = _host(event)
        for exc in candidates:
            if exc.hosts and host not in exc.hosts:
                continue
            if all(_holds(t, _values(event, route.path(t.field))) for t in exc.tests):
                return exc
        return None

    def excludes(self, rule_id: str, event: dict[str, Any]) -> bool:
        return self.matching(rule_id, event) is not None

    def untuned(self, rules: list[R], event: dict[str, Any], tuned: Counter[str]) -> list[R]:
        """``rules`` (anything with an ``id``) less those tuned out for ``event``, each of
        which is counted in ``tuned``."""
        kept = []
        for rule in rules:
            if self.excludes(rule.id, event):
                tuned[rule.id] += 1
            else:
                kept.append(rule)
        return kept


def load_tuning(path: Path | None, previous: Tuning | None) -> Tuning:
    """The collector's tuning: the file at ``path`` (absent: none); a file that cannot be used
    keeps ``previous`` and logs why, so a bad edit never drops the exceptions in force."""
    if path is None:
        return Tuning()
    try:
        tuning = Tuning.load(path, missing_ok=True)
    except TuningError as exc:
        log.error("tuning not reloaded, the previous exceptions stay: %s", exc)
        return previous if previous is not None else Tuning()
    if tuning:
        log.info("tuning: %d exceptions from %s", len(tuning.exceptions), path)
    return tuning


def _host(event: dict[str, Any]) -> str:
    device = event.get("device")
    name = device.get("hostname") if isinstance(device, dict) else None
    return name.lower() if isinstance(name, str) else ""


def _values(event: dict[str, Any], path: str) -> Iterable[str]:
    node: Any = event
    for part in path.split("."):
        if not isinstance(node, dict):
            return ()
        node = node.get(part)
    if node is None or isinstance(node, dict):
        return ()
    items = node if isinstance(node, list) else [node]
    return [str(v).lower() for v in items if not isinstance(v, dict | list)]


def _holds(test: FieldTest, have: Iterable[str]) -> bool:
    compare = _COMPARE[test.compare]
    return any(compare(h, w) for h in have for w in test.values)
