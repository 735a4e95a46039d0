"""Load Sigma rule files unmodified with pySigma and reduce each detection to matcher IR.

Every rule that cannot be used is kept as a :class:`RuleFailure` with the reason, so that
`aurora rules check` can list it: nothing is silently dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.modifiers import SigmaWideModifier, modifier_mapping
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from aurora.detection.ir import IRBuilder, Node, RuleCompileError, simplify
from aurora.detection.rule_cache import RuleCache, rule_set_key
from aurora.detection.rule_yaml import MAX_RULE_BYTES, POLICY, RuleYamlError, load_documents

log = logging.getLogger(__name__)

BUILTIN_RULES = Path(__file__).with_name("rules")
# The Sigma specification names `utf16le` as an alias of `wide`; pySigma 2.0 only knows `wide`.
modifier_mapping.setdefault("utf16le", SigmaWideModifier)


@dataclass
class Rule:
    """A loaded, compiled Sigma detection rule."""

    id: str
    title: str
    level: str
    tags: list[str]
    logsource: dict[str, str | None]
    ir: Node
    path: Path | None
    name: str | None = None
    status: str | None = None
    description: str = ""
    author: str = ""
    references: list[str] = field(default_factory=list)
    falsepositives: list[str] = field(default_factory=list)
    enabled: bool = True
    emits: bool = True  # False when only a correlation consumes it (Sigma `generate: false`)
    #: Each named selection of the detection and the fields it tests, to explain a finding.
    selections: dict[str, list[str]] = field(default_factory=dict)

    @property
    def attack_tags(self) -> list[str]:
        return [t for t in self.tags if t.startswith("attack.")]


@dataclass
class RuleFailure:
    """A rule file (or one rule in it) that could not be compiled, and why."""

    path: Path | None
    rule_id: str | None
    title: str | None
    reason: str

    def __str__(self) -> str:
        where = str(self.path) if self.path else "<inline>"
        who = f" {self.rule_id}" if self.rule_id else ""
        return f"{where}:{who} {self.reason}"


@dataclass
class LoadResult:
    rules: list[Rule] = field(default_factory=list)
    correlations: list[SigmaCorrelationRule] = field(default_factory=list)
    failures: list[RuleFailure] = field(default_factory=list)


def iter_rule_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Rule files under each path (files are taken as given, directories walked in order)."""
    for p in paths:
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.suffix in (".yml", ".yaml"))
        else:
            yield p


def _level(rule: SigmaRule | SigmaCorrelationRule) -> str:
    return rule.level.name.lower() if rule.level is not None else "medium"


def _logsource(rule: SigmaRule) -> dict[str, str | None]:
    ls = rule.logsource
    return {"product": ls.product, "category": ls.category, "service": ls.service}


def _fields_of(item: Any) -> Iterator[str]:
    """Field names a pySigma detection (or detection item) tests, nested ones included."""
    if isinstance(item, SigmaDetection):
        for child in item.detection_items:
            yield from _fields_of(child)
    elif isinstance(item, SigmaDetectionItem) and item.field:
        yield item.field


def _selections(rule: SigmaRule) -> dict[str, list[str]]:
    return {
        name: list(dict.fromkeys(_fields_of(detection)))
        for name, detection in rule.detection.detections.items()
    }


def compile_rule(
    rule: SigmaRule, path: Path | None, placeholders: dict[str, list[str]]
) -> Rule | RuleFailure:
    rid = str(rule.id) if rule.id else None
    if rule.errors:
        return RuleFailure(path, rid, rule.title, str(rule.errors[0]))
    try:
        builder = IRBuilder(placeholders)
        trees = [builder.build(c.parse()) for c in rule.detection.parsed_condition]
        ir = simplify(("or", trees))
    except (SigmaError, RuleCompileError) as exc:
        return RuleFailure(path, rid, rule.title, str(exc))
    except Exception as exc:  # a pySigma crash on odd input must not stop loading the rest
        return RuleFailure(path, rid, rule.title, f"{type(exc).__name__}: {exc}")
    return Rule(
        id=rid or (rule.title or "untitled"),
        title=rule.title or "",
        level=_level(rule),
        tags=[str(t) for t in rule.tags],
        logsource=_logsource(rule),
        ir=ir,
        path=path,
        name=rule.name,
        status=rule.status.name.lower() if rule.status else None,
        description=rule.description or "",
        author=rule.author or "",
        references=list(rule.references or []),
        falsepositives=[str(f) for f in rule.falsepositives or []],
        selections=_selections(rule),
    )


def _parse_file(path: Path, text: str) -> tuple[list[Any], list[RuleFailure]]:
    try:
        docs = load_documents(text)
        collection = SigmaCollection.from_dicts(
            docs, collect_errors=True, resolve_references=False, policy=POLICY
        )
    except (SigmaError, yaml.YAMLError, RuleYamlError) as exc:
        return [], [RuleFailure(path, None, None, str(exc).splitlines()[0])]
    failures = [
        RuleFailure(path, None, None, str(e))
        for e in collection.errors
        if not any(e in r.errors for r in collection.rules)
    ]
    return list(collection.rules), failures


def read_sources(
    paths: Iterable[Path], texts: Iterable[tuple[Path | None, str]] = ()
) -> tuple[list[tuple[Path | None, str]], list[RuleFailure]]:
    """The text of every rule file under ``paths`` then ``texts``, and the files not read."""
    failures: list[RuleFailure] = []
    sources: list[tuple[Path | None, str]] = []
    for path in iter_rule_files(paths):
        try:
            size = path.stat().st_size
            if size > MAX_RULE_BYTES:
                reason = f"{size:,} bytes, over the {MAX_RULE_BYTES:,} limit"
                failures.append(RuleFailure(path, None, None, reason))
                continue
            sources.append((path, path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            failures.append(RuleFailure(path, None, None, f"cannot read: {exc}"))
    sources.extend(texts)
    return sources, failures


def load_rules(
    paths: Iterable[Path],
    placeholders: dict[str, list[str]] | None = None,
    texts: Iterable[tuple[Path | None, str]] = (),
    cache: RuleCache | None = None,
) -> LoadResult:
    """Parse every rule file under ``paths`` (plus inline ``texts``) and compile the detections;
    with a ``cache``, a rule set compiled before is read from it instead."""
    placeholders = placeholders or {}
    sources, read_failures = read_sources(paths, texts)
    key = rule_set_key(sources, sorted(placeholders.items())) if cache is not None else ""
    compiled = cache.get(key, LoadResult) if cache is not None else None
    if compiled is None:
        compiled = compile_sources(sources, placeholders)
        if cache is not None:
            cache.put(key, compiled)
    return LoadResult(compiled.rules, compiled.correlations, read_failures + compiled.failures)


def compile_sources(
    sources: list[tuple[Path | None, str]], placeholders: dict[str, list[str]]
) -> LoadResult:
    """Parse ``sources`` with pySigma and compile each rule; failures are kept with reasons."""
    result = LoadResult()
    path: Path | None
    seen: dict[str, Path | None] = {}
    for path, text in sources:
        parsed, failures = _parse_file(path or Path("<inline>"), text)
        result.failures.extend(failures)
        for item in parsed:
            if isinstance(item, SigmaCorrelationRule):
                if item.errors:
                    result.failures.append(
                        RuleFailure(path, str(item.id), item.title, str(item.errors[0]))
                    )
                else:
                    item.source_path = path  # type: ignore[attr-defined]
                    result.correlations.append(item)
                continue
            if not isinstance(item, SigmaRule):
                result.failures.append(
                    RuleFailure(path, None, None, f"{type(item).__name__} is not supported")
                )
                continue
            compiled = compile_rule(item, path, placeholders)
            if isinstance(compiled, RuleFailure):
                result.failures.append(compiled)
            elif compiled.id in seen:
                result.failures.append(
                    RuleFailure(
                        path,
                        compiled.id,
                        compiled.title,
                        f"duplicate rule id (already loaded from {seen[compiled.id]})",
                    )
                )
            else:
                seen[compiled.id] = path
                result.rules.append(compiled)
    return result
